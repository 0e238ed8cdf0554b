import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkPool } from '../../cmd/worker/chunk-pool.ts';

const chunkBytes = 64;
const freeMax = 2;

/** A chunk read into the pool's memory, as a source given `memory` reads it. */
function readInto(pool: ChunkPool, bytes: Uint8Array): Uint8Array {
  const view = pool.memory(bytes.length);
  view.set(bytes);
  return pool.take(view);
}

describe('ChunkPool', () => {
  it('never hands out memory a holder still reads, and keeps no more than its bound', () => {
    // Steps: read a chunk, a decode holds one, or a holder releases one (chunks by index).
    const step = fc.oneof(
      fc.record({ read: fc.uint8Array({ minLength: 0, maxLength: chunkBytes }), copied: fc.boolean() }),
      fc.record({ hold: fc.nat() }),
      fc.record({ release: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const pool = new ChunkPool(chunkBytes, freeMax, true);
        const live: { view: Uint8Array; bytes: Uint8Array; holders: number }[] = [];
        for (const s of steps) {
          if ('read' in s) {
            const view = s.copied ? pool.take(s.read) : readInto(pool, s.read);
            expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
            live.push({ view, bytes: Uint8Array.from(s.read), holders: 1 });
          } else if (live.length > 0) {
            const at = ('hold' in s ? s.hold : s.release) % live.length;
            const chunk = live[at];
            if (chunk === undefined) continue;
            if ('hold' in s) {
              pool.hold(chunk.view);
              chunk.holders += 1;
            } else {
              pool.release(chunk.view);
              chunk.holders -= 1;
              if (chunk.holders === 0) live.splice(at, 1);
            }
          }
          // A chunk someone still holds keeps its bytes as read, in memory of its own.
          for (const chunk of live) expect(Buffer.from(chunk.view).equals(Buffer.from(chunk.bytes))).toBe(true);
          expect(new Set(live.map((chunk) => chunk.view.buffer)).size).toBe(live.length);
          expect(pool.freeCount).toBeLessThanOrEqual(freeMax);
        }
      }),
    );
  });

  it('hands a released chunk’s memory to the next chunk read, and keeps no more than its bound', () => {
    const pool = new ChunkPool(chunkBytes, freeMax, true);
    const views = [0, 1, 2].map(() => readInto(pool, new Uint8Array(chunkBytes).fill(1)));
    for (const view of views) pool.release(view);
    const again = [0, 1, 2].map(() => readInto(pool, new Uint8Array(chunkBytes).fill(2)));
    const reused = again.filter((view) => views.some((old) => old.buffer === view.buffer));
    expect(reused).toHaveLength(freeMax);
  });

  it('keeps a chunk from the next read until its last holder releases it', () => {
    const pool = new ChunkPool(chunkBytes, freeMax, true);
    const chunk = readInto(pool, new Uint8Array(chunkBytes).fill(1));
    pool.hold(chunk);
    pool.release(chunk);
    expect(pool.memory(chunkBytes).buffer).not.toBe(chunk.buffer);
    pool.release(chunk);
    expect(pool.memory(chunkBytes).buffer).toBe(chunk.buffer);
  });

  it('keeps no memory it did not make, and copies none where chunks are not shared', () => {
    const pool = new ChunkPool(chunkBytes, freeMax, true);
    const foreign = new Uint8Array(new SharedArrayBuffer(chunkBytes));
    pool.release(foreign);
    pool.release(new Uint8Array(chunkBytes));
    expect(pool.memory(8).buffer).not.toBe(foreign.buffer);
    const unshared = new ChunkPool(chunkBytes, freeMax, false);
    const bytes = new Uint8Array(chunkBytes);
    expect(unshared.take(bytes)).toBe(bytes);
    expect(unshared.memory(chunkBytes).buffer).toBeInstanceOf(ArrayBuffer);
  });
});
