import type { InputRef } from './input-ref.ts';

/** A half-open byte range `[offsetBytes, offsetBytes + lengthBytes)` of an input. */
export interface ByteRange {
  readonly offsetBytes: number;
  readonly lengthBytes: number;
}

/**
 * Where WARC files come from: a local folder, HTTPS, S3, CommonCrawl.
 * Failures are thrown as `FailureError`s so the core can tell a 503 from a missing file.
 */
export interface Source {
  /** The inputs a specification names (path, glob, manifest, `s3://` prefix, `cc:` crawl), in a stable order. */
  list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef>;
  /** Size of an input in bytes. */
  sizeOf(input: InputRef, signal?: AbortSignal): Promise<number>;
  /**
   * Exactly the bytes of the range (fewer only at the end of the input). `memory`, where given,
   * makes the buffer a source that fills one reads into (a split job's shared memory, which
   * then needs no copy); a source that receives its bytes in pieces may ignore it.
   */
  read(input: InputRef, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array>;
}

/** A buffer of exactly `lengthBytes` bytes for a read to fill. */
export type ReadMemory = (lengthBytes: number) => Uint8Array;
