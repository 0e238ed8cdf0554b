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
 * An object becomes visible only at `complete`, whole; `abort` leaves nothing behind. A sink
 * may send nothing at `begin` and hold a small first part until it knows whether more come
 * (S3 writes a one-part object with a single `PutObject`); `abort` of an upload that never
 * sent anything, or of one already ended, does nothing.
 */
export interface Sink {
  begin(key: string, signal?: AbortSignal): Promise<UploadHandle>;
  /** Part numbers start at 1; all parts but the last are at least the sink's minimum part size. */
  uploadPart(handle: UploadHandle, partNumber: number, bytes: Uint8Array, signal?: AbortSignal): Promise<PartReceipt>;
  complete(handle: UploadHandle, parts: readonly PartReceipt[], signal?: AbortSignal): Promise<void>;
  abort(handle: UploadHandle): Promise<void>;
}
