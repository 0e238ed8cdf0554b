/**
 * Reading a body of known length from its pieces (adapters/source/bounded-body.ts
 * `readExactBody`, the S3 source's): the first bytes wanted, into the memory given, a body
 * that runs past them told, and no piece read past the one that ends the window but one to
 * see the body end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readExactBody } from '../../adapters/source/bounded-body.ts';

/** The pieces as an SDK stream gives them, counting how many were taken and whether the loop left early. */
function piecesOf(pieces: readonly Uint8Array[]): {
  body: AsyncIterable<Uint8Array>;
  taken: () => number;
  closed: () => boolean;
} {
  let taken = 0;
  let closed = false;
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const piece = pieces[taken];
        if (piece === undefined) return { done: true, value: undefined };
        taken += 1;
        return { done: false, value: piece };
      },
      return: async () => {
        closed = true;
        return { done: true, value: undefined };
      },
    }),
  };
  return { body, taken: () => taken, closed: () => closed };
}

const pieceLists = fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 12 });

describe('readExactBody', () => {
  it('gives the first bytes wanted, tells a longer body, and reads at most one piece past the window', async () => {
    await fc.assert(
      fc.asyncProperty(pieceLists, fc.nat({ max: 300 }), fc.boolean(), async (pieces, lengthBytes, endsThere) => {
        const whole = Buffer.concat(pieces);
        const given: Uint8Array[] = [];
        const memory = (bytes: number): Uint8Array => {
          const buffer = new Uint8Array(new SharedArrayBuffer(bytes));
          given.push(buffer);
          return buffer;
        };
        const source = piecesOf(pieces);
        const read = await readExactBody(source.body, lengthBytes, endsThere, memory);
        expect(Buffer.from(read.bytes).equals(whole.subarray(0, lengthBytes))).toBe(true);
        expect(read.bytes.buffer).toBe(given[0]?.buffer);
        // The pieces needed to fill the window: a body that ends there must be seen to end.
        let needed = 0;
        let neededBytes = 0;
        while (needed < pieces.length && neededBytes < lengthBytes) neededBytes += pieces[needed++]?.length ?? 0;
        if (endsThere) {
          expect(read.longer).toBe(whole.length > lengthBytes);
          // Past a window ended inside a piece nothing is read; else up to the next piece that holds a byte.
          const firstPast = pieces.findIndex((_, index) => index >= needed && (pieces[index]?.length ?? 0) > 0);
          const seenEnd = firstPast < 0 ? pieces.length : firstPast + 1;
          expect(source.taken()).toBe(neededBytes > lengthBytes ? needed : seenEnd);
        } else {
          expect(source.taken()).toBe(needed);
          // A body left with bytes unread is closed, once opened.
          if (whole.length > lengthBytes && source.taken() > 0) expect(source.closed()).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
