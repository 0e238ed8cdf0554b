/**
 * lower() and upper() as DuckDB computes them: one code point to one code point (utf8proc's
 * simple case mapping), where JavaScript's toLowerCase/toUpperCase use the full mapping (ß to
 * SS, İ to i + a combining dot) and a newer Unicode version than DuckDB's. The differences
 * below were found by comparing both on every code point (test/adapters/filter-case.test.ts
 * keeps that comparison); ASCII text, nearly every URL, takes the plain fast path.
 */

/** Code points whose case DuckDB's tables do not map yet (Unicode 16 additions), which node's ICU maps. */
const unmappedRanges: readonly (readonly [number, number])[] = [
  [0x019b, 0x019b],
  [0x0264, 0x0264],
  [0x1c89, 0x1c8a],
  [0xa7cb, 0xa7cd],
  [0xa7ce, 0xa7cf],
  [0xa7d2, 0xa7d5],
  [0xa7da, 0xa7dc],
  [0x10d50, 0x10d65],
  [0x10d70, 0x10d85],
  [0x16ea0, 0x16eb8],
  [0x16ebb, 0x16ed3],
];

/** Upper-case mappings where the simple mapping is one code point but the full one is several. */
const simpleUpper: ReadonlyMap<number, number> = new Map([
  [0x00df, 0x1e9e],
  [0x1fb3, 0x1fbc],
  [0x1fc3, 0x1fcc],
  [0x1ff3, 0x1ffc],
  // ᾀ…ᾇ, ᾐ…ᾗ, ᾠ…ᾧ: to their forms with the iota subscript, 8 code points on.
  ...[0x1f80, 0x1f90, 0x1fa0].flatMap((start) =>
    Array.from({ length: 8 }, (_, offset): [number, number] => [start + offset, start + offset + 8]),
  ),
]);

function unmapped(codePoint: number): boolean {
  return unmappedRanges.some(([first, last]) => codePoint >= first && codePoint <= last);
}

const nonAscii = /[^\x00-\x7f]/;

function mapEach(text: string, map: (character: string, codePoint: number) => string): string {
  let out = '';
  for (const character of text) out += map(character, character.codePointAt(0) ?? 0);
  return out;
}

export function duckdbLower(text: string): string {
  if (!nonAscii.test(text)) return text.toLowerCase();
  return mapEach(text, (character, codePoint) => {
    if (unmapped(codePoint)) return character;
    const lowered = character.toLowerCase();
    // Only İ lowers to several code points in full; its simple mapping is the first, i.
    return String.fromCodePoint(lowered.codePointAt(0) ?? codePoint);
  });
}

export function duckdbUpper(text: string): string {
  if (!nonAscii.test(text)) return text.toUpperCase();
  return mapEach(text, (character, codePoint) => {
    if (unmapped(codePoint)) return character;
    const simple = simpleUpper.get(codePoint);
    if (simple !== undefined) return String.fromCodePoint(simple);
    const raised = character.toUpperCase();
    // A full mapping of several code points (ŉ to ʼN, ﬀ to FF) has no simple one: DuckDB keeps the character.
    return [...raised].length === 1 ? raised : character;
  });
}
