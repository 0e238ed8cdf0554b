/**
 * SQL LIKE as DuckDB runs it: case-sensitive, `%` any run of characters (newlines too), `_`
 * one character (a code point, so one emoji), and no escape character unless ESCAPE names one
 * (DuckDB, unlike PostgreSQL, has no default backslash). A pattern is compiled once into the
 * cheapest test that is exact: equality, a prefix, a suffix, a substring, or else a regular
 * expression anchored at both ends.
 */

type LikeToken = { readonly k: 'text'; readonly text: string } | { readonly k: 'one' } | { readonly k: 'any' };

/** The pattern's pieces, or the reason DuckDB refuses it (an escape character at its end). */
export function likeTokens(pattern: string, escape: string | null): LikeToken[] | string {
  const tokens: LikeToken[] = [];
  let text = '';
  const characters = [...pattern];
  for (let index = 0; index < characters.length; index++) {
    const character = characters[index] as string;
    if (character === escape) {
      index++;
      const escaped = characters[index];
      if (escaped === undefined) return 'the LIKE pattern ends with its escape character';
      text += escaped;
    } else if (character === '%' || character === '_') {
      if (text !== '') tokens.push({ k: 'text', text });
      text = '';
      tokens.push(character === '%' ? { k: 'any' } : { k: 'one' });
    } else text += character;
  }
  if (text !== '') tokens.push({ k: 'text', text });
  return tokens;
}

const regexSpecial = /[\\^$.*+?()[\]{}|/]/g;

/** A test of one string against the pattern; the pattern was checked by `likeTokens` already. */
export function compileLike(pattern: string, escape: string | null): (value: string) => boolean {
  const tokens = likeTokens(pattern, escape);
  if (typeof tokens === 'string') throw new Error(`invariant broken: unchecked LIKE pattern: ${tokens}`);
  const [first, second, third] = tokens;
  if (tokens.length === 0) return (value) => value === '';
  if (tokens.length === 1 && first?.k === 'text') return (value) => value === first.text;
  if (tokens.length === 1 && first?.k === 'any') return () => true;
  if (tokens.length === 2 && first?.k === 'text' && second?.k === 'any') return (value) => value.startsWith(first.text);
  if (tokens.length === 2 && first?.k === 'any' && second?.k === 'text') return (value) => value.endsWith(second.text);
  if (tokens.length === 3 && first?.k === 'any' && second?.k === 'text' && third?.k === 'any')
    return (value) => value.includes(second.text);
  const source = tokens
    .map((token) => (token.k === 'text' ? token.text.replace(regexSpecial, '\\$&') : token.k === 'one' ? '.' : '.*'))
    .join('');
  // `s`: `.` matches line ends too; `u`: `.` is one code point, as DuckDB's `_` is one character.
  const regex = new RegExp(`^${source}$`, 'su');
  return (value) => regex.test(value);
}
