import { FailureError, assert, ourFault } from '../core/failure.ts';
import type { PartReceipt, Sink, UploadHandle } from '../core/sink.ts';

/** S3's limit on part numbers; an upload past it is a bug in the caller. */
const partNumberMax = 10_000;

interface OpenUpload {
  readonly key: string;
  /** `start` was called: parts after the first may come. */
  started: boolean;
  readonly parts: Map<number, { readonly bytes: Uint8Array; readonly etag: string }>;
}

export interface SimulatedSinkOptions {
  /** Minimum size of every part but the last; S3's is 5 MiB, tests use less to stay quick. */
  readonly partBytesMin?: number;
}

/**
 * An object store held in memory with the visibility rules of S3 multipart uploads: an
 * object appears only at `complete`, whole, parts assembled in part-number order; a part
 * uploaded again replaces the first; `abort` leaves nothing; completing a key again
 * overwrites it. A completion that names a part the store does not hold, or a small part
 * before the last, is refused as S3 refuses it, and so is a part after the first before the
 * upload was started (`start`, S3's CreateMultipartUpload).
 */
export class SimulatedSink implements Sink {
  readonly partBytesMin: number;
  private readonly objects = new Map<string, Uint8Array>();
  private readonly uploads = new Map<string, OpenUpload>();
  private uploadsBegun = 0;
  private uploadsStarted = 0;
  private partsUploaded = 0;

  constructor(options: SimulatedSinkOptions = {}) {
    this.partBytesMin = options.partBytesMin ?? 5 * 1024 * 1024;
    assert(
      Number.isSafeInteger(this.partBytesMin) && this.partBytesMin >= 1,
      `partBytesMin is a positive byte count, got ${this.partBytesMin}`,
    );
  }

  async begin(key: string, signal?: AbortSignal): Promise<UploadHandle> {
    signal?.throwIfAborted();
    if (key === '' || key.startsWith('/'))
      throw new FailureError(ourFault(`object key ${JSON.stringify(key)} is empty or absolute`));
    this.uploadsBegun += 1;
    const uploadId = `upload-${this.uploadsBegun}`;
    this.uploads.set(uploadId, { key, started: false, parts: new Map() });
    return { key, uploadId };
  }

  /** Starts the upload in parts, as S3's CreateMultipartUpload; starting it again changes nothing. */
  async start(handle: UploadHandle, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const upload = this.openUpload(handle);
    if (!upload.started) this.uploadsStarted += 1;
    upload.started = true;
  }

  /** Uploads started with `start`, counted once each. */
  startedCount(): number {
    return this.uploadsStarted;
  }

  async uploadPart(
    handle: UploadHandle,
    partNumber: number,
    pieces: readonly Uint8Array[],
    signal?: AbortSignal,
  ): Promise<PartReceipt> {
    signal?.throwIfAborted();
    assert(
      Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= partNumberMax,
      `part numbers run from 1 to ${partNumberMax}, got ${partNumber}`,
    );
    const upload = this.openUpload(handle);
    if (partNumber > 1 && !upload.started)
      throw new FailureError(ourFault(`part ${partNumber} of ${handle.key} before its upload was started`));
    this.partsUploaded += 1;
    // Each upload of a part gets its own tag, so a completion naming a replaced part is caught.
    const etag = `"${handle.uploadId}-${partNumber}-${this.partsUploaded}"`;
    upload.parts.set(partNumber, { bytes: concatenate(pieces), etag });
    return { partNumber, etag };
  }

  async complete(handle: UploadHandle, parts: readonly PartReceipt[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const upload = this.openUpload(handle);
    const ordered = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const chunks = ordered.map((receipt, index) => this.checkedPart(upload, receipt, index === ordered.length - 1));
    if (chunks.length === 0) throw new FailureError(ourFault(`completing ${handle.key} with no parts`));
    this.objects.set(upload.key, concatenate(chunks));
    this.uploads.delete(handle.uploadId);
  }

  /** Idempotent: aborting an upload that is gone already is fine. */
  async abort(handle: UploadHandle): Promise<void> {
    this.uploads.delete(handle.uploadId);
  }

  /** The object under `key`, a copy, or null when none was completed. */
  readObject(key: string): Uint8Array | null {
    return this.objects.get(key)?.slice() ?? null;
  }

  /** Uploads begun and neither completed nor aborted, as `key (uploadId)`. */
  openUploads(): string[] {
    return [...this.uploads.entries()].map(([uploadId, upload]) => `${upload.key} (${uploadId})`).sort();
  }

  private openUpload(handle: UploadHandle): OpenUpload {
    const upload = this.uploads.get(handle.uploadId);
    if (upload === undefined || upload.key !== handle.key) {
      throw new FailureError(
        ourFault(`no open upload ${handle.uploadId} for ${handle.key}: completed or aborted already`),
      );
    }
    return upload;
  }

  private checkedPart(upload: OpenUpload, receipt: PartReceipt, isLast: boolean): Uint8Array {
    const part = upload.parts.get(receipt.partNumber);
    if (part === undefined || part.etag !== receipt.etag) {
      throw new FailureError(ourFault(`part ${receipt.partNumber} of ${upload.key} is not the part the store holds`));
    }
    if (!isLast && part.bytes.length < this.partBytesMin) {
      throw new FailureError(
        ourFault(
          `part ${receipt.partNumber} of ${upload.key} is ${part.bytes.length} bytes, under the ${this.partBytesMin}-byte minimum`,
        ),
      );
    }
    return part.bytes;
  }
}

function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}
