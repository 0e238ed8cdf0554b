// findGzipMagic finds the next gzip member magic (1f 8b 08) with one search of the whole magic;
// this proves it answers as a byte-at-a-time scan does, on bytes dense with 0x1f, 0x8b and
// 0x08 (so partial magics abound) and from any start, including a magic cut by the end.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findGzipMagic } from '../../adapters/warc/gzip-member.ts';

/** A 0x1f followed by 8b 08, or one in the last two bytes (its rest has not come yet). */
function scanByteByByte(bytes: Buffer, from: number): number {
  for (let index = Math.max(0, from); index < bytes.length; index++) {
    if (bytes[index] !== 0x1f) continue;
    if (index + 2 >= bytes.length || (bytes[index + 1] === 0x8b && bytes[index + 2] === 0x08)) return index;
  }
  return -1;
}

const denseByte = fc.constantFrom(0x1f, 0x8b, 0x08, 0x00, 0xff);

describe('findGzipMagic', () => {
  it('answers as a byte-at-a-time scan, from any start', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(denseByte, { maxLength: 64 }), fc.nat(), (a, b, at) => {
        const bytes = Buffer.from([...a, ...b]);
        const from = bytes.length === 0 ? 0 : at % (bytes.length + 1);
        expect(findGzipMagic(bytes, from)).toBe(scanByteByByte(bytes, from));
      }),
      { numRuns: 5000 },
    );
  });

  it('reports a magic cut by the end, and none in bytes without one', () => {
    expect(findGzipMagic(Buffer.from([0, 0x1f, 0x8b]), 0)).toBe(1);
    expect(findGzipMagic(Buffer.from([0, 0, 0x1f]), 0)).toBe(2);
    expect(findGzipMagic(Buffer.from([0x1f, 0x8b, 0x09, 0]), 0)).toBe(-1);
    expect(findGzipMagic(Buffer.from([0x1f, 0x8b, 0x08, 0x1f, 0x8b, 0x08]), 1)).toBe(3);
  });
});
