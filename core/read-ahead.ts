import type { WorkerLimits } from './limits.ts';

/**
 * How many chunks an in-order job reads ahead. A read-ahead only pays while the source is
 * slower than decoding: a local file's 32 MiB chunk is read in about 10 ms and decoded in 100
 * to 400, an S3 GET of it streams for one to two seconds. So it starts at `readAheadStartChunks`
 * (the whole window for a remote source, two chunks for local files: limits.ts) and grows by
 * one chunk each time a decode finds the job's next chunk not fetched yet (the decoder waited
 * on the source), up to the budget's `fetchWindowChunks`; it never shrinks, so a source that
 * was slow once keeps its window. Run-wide, so that later jobs start where the earlier ones
 * left it.
 *
 * A small window is what lets chunk memory be reused (the runtime's chunk pool): on this
 * project's VM fresh memory costs about 5 ms a MiB, and a 300 MB index export read into fresh
 * chunks spent 0.78 s reading and 0.37 s on the first scan of them, against 0.10 s and 0.07 s
 * into memory already touched (docs/figures.md). A window of 8 made 8 fresh chunks of a 9-chunk
 * file before any came back.
 */
export interface ReadAhead {
  /** Chunks past the next one to decode that are queued for fetching, from `readAheadStartChunks`. */
  chunks: number;
  /** Times it grew: decodes that found their chunk not fetched while it could still grow. */
  grown: number;
}

export function newReadAhead(limits: WorkerLimits, windowMax: number): ReadAhead {
  return { chunks: Math.min(limits.readAheadStartChunks ?? windowMax, windowMax), grown: 0 };
}

/**
 * A decode ended and the job's next chunk is not fetched: the decoder waits on the source, so
 * the read-ahead grows by one chunk, within `windowMax`. Called once a decoded chunk.
 */
export function noteNextChunkWaited(readAhead: ReadAhead, windowMax: number): void {
  if (readAhead.chunks >= windowMax) return;
  readAhead.chunks += 1;
  readAhead.grown += 1;
}
