/**
 * Reused memory for fetched chunks. On this project's 2-core VM, memory never touched costs
 * about 160 ms of CPU to fill per 32 MiB (page faults, half of it system time) against 2 ms
 * to copy into memory already touched (docs/figures.md): a fresh buffer a chunk paid that for
 * every 32 MiB read. A source reads a chunk straight into this memory (`memory`); a chunk's
 * buffer comes back once nothing can read it again (`release`), for the next chunk fetched.
 *
 * Where decodes run on CPU threads the memory is shared (`SharedArrayBuffer`), so a chunk
 * crosses to a thread as a view, neither copied nor transferred, and stays the runtime's.
 *
 * A buffer returns only when every holder released it: the job's map of fetched chunks, and
 * each decode that reads it (a chunk may be read by two detached decodes at once, and by a
 * void one still running after a split job fell back to decoding in order). A decoder keeps
 * nothing of a chunk once its push returns (test/adapters/decoder-chunk-reuse.test.ts).
 */
export class ChunkPool {
  private readonly free: ArrayBufferLike[] = [];
  /** Holders of each buffer in use that this pool made (weak: a dropped job's chunks are collected). */
  private readonly holders = new WeakMap<ArrayBufferLike, number>();

  /**
   * @param chunkBytes the run's chunk size: only buffers of that size are kept.
   * @param freeMax buffers kept while unused (`chunkPoolFreeMax`).
   * @param shared whether chunks go to CPU threads: the memory is then shared, and bytes a
   *   source read elsewhere are copied into it; otherwise they are kept as they are.
   */
  constructor(
    private readonly chunkBytes: number,
    private readonly freeMax: number,
    private readonly shared: boolean,
  ) {}

  /** Memory for `lengthBytes` bytes, a kept buffer when one is free: what a source reads a chunk into. */
  readonly memory = (lengthBytes: number): Uint8Array => {
    const kept = lengthBytes <= this.chunkBytes ? this.free.pop() : undefined;
    // A fresh buffer is the exact length: only a whole chunk's is kept, a file's short last chunk is not.
    const buffer = kept ?? this.fresh(lengthBytes);
    this.holders.set(buffer, 0);
    return new Uint8Array(buffer, 0, lengthBytes);
  };

  /**
   * A fetched chunk, held once (by the job's map of chunks): in this pool's memory as read into
   * it; else copied into it where chunks are shared, else as it is (never reused then).
   */
  take(bytes: Uint8Array): Uint8Array {
    if (this.holders.has(bytes.buffer)) {
      this.hold(bytes);
      return bytes;
    }
    if (!this.shared) return bytes;
    const view = this.memory(bytes.length);
    // Buffer#copy is a memcpy; TypedArray#set into shared memory measured 10x slower (20 ms for 32 MiB).
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).copy(view);
    this.hold(view);
    return view;
  }

  /** One more holder of a chunk: a decode about to read it. */
  hold(view: Uint8Array): void {
    const count = this.holders.get(view.buffer);
    if (count !== undefined) this.holders.set(view.buffer, count + 1);
  }

  /**
   * A holder is done with a chunk. The last one gives its buffer back: kept for the next chunk
   * when it is a whole chunk's and fewer than `freeMax` are kept, else left to the collector.
   */
  release(view: Uint8Array): void {
    const buffer = view.buffer;
    const count = this.holders.get(buffer);
    if (count === undefined || count <= 0) return;
    if (count > 1) {
      this.holders.set(buffer, count - 1);
      return;
    }
    this.holders.delete(buffer);
    if (buffer.byteLength === this.chunkBytes && this.free.length < this.freeMax) this.free.push(buffer);
  }

  /** Buffers kept unused now: idle memory, at most `freeMax` chunks. */
  get freeCount(): number {
    return this.free.length;
  }

  private fresh(byteLength: number): ArrayBufferLike {
    return this.shared ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength);
  }
}

/**
 * Free chunk buffers kept. A job's chunks are fetched ahead (core/limits.ts
 * `fetchAheadChunksMax`) and each decoded one frees a buffer that the next fetch takes at once;
 * two cover a second job's, or a split job's, turn. At 32 MiB chunks that is 64 MiB idle at
 * most, outside the data budget, where the buffers they replace waited for the garbage
 * collector, uncounted too.
 */
export const chunkPoolFreeMax = 2;
