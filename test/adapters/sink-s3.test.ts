/**
 * Proves the S3 sink against s3rver on loopback: the Sink contract; a 60 MiB multipart
 * upload in 5 MiB parts read back byte-identical; an aborted upload leaves no object and no
 * open upload; the cleanup function lists (paginated) and aborts incomplete uploads under
 * the output prefix only, keeping those begun after its cut-off. (s3rver lacks
 * ListMultipartUploads and AbortMultipartUpload; test/support/s3rver-main.mjs adds them.)
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import type { PartReceipt } from '../../core/sink.ts';
import { abortIncompleteUploads } from '../../adapters/sink/multipart-cleanup.ts';
import { S3Sink, s3PartBytesMin } from '../../adapters/sink/s3-sink.ts';
import { startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
import { sinkContract } from './sink-contract.ts';

let server: RunningS3rver;

beforeAll(async () => {
  server = await startS3rver(['output', 'contract']);
});
afterAll(async () => server?.stop());

async function readObject(bucket: string, key: string): Promise<Uint8Array | null> {
  try {
    const answer = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await answer.Body?.transformToByteArray()) ?? null;
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return null;
    throw error;
  }
}

async function openUploads(bucket: string, prefix: string): Promise<string[]> {
  const answer = await server.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (answer.Uploads ?? []).map((upload) => `${upload.Key} ${upload.UploadId}`);
}

sinkContract('S3 multipart (s3rver)', async () => {
  const sink = new S3Sink({ client: server.client, output: 's3://contract/runs/one' });
  return {
    sink,
    partBytesMin: sink.partBytesMin,
    readObject: (key) => readObject('contract', sink.objectKey(key)),
    leftovers: () => openUploads('contract', 'runs/one/'),
  };
});

describe('S3 sink', () => {
  test('a 60 MiB object in twelve parts reads back byte-identical', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/big' });
    const handle = await sink.begin('crawl=x/subset=y/big.parquet');
    const whole = createHash('sha256');
    const receipts: PartReceipt[] = [];
    // Parts of distinct content, uploaded two at a time as the core would.
    for (let number = 1; number <= 12; number += 2) {
      const pair = [number, number + 1].map((partNumber) => new Uint8Array(s3PartBytesMin).fill(partNumber * 7));
      pair.forEach((part) => whole.update(part));
      receipts.push(...(await Promise.all(pair.map((part, index) => sink.uploadPart(handle, number + index, part)))));
    }
    await sink.complete(handle, receipts);
    const stored = await readObject('output', 'big/crawl=x/subset=y/big.parquet');
    expect(stored?.length).toBe(12 * s3PartBytesMin);
    expect(createHash('sha256').update(stored as Uint8Array).digest('hex')).toBe(whole.digest('hex'));
  });

  test('an aborted upload leaves no object and no open upload', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/aborted/' });
    const handle = await sink.begin('gone.parquet');
    await sink.uploadPart(handle, 1, new Uint8Array(s3PartBytesMin));
    await sink.abort(handle);
    expect(await readObject('output', 'aborted/gone.parquet')).toBeNull();
    expect(await openUploads('output', 'aborted/')).toEqual([]);
  });

  test('cleanup aborts incomplete uploads under the prefix, page by page, and keeps newer ones', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/cleanup/' });
    const other = new S3Sink({ client: server.client, output: 's3://output/elsewhere/' });
    for (const name of ['a', 'b', 'c']) await sink.uploadPart(await sink.begin(`${name}.parquet`), 1, new Uint8Array(s3PartBytesMin));
    await other.begin('kept.parquet');
    const dry = await abortIncompleteUploads({ client: server.client, output: 's3://output/cleanup/', dryRun: true, pageUploads: 2 });
    expect(dry.aborted.map((upload) => upload.key)).toEqual(['cleanup/a.parquet', 'cleanup/b.parquet', 'cleanup/c.parquet']);
    const early = await abortIncompleteUploads({ client: server.client, output: 's3://output/cleanup/', initiatedBeforeMs: Date.now() - 3_600_000 });
    expect(early).toMatchObject({ aborted: [], kept: 3 });
    const result = await abortIncompleteUploads({ client: server.client, output: 's3://output/cleanup/', pageUploads: 2 });
    expect(result.aborted.length).toBe(3);
    expect(result.failed).toEqual([]);
    expect(await openUploads('output', 'cleanup/')).toEqual([]);
    expect((await openUploads('output', 'elsewhere/')).length).toBe(1);
  });

  test('a small first part held for PutObject is dropped when a full-size part 1 replaces it', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/replaced' });
    const handle = await sink.begin('r.parquet');
    await sink.uploadPart(handle, 1, new Uint8Array(10).fill(1));
    const first = await sink.uploadPart(handle, 1, new Uint8Array(s3PartBytesMin).fill(2));
    await sink.complete(handle, [first]);
    const stored = await readObject('output', 'replaced/r.parquet');
    expect(stored?.length).toBe(s3PartBytesMin);
    expect(stored?.[0]).toBe(2);
  });

  test('a missing bucket is a classified failure, not a bare error', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://no-such-bucket/x' });
    const error = await sink.begin('y.parquet').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure.fault).toBe('input');
  });
});
