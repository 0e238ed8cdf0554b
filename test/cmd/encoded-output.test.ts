/**
 * Proves EncodedOutput: a part taken from the encoded pieces is exactly the bytes at its range,
 * whatever the layout of pieces and parts and the order parts are taken in; a part inside one
 * piece is a view of it (no copy); and a part's views stay unchanged after later appends and
 * takes, until it is uploaded.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { EncodedOutput } from '../../cmd/worker/encoded-output.ts';

/** Bytes 0..n-1 of a stream whose every byte depends on its position, so a shifted or missing byte shows. */
function streamBytes(start: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => ((start + index) * 131 + 7) % 251);
}

function joinedViews(views: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(views));
}

describe('EncodedOutput', () => {
  test('a part within one piece is a view of it, not a copy', () => {
    const output = new EncodedOutput();
    const piece = streamBytes(0, 1_000);
    output.append([piece]);
    const views = output.take(100, 300);
    expect(views).toHaveLength(1);
    expect(views[0]?.buffer).toBe(piece.buffer);
    expect(joinedViews(views)).toEqual(piece.subarray(100, 400));
  });

  test('a part spanning pieces is their views in order, empty pieces skipped', () => {
    const output = new EncodedOutput();
    output.append([streamBytes(0, 10), new Uint8Array(0), streamBytes(10, 5)]);
    output.append([streamBytes(15, 20)]);
    const views = output.take(8, 20);
    expect(views.map((view) => view.length)).toEqual([2, 5, 13]);
    expect(joinedViews(views)).toEqual(streamBytes(8, 20));
  });

  test('a part outside the encoded bytes, or taken again, is refused', () => {
    const output = new EncodedOutput();
    output.append([streamBytes(0, 10)]);
    expect(() => output.take(5, 6)).toThrow(/outside/);
    output.take(0, 5);
    expect(() => output.take(0, 5)).toThrow(/outside/);
  });

  test('property: the bytes of every part equal the bytes encoded at its range, and stay so until the end', () => {
    const layout = fc.record({
      pieces: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 40 }),
      cuts: fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 20 }),
      // Positions of parts swapped with the next: the runtime may upload a later part first.
      swaps: fc.array(fc.nat(), { maxLength: 5 }),
      batch: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(
      fc.property(layout, ({ pieces, cuts, swaps, batch }) => {
        const total = pieces.reduce((sum, length) => sum + length, 0);
        // Parts cover [0, total) in order; a last part takes what the cuts left.
        const parts: { offset: number; length: number }[] = [];
        let cut = 0;
        for (const length of cuts) {
          if (cut >= total) break;
          parts.push({ offset: cut, length: Math.min(length, total - cut) });
          cut += Math.min(length, total - cut);
        }
        if (cut < total) parts.push({ offset: cut, length: total - cut });
        for (const swap of swaps) {
          const at = parts.length > 1 ? swap % (parts.length - 1) : 0;
          const [left, right] = [parts[at], parts[at + 1]];
          if (left !== undefined && right !== undefined) [parts[at], parts[at + 1]] = [right, left];
        }
        const output = new EncodedOutput();
        const taken: { offset: number; views: readonly Uint8Array[] }[] = [];
        let appended = 0;
        let next = 0;
        for (const part of parts) {
          // Append pieces, a few at a call as the encoder hands them, until this part is encoded.
          while (output.lengthBytes < part.offset + part.length && next < pieces.length) {
            const call = pieces.slice(next, next + batch).map((length) => {
              const bytes = streamBytes(appended, length);
              appended += length;
              return bytes;
            });
            next += batch;
            output.append(call);
          }
          const views = output.take(part.offset, part.length);
          expect(joinedViews(views)).toEqual(streamBytes(part.offset, part.length));
          taken.push({ offset: part.offset, views });
        }
        // Later appends and takes left every part's views as they were.
        for (const part of taken) {
          const length = part.views.reduce((sum, view) => sum + view.length, 0);
          expect(joinedViews(part.views)).toEqual(streamBytes(part.offset, length));
        }
      }),
      { numRuns: 300 },
    );
  });
});
