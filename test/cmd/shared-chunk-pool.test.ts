import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SharedChunkPool } from '../../cmd/worker/shared-chunk-pool.ts';

const chunkBytes = 64;
const freeMax = 2;

describe('SharedChunkPool', () => {
  it('holds every chunk in shared memory, byte for byte, and reuses placed chunks up to its bound', () => {
    // Steps: take a chunk of random bytes, or give back one of the chunks held (by index).
    const step = fc.oneof(
      fc.record({ take: fc.uint8Array({ minLength: 0, maxLength: chunkBytes }) }),
      fc.record({ give: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const pool = new SharedChunkPool(chunkBytes, freeMax);
        const held: { view: Uint8Array; bytes: Uint8Array }[] = [];
        // The pool as a count: buffers free, and buffers made (fresh only when none is free).
        let free = 0;
        let made = 0;
        for (const s of steps) {
          if ('take' in s) {
            const view = pool.take(s.take);
            if (free > 0) free -= 1;
            else made += 1;
            expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
            held.push({ view, bytes: Uint8Array.from(s.take) });
          } else if (held.length > 0) {
            const [chunk] = held.splice(s.give % held.length, 1);
            if (chunk !== undefined) {
              pool.give(chunk.view);
              free = Math.min(freeMax, free + 1);
            }
          }
          // A chunk still held is never handed out again: its bytes stay as taken.
          for (const chunk of held) expect(Buffer.from(chunk.view).equals(Buffer.from(chunk.bytes))).toBe(true);
          const buffers = new Set(held.map((chunk) => chunk.view.buffer));
          expect(buffers.size).toBe(held.length);
          // Fresh memory only when none is free, whatever the length taken (a short one takes a whole chunk's).
          expect(pool.madeCount).toBe(made);
        }
      }),
    );
  });

  it('hands a placed chunk’s memory to the next chunk, and keeps no more than its bound', () => {
    const pool = new SharedChunkPool(chunkBytes, freeMax);
    const views = [0, 1, 2].map(() => pool.take(new Uint8Array(chunkBytes).fill(1)));
    for (const view of views) pool.give(view);
    const again = [0, 1, 2].map(() => pool.take(new Uint8Array(chunkBytes).fill(2)));
    const reused = again.filter((view) => views.some((old) => old.buffer === view.buffer));
    expect(reused).toHaveLength(freeMax);
  });

  it('keeps no memory it did not make', () => {
    const pool = new SharedChunkPool(chunkBytes, freeMax);
    const foreign = new Uint8Array(new SharedArrayBuffer(chunkBytes));
    pool.give(foreign);
    pool.give(new Uint8Array(chunkBytes));
    expect(pool.take(new Uint8Array(8)).buffer).not.toBe(foreign.buffer);
  });
});
