// Proves that counts are written with their digits grouped exactly as `toLocaleString('en-US')`
// groups them, for every safe integer, negative ones and zero included, without loading the
// locale's data; and that a count that is no safe integer is still written by the locale.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countText, groupedDigits } from '../../core/units-text.ts';

describe('grouped digits', () => {
  it("groups every safe integer's digits as toLocaleString('en-US') does", () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -100_000, max: 100_000 })), (count) => {
        expect(groupedDigits(count)).toBe(count.toLocaleString('en-US'));
      }),
      { numRuns: 2000 },
    );
    for (const count of [0, 999, 1000, -1000, 999_999, 1_000_000, Number.MAX_SAFE_INTEGER])
      expect(groupedDigits(count)).toBe(count.toLocaleString('en-US'));
  });

  it('writes other numbers as the locale does, and a count with its noun', () => {
    expect(groupedDigits(1234.5)).toBe((1234.5).toLocaleString('en-US'));
    expect(countText(1, 'file')).toBe('1 file');
    expect(countText(1204, 'record')).toBe('1,204 records');
    expect(countText(2, 'entry', 'entries')).toBe('2 entries');
  });
});
