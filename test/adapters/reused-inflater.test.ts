// Proves that the thread's reused zlib handle inflates as `zlib.inflateRawSync` does, member
// after member on one handle: the same output and consumed byte count for whole deflate data
// followed by other bytes, a prefix of the output for cut data with a sync flush, `incomplete`
// for cut data when finishing, `corrupt` for bytes that are no deflate data and `too-large`
// past the output bound, and correct output again after each of those (fast-check, on data
// from incompressible to one repeated byte, larger than its 256 KiB scratch buffer too); and
// that an output stays as it was while later members are inflated into the same arena.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReusedInflater } from '../../adapters/warc/reused-inflater.ts';

const data = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.string({ maxLength: 20_000 }).map((text) => new TextEncoder().encode(text.repeat(3))),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 600_000 }))
    .map(([byte, length]) => new Uint8Array(length).fill(byte)),
);

describe('ReusedInflater', () => {
  it('inflates member after member as inflateRawSync does, and recovers after every failure', () => {
    const inflater = new ReusedInflater();
    fc.assert(
      fc.property(
        data,
        fc.integer({ min: 0, max: 9 }),
        fc.uint8Array({ maxLength: 16 }),
        fc.nat(),
        (raw, level, after, cutDraw) => {
          const plain = Buffer.from(raw);
          const deflated = zlib.deflateRawSync(plain, { level });
          const input = Buffer.concat([deflated, Buffer.from(after)]);
          const expected = zlib.inflateRawSync(input, { info: true }) as unknown as {
            buffer: Buffer;
            engine: { bytesWritten: number };
          };
          const whole = inflater.inflate(input, true, 64 << 20);
          expect(whole.kind === 'output' && whole.output.equals(expected.buffer)).toBe(true);
          expect(whole.kind === 'output' && whole.consumed).toBe(expected.engine.bytesWritten);
          const cut = cutDraw % Math.max(1, deflated.length - 1);
          const head = inflater.inflate(deflated.subarray(0, cut), false, 64 << 20);
          expect(head.kind).toBe('output');
          if (head.kind === 'output') expect(plain.subarray(0, head.output.length).equals(head.output)).toBe(true);
          if (deflated.length > 2)
            expect(inflater.inflate(deflated.subarray(0, cut), true, 64 << 20).kind).toBe('incomplete');
          if (plain.length > 1) expect(inflater.inflate(input, true, plain.length - 1).kind).toBe('too-large');
          expect(inflater.inflate(Buffer.from([0xff, 0xff, 0xff, 0xff]), true, 1024).kind).toBe('corrupt');
          const again = inflater.inflate(input, true, 64 << 20);
          expect(again.kind === 'output' && again.output.equals(plain)).toBe(true);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('hands out outputs that later inflations never overwrite, across arenas and past them', () => {
    const inflater = new ReusedInflater();
    fc.assert(
      fc.property(fc.array(data, { minLength: 1, maxLength: 40 }), (raws) => {
        const kept: { readonly plain: Buffer; readonly output: Buffer }[] = [];
        for (const raw of raws) {
          const plain = Buffer.from(raw);
          const inflated = inflater.inflate(zlib.deflateRawSync(plain), true, 64 << 20);
          if (inflated.kind !== 'output') throw new Error(`inflated to ${inflated.kind}`);
          kept.push({ plain, output: inflated.output });
          // A failure between members must not take back the space of an output handed out.
          inflater.inflate(Buffer.from([0xff, 0xff, 0xff, 0xff]), true, 1024);
        }
        for (const { plain, output } of kept) expect(output.equals(plain)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
