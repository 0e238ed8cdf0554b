/**
 * Shared memory for a split job's chunks (core/split-decode.ts), kept for the next chunk once
 * one is placed. On this project's 2-core VM, fresh memory costs about 160 ms of CPU for
 * 32 MiB (page faults, half of it system time) against 2 ms to copy into memory already
 * touched (docs/figures.md): a split export of a 300 MB file paid that once a chunk, on top of
 * the source's own read buffer, and it was the largest part of split decoding's extra CPU. A
 * local or HTTP source reads straight into this memory (`memory`), S3's bytes are copied.
 */
export class SharedChunkPool {
  private readonly free: SharedArrayBuffer[] = [];
  /** Buffers this pool made: only they come back (weak, so a dropped job's chunks are collected). */
  private readonly made = new WeakSet<ArrayBufferLike>();

  /**
   * @param chunkBytes the run's chunk size: only buffers of that size are kept.
   * @param freeMax buffers kept while unused; idle memory outside the budget.
   */
  constructor(
    private readonly chunkBytes: number,
    private readonly freeMax: number,
  ) {}

  /** Shared memory for `lengthBytes` bytes, a kept buffer when one is free: what a source reads a chunk into. */
  readonly memory = (lengthBytes: number): Uint8Array => {
    const kept = lengthBytes <= this.chunkBytes ? this.free.pop() : undefined;
    // A fresh buffer is the exact length: only a whole chunk's is kept, a file's short last chunk is not.
    return new Uint8Array(kept ?? this.fresh(lengthBytes), 0, lengthBytes);
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
   * A chunk's memory back once no decode can read it again (the chunk placed: it and the
   * chunk before it are accepted). Only buffers this pool made are kept, at most `freeMax`.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || !this.made.has(buffer) || buffer.byteLength !== this.chunkBytes)
      return;
    if (this.free.length < this.freeMax && !this.free.includes(buffer)) this.free.push(buffer);
  }

  private fresh(byteLength: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(byteLength);
    this.made.add(buffer);
    return buffer;
  }
}

/**
 * Free chunk buffers kept: a split job's window slides one chunk at a time, so the chunk placed
 * is the next one fetched; two cover a second split job's turn. At 32 MiB chunks, 64 MiB idle.
 */
export const sharedChunksFreeMax = 2;
