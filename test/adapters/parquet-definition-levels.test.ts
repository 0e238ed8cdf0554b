// Proves that the definition levels of a flat optional column decode, with parquetjs's reader of
// Parquet's RLE / bit-packing hybrid, to exactly the levels written, for any pattern of nulls
// (long runs, alternation, lengths that do not fill a bit-packed group), and that the 4-byte
// length before them says how many bytes follow; and that the encoding stays within its bound
// (a byte for 8 levels plus headers) and is a few bytes for a column that is never null.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeDefinitionLevels } from '../../adapters/parquet/definition-levels.ts';

interface Cursor {
  buffer: Buffer;
  offset: number;
}
type DecodeLevels = (type: string, cursor: Cursor, count: number, options: { bitWidth: number }) => number[];

const require = createRequire(import.meta.url);
const rle = require('@dsnp/parquetjs/dist/lib/codec/rle.js') as { decodeValues: DecodeLevels };

function decoded(encoded: Buffer, count: number): number[] {
  return rle.decodeValues('INT32', { buffer: encoded, offset: 0 }, count, { bitWidth: 1 });
}

/** Levels made of runs, so that both RLE runs and bit-packed stretches occur. */
const levelsArbitrary = fc
  .array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 1, max: 40 })), { maxLength: 30 })
  .map((runs) => Uint8Array.from(runs.flatMap(([level, length]) => Array.from({ length }, () => level))));

describe('definition levels', () => {
  it('decode to the levels written, whatever the pattern, within a byte for 8 levels plus headers', () => {
    fc.assert(
      fc.property(fc.oneof(levelsArbitrary, fc.uint8Array({ min: 0, max: 1, maxLength: 200 })), (levels) => {
        const encoded = encodeDefinitionLevels(levels, levels.length);
        expect(encoded.readUInt32LE(0)).toBe(encoded.length - 4);
        expect(decoded(encoded, levels.length)).toEqual([...levels]);
        expect(encoded.length).toBeLessThanOrEqual(4 + Math.ceil(levels.length / 8) * 6 + 6);
      }),
      { numRuns: 500 },
    );
  });

  it('write a column never null, or always null, as one run of a few bytes', () => {
    for (const level of [0, 1]) {
      const levels = new Uint8Array(20_000).fill(level);
      const encoded = encodeDefinitionLevels(levels, levels.length);
      expect(encoded.length).toBeLessThanOrEqual(4 + 4);
      expect(decoded(encoded, levels.length)).toEqual([...levels]);
    }
  });

  it('count a last bit-packed group that is not full, so its levels are not lost', () => {
    // 8,193 alternating levels: 1,025 groups, the last holding one level and seven of padding.
    const levels = Uint8Array.from({ length: 8193 }, (_, index) => index % 2);
    expect(decoded(encodeDefinitionLevels(levels, levels.length), levels.length)).toEqual([...levels]);
  });
});
