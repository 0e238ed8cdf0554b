// Proves that a head inflated into a reader's reused `HeadBuffers` is the head the thread
// inflater's arena gives (output, consumed bytes, ended, corrupt), on random deflate data cut
// anywhere, damaged or not, larger than a buffer or not; and that a head stays intact while
// the next one is inflated, as the head-only reader needs.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeadBuffers, type HeadInflation, inflateHead } from '../../adapters/warc/member-head.ts';

const outputBytesMax = 2 * 1024 * 1024;

/** Deflate data of text-like bytes (or runs, which inflate past a buffer), cut, with a byte perhaps flipped. */
const deflateInput = fc
  .record({
    text: fc.oneof(
      fc.string({ maxLength: 3000 }).map((text) => Buffer.from(`WARC/1.0\r\n${text}`, 'utf8')),
      fc.integer({ min: 1, max: 200_000 }).map((length) => Buffer.alloc(length, 0x61)),
    ),
    level: fc.constantFrom(1, 6, 9),
    cut: fc.double({ min: 0, max: 1.2, noNaN: true }),
    flip: fc.option(fc.nat(), { nil: null }),
  })
  .map(({ text, level, cut, flip }) => {
    const deflated = zlib.deflateRawSync(text, { level });
    const withTrailer = Buffer.concat([deflated, Buffer.from('trailer!')]);
    const input = Buffer.from(withTrailer.subarray(0, Math.floor(withTrailer.length * cut)));
    if (flip !== null && input.length > 0) input[flip % input.length] = (input[flip % input.length] ?? 0) ^ 0x5a;
    return input;
  });

function plain(head: HeadInflation): unknown {
  return head.kind === 'corrupt' ? head : { ...head, output: Buffer.from(head.output).toString('latin1') };
}

describe('inflateHead into HeadBuffers', () => {
  it('gives what the thread inflater gives', () => {
    const buffers = new HeadBuffers();
    fc.assert(
      fc.property(deflateInput, (input) => {
        expect(plain(inflateHead(input, outputBytesMax, buffers))).toEqual(plain(inflateHead(input, outputBytesMax)));
      }),
      { numRuns: 1500 },
    );
  });

  it('keeps a head intact while the next is inflated', () => {
    const buffers = new HeadBuffers();
    fc.assert(
      fc.property(deflateInput, deflateInput, (first, second) => {
        const head = inflateHead(first, outputBytesMax, buffers);
        const copy = plain(head);
        inflateHead(second, outputBytesMax, buffers);
        expect(plain(head)).toEqual(copy);
      }),
      { numRuns: 500 },
    );
  });

  it('reads a small head from its buffer and a large one from the arena', () => {
    const buffers = new HeadBuffers();
    const small = inflateHead(zlib.deflateRawSync(Buffer.from('WARC/1.0\r\n')), outputBytesMax, buffers);
    const large = inflateHead(zlib.deflateRawSync(Buffer.alloc(100_000, 0x61)), outputBytesMax, buffers);
    expect(small.kind === 'head' && small.output.toString()).toBe('WARC/1.0\r\n');
    expect(large.kind === 'head' && large.output.length).toBe(100_000);
    expect(inflateHead(Buffer.from([0xff, 0xff, 0xff]), outputBytesMax, buffers).kind).toBe('corrupt');
  });
});
