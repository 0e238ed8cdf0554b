/**
 * The memory chunks are read into, kept for the next chunk once a decode is done with one.
 * On this project's 2-core VM fresh memory costs about 5 ms a MiB (page faults, half of it
 * system time): a 300 MB index export read into fresh 32 MiB chunks spent 0.78 s reading and
 * 0.37 s on the first scan of them, against 0.10 s and 0.07 s into one buffer already touched
 * (docs/figures.md). The read-ahead starts small (core/read-ahead.ts), so a local file's chunks
 * come back before many fresh ones are made.
 *
 * The memory is shared (SharedArrayBuffer), so a chunk crosses to a CPU thread as a view, not
 * transferred, and comes back here when the decode answers: decoders keep no view of a chunk
 * past a push (test/adapters/decoder-chunk-reuse.test.ts). A split job's chunks come back when
 * placed, since a chunk may be decoded again until then (core/split-decode.ts). A local or HTTP
 * source reads straight into this memory (`memory`), S3's bytes are copied (`take`).
 */
export class SharedChunkPool {
  private readonly free: SharedArrayBuffer[] = [];
  /** Buffers this pool made: only they come back (weak, so a dropped job's chunks are collected). */
  private readonly made = new WeakSet<ArrayBufferLike>();
  private made_ = 0;

  /**
   * @param chunkBytes the run's chunk size: every buffer made is of that size, but a longer read's.
   * @param freeMax buffers kept while unused. Fresh memory is made only when none is free, so
   *   the pool never holds more buffers than were in use at once; this bounds what an idle
   *   worker keeps after a burst.
   */
  constructor(
    private readonly chunkBytes: number,
    private readonly freeMax: number,
  ) {}

  /**
   * Shared memory for `lengthBytes` bytes, a kept buffer when one is free: what a source reads a
   * chunk into. A short read (a file's last chunk, a subset's range) takes a whole chunk's
   * buffer too, so that it can be kept; the pages it does not touch cost nothing.
   */
  readonly memory = (lengthBytes: number): Uint8Array => {
    if (lengthBytes > this.chunkBytes) return new Uint8Array(this.fresh(lengthBytes));
    return new Uint8Array(this.free.pop() ?? this.fresh(this.chunkBytes), 0, lengthBytes);
  };

  /** The bytes in this pool's shared memory: as they are when read into it, else copied. */
  take(bytes: Uint8Array): Uint8Array {
    if (this.made.has(bytes.buffer)) return bytes;
    const view = this.memory(bytes.length);
    // Buffer#copy is a memcpy; TypedArray#set into shared memory measured 10x slower (20 ms for 32 MiB).
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).copy(view);
    return view;
  }

  /**
   * A chunk's memory back once no decode can read it again. Only whole-chunk buffers this pool
   * made are kept, each once, at most `freeMax`.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || !this.made.has(buffer) || buffer.byteLength !== this.chunkBytes)
      return;
    if (this.free.length < this.freeMax && !this.free.includes(buffer)) this.free.push(buffer);
  }

  /** Buffers this pool has made since it began (tests). */
  get madeCount(): number {
    return this.made_;
  }

  private fresh(byteLength: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(byteLength);
    this.made.add(buffer);
    this.made_ += 1;
    return buffer;
  }
}

/**
 * Free chunk buffers kept: what the run's jobs hold at once in the steady state, a window of
 * read-ahead and the chunk decoding on each CPU lane (a job ending hands its window back
 * while the next job's first fetches take it). At least two, for a split job's window, which
 * slides one chunk at a time. At 32 MiB chunks, 8 chunks a lane and 2 lanes: 576 MiB idle at
 * most, memory the run had in use a moment before.
 */
export function chunkPoolFreeMax(fetchWindowChunks: number, cpuLanes: number): number {
  return Math.max(2, (fetchWindowChunks + 1) * cpuLanes);
}
