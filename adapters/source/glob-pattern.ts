/**
 * A small glob matcher (Node 20 has no `fs.glob`): `*` and `?` within a path segment, `**`
 * across segments, `[abc]` / `[!abc]` classes and `{a,b}` alternatives. Patterns use `/`.
 */

const globCharacters = /[*?[{]/;

export function isGlob(spec: string): boolean {
  return globCharacters.test(spec);
}

/** The leading segments without glob characters: the folder the walk starts from. */
export function globRoot(pattern: string): { root: string; rest: string } {
  const segments = pattern.split('/');
  const firstGlob = segments.findIndex((segment) => globCharacters.test(segment));
  const rootSegments = segments.slice(0, firstGlob);
  const root = rootSegments.length === 0 ? '.' : rootSegments.join('/') || '/';
  return { root, rest: segments.slice(firstGlob).join('/') };
}

function escapeLiteral(character: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(character) ? `\\${character}` : character;
}

/** Where a `[` class closes; a `]` right after the `[` is a member, as in shells. */
function classEnd(pattern: string, start: number): number {
  return pattern.indexOf(']', start + 2);
}

/** Translates a glob (relative to its root) into an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  let braceDepth = 0;
  for (let index = 0; index < pattern.length; index += 1) {
    const character = pattern.charAt(index);
    if (pattern.startsWith('**/', index)) {
      source += '(?:[^/]*/)*';
      index += 2;
    } else if (pattern.startsWith('**', index)) {
      source += '.*';
      index += 1;
    } else if (character === '*') source += '[^/]*';
    else if (character === '?') source += '[^/]';
    else if (character === '[' && classEnd(pattern, index) > 0) {
      const end = classEnd(pattern, index);
      const body = pattern
        .slice(index + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      source += `[${body}]`;
      index = end;
    } else if (character === '{') {
      braceDepth += 1;
      source += '(?:';
    } else if (character === '}' && braceDepth > 0) {
      braceDepth -= 1;
      source += ')';
    } else if (character === ',' && braceDepth > 0) source += '|';
    else source += escapeLiteral(character);
  }
  return new RegExp(`^${source}$`);
}
