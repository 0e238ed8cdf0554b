/**
 * Output objects on S3 (or an S3-compatible store through `--s3-endpoint`): a multipart
 * upload created at `begin`, parts uploaded as the core hands them over (in parallel, any
 * order), `CompleteMultipartUpload` at the end, `AbortMultipartUpload` on failure, lost
 * lease or shutdown. Nothing is visible under the key until `complete`.
 *
 * Small objects: a first part under the 5 MiB minimum can only be the only part, so it is
 * held in memory (at most 5 MiB an open object) and written with one `PutObject` at
 * `complete`; the multipart upload begun for it is then aborted.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { FailureError, assert, ourFault, remoteFault } from '../../core/failure.ts';
import type { PartReceipt, Sink, UploadHandle } from '../../core/sink.ts';
import { classified } from '../aws/aws-failure.ts';
import { parseS3Uri } from '../aws/s3-location.ts';

/** S3's limits: every part but the last at least 5 MiB, at most 10,000 parts an object. */
export const s3PartBytesMin = 5 * 1024 * 1024;
export const s3PartsMax = 10_000;

const heldEtag = 'held-for-put-object';

export interface S3SinkOptions {
  readonly client: S3Client;
  /** `s3://bucket/prefix`: keys are written below the prefix. */
  readonly output: string;
  readonly contentType?: string;
}

export class S3Sink implements Sink {
  readonly partBytesMin = s3PartBytesMin;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly contentType: string;
  /** Small first parts waiting for `complete`; one entry at most per open upload. */
  private readonly held = new Map<string, Uint8Array>();

  constructor(options: S3SinkOptions) {
    const { bucket, key } = parseS3Uri(options.output);
    this.client = options.client;
    this.bucket = bucket;
    this.prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    this.contentType = options.contentType ?? 'application/vnd.apache.parquet';
  }

  /** The full object key of an output key. */
  objectKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  async begin(key: string, signal?: AbortSignal): Promise<UploadHandle> {
    const command = new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key), ContentType: this.contentType });
    const answer = await classified(`begin upload of ${this.where(key)}`, () => this.client.send(command, { abortSignal: signal }));
    if (answer.UploadId === undefined) throw new FailureError(remoteFault(`begin upload of ${this.where(key)} gave no upload id`));
    return { key, uploadId: answer.UploadId };
  }

  async uploadPart(handle: UploadHandle, partNumber: number, bytes: Uint8Array, signal?: AbortSignal): Promise<PartReceipt> {
    assert(Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= s3PartsMax, `part number ${partNumber} outside 1..${s3PartsMax}`);
    if (partNumber === 1 && bytes.length < s3PartBytesMin) {
      this.held.set(handle.uploadId, bytes);
      return { partNumber, etag: heldEtag };
    }
    // A first part sent again at full size replaces a small one held before.
    if (partNumber === 1) this.held.delete(handle.uploadId);
    return this.sendPart(handle, partNumber, bytes, signal);
  }

  async complete(handle: UploadHandle, parts: readonly PartReceipt[], signal?: AbortSignal): Promise<void> {
    assert(parts.length >= 1 && parts.length <= s3PartsMax, `an object needs 1..${s3PartsMax} parts, got ${parts.length}`);
    const held = this.held.get(handle.uploadId);
    if (held !== undefined && parts.length === 1) return this.putWhole(handle, held, signal);
    let receipts = [...parts].sort((left, right) => left.partNumber - right.partNumber);
    if (held !== undefined) {
      // A small first part with more parts after it: S3 will refuse it, and says why.
      const sent = await this.sendPart(handle, 1, held, signal);
      receipts = receipts.map((receipt) => (receipt.partNumber === 1 ? sent : receipt));
    }
    const command = new CompleteMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.objectKey(handle.key),
      UploadId: handle.uploadId,
      MultipartUpload: { Parts: receipts.map((receipt) => ({ PartNumber: receipt.partNumber, ETag: receipt.etag })) },
    });
    await classified(`complete upload of ${this.where(handle.key)}`, () => this.client.send(command, { abortSignal: signal }));
    this.held.delete(handle.uploadId);
  }

  async abort(handle: UploadHandle): Promise<void> {
    this.held.delete(handle.uploadId);
    const command = new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(handle.key), UploadId: handle.uploadId });
    try {
      await classified(`abort upload of ${this.where(handle.key)}`, () => this.client.send(command));
    } catch (error) {
      // Aborting twice, or after the upload completed, is not a failure of the abort.
      if (error instanceof FailureError && /NoSuchUpload/.test(error.failure.reason)) return;
      throw error;
    }
  }

  private async sendPart(handle: UploadHandle, partNumber: number, bytes: Uint8Array, signal?: AbortSignal): Promise<PartReceipt> {
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: this.objectKey(handle.key),
      UploadId: handle.uploadId,
      PartNumber: partNumber,
      Body: bytes,
      ContentLength: bytes.length,
    });
    const answer = await classified(`upload part ${partNumber} of ${this.where(handle.key)}`, () => this.client.send(command, { abortSignal: signal }));
    if (answer.ETag === undefined) throw new FailureError(ourFault(`part ${partNumber} of ${this.where(handle.key)} came back without an ETag`, true));
    return { partNumber, etag: answer.ETag };
  }

  private async putWhole(handle: UploadHandle, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(handle.key),
      Body: bytes,
      ContentLength: bytes.length,
      ContentType: this.contentType,
    });
    await classified(`put ${this.where(handle.key)}`, () => this.client.send(command, { abortSignal: signal }));
    this.held.delete(handle.uploadId);
    // The multipart upload begun for this object is empty now; a failed abort leaves only
    // an empty upload that the cleanup command removes.
    await this.abort(handle).catch(() => undefined);
  }

  private where(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }
}
