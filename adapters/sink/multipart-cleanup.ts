/**
 * Lists and aborts incomplete multipart uploads under the output prefix: the parts of an
 * upload whose worker died are stored (and billed) until someone aborts them. Only uploads
 * begun before a cut-off are aborted, so the uploads of live workers are left alone.
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { FailureError } from '../../core/failure.ts';
import { classified } from '../aws/aws-failure.ts';
import { parseS3Uri } from '../aws/s3-location.ts';
import { sendOptions } from '../aws/send-options.ts';

export interface MultipartCleanupOptions {
  readonly client: S3Client;
  /** `s3://bucket/prefix` of the output. */
  readonly output: string;
  /** Abort only uploads initiated before this time (ms since the epoch); default: now. */
  readonly initiatedBeforeMs?: number;
  /** List only, abort nothing. */
  readonly dryRun?: boolean;
  readonly pageUploads?: number;
  readonly pagesMax?: number;
  readonly signal?: AbortSignal;
}

export interface AbandonedUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiatedMs: number | null;
}

export interface MultipartCleanupResult {
  readonly aborted: readonly AbandonedUpload[];
  readonly kept: number;
  readonly failed: readonly { readonly upload: AbandonedUpload; readonly reason: string }[];
}

export async function abortIncompleteUploads(options: MultipartCleanupOptions): Promise<MultipartCleanupResult> {
  const { bucket, key: prefix } = parseS3Uri(options.output);
  const cutoffMs = options.initiatedBeforeMs ?? Date.now();
  const aborted: AbandonedUpload[] = [];
  const failed: { upload: AbandonedUpload; reason: string }[] = [];
  let kept = 0;
  for await (const upload of listUploads(options, bucket, prefix)) {
    if (upload.initiatedMs !== null && upload.initiatedMs >= cutoffMs) {
      kept += 1;
      continue;
    }
    if (options.dryRun === true) {
      aborted.push(upload);
      continue;
    }
    try {
      const command = new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId });
      await classified(`abort s3://${bucket}/${upload.key}`, () =>
        options.client.send(command, sendOptions(options.signal)),
      );
      aborted.push(upload);
    } catch (error) {
      failed.push({ upload, reason: error instanceof FailureError ? error.failure.reason : 'unknown error' });
    }
  }
  return { aborted, kept, failed };
}

async function* listUploads(
  options: MultipartCleanupOptions,
  bucket: string,
  prefix: string,
): AsyncGenerator<AbandonedUpload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  const pagesMax = options.pagesMax ?? 10_000;
  for (let page = 0; page < pagesMax; page += 1) {
    const command = new ListMultipartUploadsCommand({
      Bucket: bucket,
      Prefix: prefix,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      MaxUploads: options.pageUploads ?? 1000,
    });
    const answer = await classified(`list uploads under s3://${bucket}/${prefix}`, () =>
      options.client.send(command, sendOptions(options.signal)),
    );
    for (const upload of answer.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      yield { key: upload.Key, uploadId: upload.UploadId, initiatedMs: upload.Initiated?.getTime() ?? null };
    }
    if (answer.IsTruncated !== true) return;
    keyMarker = answer.NextKeyMarker;
    uploadIdMarker = answer.NextUploadIdMarker;
  }
}
