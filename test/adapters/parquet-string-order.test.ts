// Proves that string statistics compare strings as their UTF-8 bytes compare (the order Parquet
// readers assume for min and max) without encoding them: for any two strings, characters past
// U+FFFF against U+E000-U+FFFF included, and strings with lone surrogates, which are written as
// U+FFFD's bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareUtf8 } from '../../adapters/parquet/flat-row-group.ts';

const byBytes = (a: string, b: string): number =>
  Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
/** Characters from the ranges where UTF-16 and UTF-8 orders differ, and plain ASCII. */
const tricky = fc.constantFrom(
  'a',
  'z',
  '\u00e9',
  '\ud7ff',
  '\ue000',
  '\uffff',
  '\ufffd',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
);
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

describe('UTF-8 order of strings', () => {
  it('agrees with comparing the encoded bytes, for well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(byBytes(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with comparing the encoded bytes where UTF-16 order differs, and with lone surrogates', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(tricky, codeUnit) }),
        fc.string({ unit: fc.oneof(tricky, codeUnit) }),
        (a, b) => {
          expect(Math.sign(compareUtf8(a, b))).toBe(byBytes(a, b));
          expect(Math.sign(compareUtf8('x' + a, 'x' + b))).toBe(byBytes(a, b));
        },
      ),
      { numRuns: 2000 },
    );
    expect(compareUtf8('\u{10000}', '\uffff')).toBeGreaterThan(0);
    expect(compareUtf8('\ue000', '\ud7ff')).toBeGreaterThan(0);
  });
});
