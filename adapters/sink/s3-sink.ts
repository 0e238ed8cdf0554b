/**
 * Output objects on S3 (or an S3-compatible store through `--s3-endpoint`): parts uploaded as
 * the core hands them over (in parallel, any order), `CompleteMultipartUpload` at the end,
 * `AbortMultipartUpload` on failure, lost lease or shutdown. Nothing is visible under the
 * key until `complete`.
 *
 * A multipart upload costs three requests more than a `PutObject` and, where a store has no
 * abort, leaves an empty upload behind; most outputs (a CommonCrawl file gives about 3.6 MB
 * of Parquet) fit in one part under S3's 5 MiB minimum. So `begin` sends nothing, and the
 * multipart upload is created by `start`, which the core sends (a task under the sink's caps,
 * adaptive limit and retry rules) only for an object of more than one part or a first part of
 * 5 MiB or more. Before a start, a first part is held in memory (under 5 MiB, as the core
 * starts the upload of a larger one) and written with one `PutObject` at `complete`; an
 * upload aborted before then sends nothing.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { FailureError, assert, ourFault, remoteFault } from '../../core/failure.ts';
import type { PartReceipt, Sink, UploadHandle } from '../../core/sink.ts';
import { classified } from '../aws/aws-failure.ts';
import { parseS3Uri } from '../aws/s3-location.ts';
import { sendOptions } from '../aws/send-options.ts';

/** S3's limits: every part but the last at least 5 MiB, at most 10,000 parts an object. */
export const s3PartBytesMin = 5 * 1024 * 1024;
export const s3PartsMax = 10_000;

const heldEtag = 'held-for-put-object';

/**
 * A part's pieces as one request body. The SDK sends and signs a body it can read again on its
 * own retries, which a stream of pieces is not; a part is sent over the network, so one copy of
 * it costs little beside its upload, and one piece is sent as it is.
 */
function bodyOf(pieces: readonly Uint8Array[]): Uint8Array {
  const only = pieces.length === 1 ? pieces[0] : undefined;
  return only ?? Buffer.concat(pieces);
}

/** S3's ETag of a multipart object: the MD5 of its parts' binary MD5s, then `-` and their count. */
export function multipartEtag(receipts: readonly PartReceipt[]): string | null {
  const digests = receipts.map((receipt) => receipt.etag.replace(/"/g, ''));
  if (!digests.every((digest) => /^[0-9a-f]{32}$/i.test(digest))) return null;
  const whole = createHash('md5');
  for (const digest of digests) whole.update(Buffer.from(digest, 'hex'));
  return `${whole.digest('hex')}-${digests.length}`;
}

export interface S3SinkOptions {
  readonly client: S3Client;
  /** `s3://bucket/prefix`: keys are written below the prefix. */
  readonly output: string;
  readonly contentType?: string;
}

/** What the sink knows of one open object; `uploadId` of its handle is the key here. */
interface OpenObject {
  readonly key: string;
  /** The multipart upload once `start` was called; parts sent at once share it. */
  multipart: Promise<string> | null;
  /** A first part sent before any start, kept for `PutObject` (one buffer: see `bodyOf`). */
  held: Uint8Array | null;
  /** The held first part once `complete` sent it, so a retried completion does not send it again. */
  heldSent: PartReceipt | null;
  /** Bytes of each part sent, so a completion whose answer was lost can be recognised. */
  readonly partBytes: Map<number, number>;
}

export class S3Sink implements Sink {
  readonly partBytesMin = s3PartBytesMin;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly contentType: string;
  /** Objects begun and neither completed nor aborted: one entry each, as many as the core's jobs. */
  private readonly open = new Map<string, OpenObject>();

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

  /** Sends nothing: the core says whether the object needs a multipart upload (`start`). */
  async begin(key: string, signal?: AbortSignal): Promise<UploadHandle> {
    signal?.throwIfAborted();
    const handle = { key, uploadId: `object-${randomUUID()}` };
    this.open.set(handle.uploadId, { key, multipart: null, held: null, heldSent: null, partBytes: new Map() });
    return handle;
  }

  /**
   * Creates the multipart upload (CreateMultipartUpload). A start that failed (throttled, say)
   * is forgotten, so its retry creates the upload again; a start already made or under way is
   * shared, so the object never has two.
   */
  async start(handle: UploadHandle, signal?: AbortSignal): Promise<void> {
    const object = this.openObject(handle);
    if (object.multipart === null) {
      const created = this.createMultipart(object.key, signal);
      object.multipart = created;
      created.catch(() => {
        if (object.multipart === created) object.multipart = null;
      });
    }
    await object.multipart;
  }

  async uploadPart(
    handle: UploadHandle,
    partNumber: number,
    pieces: readonly Uint8Array[],
    signal?: AbortSignal,
  ): Promise<PartReceipt> {
    const bytes = bodyOf(pieces);
    const inRange = Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= s3PartsMax;
    assert(inRange, `part number ${partNumber} outside 1..${s3PartsMax}`);
    const object = this.openObject(handle);
    if (object.multipart === null && partNumber === 1) {
      object.held = bytes;
      object.heldSent = null;
      return { partNumber, etag: heldEtag };
    }
    // A first part sent again once the upload started replaces one held before.
    if (partNumber === 1) {
      object.held = null;
      object.heldSent = null;
    }
    const uploadId = await this.startedUpload(object, `part ${partNumber}`);
    const receipt = await this.sendPart(object.key, uploadId, partNumber, bytes, signal);
    object.partBytes.set(partNumber, bytes.length);
    return receipt;
  }

  async complete(handle: UploadHandle, parts: readonly PartReceipt[], signal?: AbortSignal): Promise<void> {
    const counted = parts.length >= 1 && parts.length <= s3PartsMax;
    assert(counted, `an object needs 1..${s3PartsMax} parts, got ${parts.length}`);
    const object = this.openObject(handle);
    if (object.held !== null && parts.length === 1) return this.putWhole(handle, object, object.held, signal);
    const uploadId = await this.startedUpload(object, `completion of ${parts.length} parts`);
    let receipts = [...parts].sort((left, right) => left.partNumber - right.partNumber);
    if (object.held !== null) {
      // A small first part with more parts after it: S3 will refuse it, and says why.
      object.heldSent ??= await this.sendPart(object.key, uploadId, 1, object.held, signal);
      object.partBytes.set(1, object.held.length);
      const sent = object.heldSent;
      receipts = receipts.map((receipt) => (receipt.partNumber === 1 ? sent : receipt));
    }
    const command = new CompleteMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.objectKey(object.key),
      UploadId: uploadId,
      MultipartUpload: { Parts: receipts.map((receipt) => ({ PartNumber: receipt.partNumber, ETag: receipt.etag })) },
    });
    const what = `complete upload of ${this.where(object.key)}`;
    try {
      await classified(what, () => this.client.send(command, sendOptions(signal)));
    } catch (error) {
      // A retry after an answer that was lost finds the upload gone: done, if the object is this upload.
      const gone = error instanceof FailureError && /NoSuchUpload/.test(error.failure.reason);
      if (!gone || !(await this.holdsUpload(object, receipts, signal))) throw error;
    }
    this.open.delete(handle.uploadId);
  }

  /**
   * Whether the object under the key is what completing these parts made. S3 names a multipart
   * object by the MD5 of its parts' MD5s and their count (`<hex>-<parts>`); a store whose ETag
   * has no part count (some S3-compatible stores) is matched by its length instead. Anything
   * else (an upload aborted by `cleanup`, an object another attempt wrote) is not taken as done.
   */
  private async holdsUpload(
    object: OpenObject,
    receipts: readonly PartReceipt[],
    signal?: AbortSignal,
  ): Promise<boolean> {
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(object.key) });
    const head = await classified(`look up ${this.where(object.key)}`, () =>
      this.client.send(command, sendOptions(signal)),
    ).catch((error: unknown) => {
      // No object (or none we may see) is an answer; a throttled or failing lookup is not, and
      // the completion is tried again rather than failed for good on the NoSuchUpload.
      if (error instanceof FailureError && error.failure.fault === 'input') return null;
      throw error;
    });
    const etag = head?.ETag?.replace(/"/g, '');
    if (head === null || etag === undefined) return false;
    if (etag.includes('-')) return etag === multipartEtag(receipts);
    const length = receipts.reduce((sum, receipt) => sum + (object.partBytes.get(receipt.partNumber) ?? Number.NaN), 0);
    return head.ContentLength === length;
  }

  /** Aborts the multipart upload if one was begun; an object that never needed one sends nothing. */
  async abort(handle: UploadHandle): Promise<void> {
    const object = this.open.get(handle.uploadId);
    if (object === undefined) return;
    this.open.delete(handle.uploadId);
    // A begin still in flight is waited for, so its upload is not left open; one that failed left nothing.
    const uploadId = await object.multipart?.catch(() => null);
    if (uploadId === null || uploadId === undefined) return;
    await this.abortMultipart(object.key, uploadId);
  }

  private openObject(handle: UploadHandle): OpenObject {
    const object = this.open.get(handle.uploadId);
    if (object === undefined || object.key !== handle.key) {
      const where = this.where(handle.key);
      throw new FailureError(ourFault(`no open upload ${handle.uploadId} for ${where}: completed or aborted already`));
    }
    return object;
  }

  /** The object's multipart upload; a part or completion that needs one before `start` is the caller's bug. */
  private startedUpload(object: OpenObject, what: string): Promise<string> {
    if (object.multipart !== null) return object.multipart;
    const where = this.where(object.key);
    return Promise.reject(new FailureError(ourFault(`${what} of ${where} needs its upload started first`)));
  }

  private async createMultipart(key: string, signal?: AbortSignal): Promise<string> {
    const command = new CreateMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ContentType: this.contentType,
    });
    const what = `begin upload of ${this.where(key)}`;
    const answer = await classified(what, () => this.client.send(command, sendOptions(signal)));
    if (answer.UploadId === undefined) throw new FailureError(remoteFault(`${what} gave no upload id`));
    return answer.UploadId;
  }

  private async abortMultipart(key: string, uploadId: string): Promise<void> {
    const command = new AbortMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      UploadId: uploadId,
    });
    try {
      await classified(`abort upload of ${this.where(key)}`, () => this.client.send(command));
    } catch (error) {
      // An upload aborted or completed by someone else is not a failure of the abort.
      if (error instanceof FailureError && /NoSuchUpload/.test(error.failure.reason)) return;
      throw error;
    }
  }

  private async sendPart(
    key: string,
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
    signal?: AbortSignal,
  ): Promise<PartReceipt> {
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: bytes,
      ContentLength: bytes.length,
    });
    const what = `part ${partNumber} of ${this.where(key)}`;
    const answer = await classified(`upload ${what}`, () => this.client.send(command, sendOptions(signal)));
    if (answer.ETag === undefined) throw new FailureError(ourFault(`${what} came back without an ETag`, true));
    return { partNumber, etag: answer.ETag };
  }

  private async putWhole(
    handle: UploadHandle,
    object: OpenObject,
    bytes: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(object.key),
      Body: bytes,
      ContentLength: bytes.length,
      ContentType: this.contentType,
    });
    await classified(`put ${this.where(object.key)}`, () => this.client.send(command, sendOptions(signal)));
    this.open.delete(handle.uploadId);
    // A multipart upload begun for this object (a part it no longer lists) is empty of what it
    // holds now; an abort the store failed leaves only an upload that the cleanup command
    // removes. A bug of ours in the abort still fails the call.
    const uploadId = await object.multipart?.catch(() => null);
    if (uploadId === null || uploadId === undefined) return;
    await this.abortMultipart(object.key, uploadId).catch((error: unknown) => {
      if (!(error instanceof FailureError) || error.failure.fault === 'ours') throw error;
    });
  }

  private where(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }
}
