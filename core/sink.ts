/** An object being written: opaque to the core, meaningful to its sink. */
export interface UploadHandle {
  readonly key: string;
  readonly uploadId: string;
}

export interface PartReceipt {
  readonly partNumber: number;
  readonly etag: string;
}

/**
 * Where output objects go: S3 (multipart) or a local folder (temporary name, then rename).
 * An object becomes visible only at `complete`, whole; `abort` leaves nothing behind.
 * `begin` opens an object and sends nothing a remote could refuse or throttle; `start` is the
 * one request that starts an upload in parts (S3's CreateMultipartUpload). The core sends a
 * `start` before the parts of an object of more than one part, or of a first part of at least
 * `partBytesMin`; an object not started is one small part, which a sink may hold until
 * `complete` and write whole (S3: a single `PutObject`). `abort` of an upload that never sent
 * anything, or of one already ended, does nothing.
 */
export interface Sink {
  begin(key: string, signal?: AbortSignal): Promise<UploadHandle>;
  /** Starts the upload in parts; a start that failed may be called again, one that succeeded is not. */
  start(handle: UploadHandle, signal?: AbortSignal): Promise<void>;
  /**
   * Part numbers start at 1; all parts but the last are at least the sink's minimum part size;
   * parts after the first need `start`. The part's bytes are its pieces, concatenated: views of
   * the encoded output, so no one copies a part only to join it (a sink that needs one buffer
   * joins them itself). The caller never changes the pieces; a sink may keep them until the
   * upload completes or aborts.
   */
  uploadPart(
    handle: UploadHandle,
    partNumber: number,
    pieces: readonly Uint8Array[],
    signal?: AbortSignal,
  ): Promise<PartReceipt>;
  complete(handle: UploadHandle, parts: readonly PartReceipt[], signal?: AbortSignal): Promise<void>;
  abort(handle: UploadHandle): Promise<void>;
}

/** The number of bytes in `pieces` (a part's, an encode's). */
export function piecesLength(pieces: readonly Uint8Array[]): number {
  let length = 0;
  for (const piece of pieces) length += piece.byteLength;
  return length;
}
