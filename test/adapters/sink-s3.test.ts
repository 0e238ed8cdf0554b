/**
 * Proves the S3 sink against s3rver on loopback: the Sink contract; a 60 MiB multipart
 * upload in 5 MiB parts read back byte-identical; an aborted upload leaves no object and no
 * open upload; the cleanup function lists (paginated) and aborts incomplete uploads under
 * the output prefix only, keeping those begun after its cut-off; and, counted by a proxy in
 * front of s3rver, the requests an object costs: one PutObject for an object of one small
 * part, a multipart upload only when the caller starts one (the core's `startUpload`), and
 * nothing at all for an upload aborted before then. (s3rver lacks
 * ListMultipartUploads and AbortMultipartUpload; test/support/s3rver-main.mjs adds them.)
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import type { PartReceipt } from '../../core/sink.ts';
import { createS3Client } from '../../adapters/aws/aws-clients.ts';
import { abortIncompleteUploads } from '../../adapters/sink/multipart-cleanup.ts';
import { S3Sink, multipartEtag, s3PartBytesMin } from '../../adapters/sink/s3-sink.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
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
    await sink.start(handle);
    const whole = createHash('sha256');
    const receipts: PartReceipt[] = [];
    // Parts of distinct content, uploaded two at a time as the core would.
    for (let number = 1; number <= 12; number += 2) {
      const pair = [number, number + 1].map((partNumber) => new Uint8Array(s3PartBytesMin).fill(partNumber * 7));
      pair.forEach((part) => whole.update(part));
      receipts.push(...(await Promise.all(pair.map((part, index) => sink.uploadPart(handle, number + index, [part])))));
    }
    await sink.complete(handle, receipts);
    const stored = await readObject('output', 'big/crawl=x/subset=y/big.parquet');
    expect(stored?.length).toBe(12 * s3PartBytesMin);
    expect(
      createHash('sha256')
        .update(stored as Uint8Array)
        .digest('hex'),
    ).toBe(whole.digest('hex'));
  });

  test('a completion whose answer was lost is done when retried, and an aborted upload is not', async () => {
    // The store completes the upload, then the answer is lost: the retry meets NoSuchUpload.
    let dropped = 0;
    const losing = new Proxy(server.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: Parameters<S3Client['send']>[0], options?: object) => {
          const answer = await target.send(command as never, options as never);
          if (command instanceof CompleteMultipartUploadCommand && dropped++ === 0) {
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          }
          return answer;
        };
      },
    });
    const sink = new S3Sink({ client: losing, output: 's3://output/lost-answer' });
    const handle = await sink.begin('l.parquet');
    await sink.start(handle);
    const parts = [new Uint8Array(s3PartBytesMin).fill(3), new Uint8Array(100).fill(4)];
    const receipts = await Promise.all(parts.map((part, index) => sink.uploadPart(handle, index + 1, [part])));
    await expect(sink.complete(handle, receipts)).rejects.toMatchObject({ failure: { retryable: true } });
    await sink.complete(handle, receipts);
    expect((await readObject('output', 'lost-answer/l.parquet'))?.length).toBe(s3PartBytesMin + 100);

    const other = new S3Sink({ client: server.client, output: 's3://output/lost-answer' });
    const aborted = await other.begin('a.parquet');
    await other.start(aborted);
    const abortedReceipts = await Promise.all(parts.map((part, index) => other.uploadPart(aborted, index + 1, [part])));
    await abortIncompleteUploads({ client: server.client, output: 's3://output/lost-answer/' });
    await expect(other.complete(aborted, abortedReceipts)).rejects.toBeInstanceOf(FailureError);
    expect(await readObject('output', 'lost-answer/a.parquet')).toBeNull();
  });

  test('a lost completion whose check of the object is throttled is retried, not failed for good', async () => {
    // The answer to the completion is lost, then the HEAD that would check the object is throttled once.
    const faults = { completes: 0, heads: 0 };
    const flaky = new Proxy(server.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: Parameters<S3Client['send']>[0], options?: object) => {
          if (command instanceof HeadObjectCommand && faults.heads++ === 0) {
            throw Object.assign(new Error('Please reduce your request rate.'), {
              name: 'SlowDown',
              $metadata: { httpStatusCode: 503 },
            });
          }
          const answer = await target.send(command as never, options as never);
          if (command instanceof CompleteMultipartUploadCommand && faults.completes++ === 0) {
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          }
          return answer;
        };
      },
    });
    const sink = new S3Sink({ client: flaky, output: 's3://output/lost-then-throttled' });
    const handle = await sink.begin('t.parquet');
    await sink.start(handle);
    const parts = [new Uint8Array(s3PartBytesMin).fill(5), new Uint8Array(10).fill(6)];
    const receipts = await Promise.all(parts.map((part, index) => sink.uploadPart(handle, index + 1, [part])));
    await expect(sink.complete(handle, receipts)).rejects.toMatchObject({ failure: { retryable: true } });
    await expect(sink.complete(handle, receipts)).rejects.toMatchObject({
      failure: { fault: 'remote', throttled: true },
    });
    await sink.complete(handle, receipts);
    expect((await readObject('output', 'lost-then-throttled/t.parquet'))?.length).toBe(s3PartBytesMin + 10);
  });

  test('an object put whole after its multipart upload began: a failed abort is left to cleanup, a bug is not', async () => {
    const abortFault = { error: null as Error | null };
    const failingAbort = new Proxy(server.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: Parameters<S3Client['send']>[0], options?: object) => {
          if (command instanceof AbortMultipartUploadCommand && abortFault.error !== null) throw abortFault.error;
          return target.send(command as never, options as never);
        };
      },
    });
    const sink = new S3Sink({ client: failingAbort, output: 's3://output/put-after-multipart' });
    const putAfterMultipart = async (key: string) => {
      const handle = await sink.begin(key);
      const first = await sink.uploadPart(handle, 1, [new Uint8Array(10).fill(7)]);
      await sink.start(handle);
      await sink.uploadPart(handle, 2, [new Uint8Array(10).fill(8)]);
      return sink.complete(handle, [first]);
    };
    abortFault.error = Object.assign(new Error('We encountered an internal error.'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    await putAfterMultipart('remote.parquet');
    expect((await readObject('output', 'put-after-multipart/remote.parquet'))?.length).toBe(10);
    abortFault.error = new TypeError("Cannot read properties of undefined (reading 'UploadId')");
    await expect(putAfterMultipart('bug.parquet')).rejects.toMatchObject({ failure: { fault: 'ours' } });
    abortFault.error = null;
    await abortIncompleteUploads({ client: server.client, output: 's3://output/put-after-multipart/' });
  });

  test("S3's multipart ETag is the MD5 of the parts' MD5s and their count", () => {
    const parts = ['alpha', 'beta'].map((text) => createHash('md5').update(text).digest());
    const expected = `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-2`;
    const receipts = parts.map((digest, index) => ({ partNumber: index + 1, etag: `"${digest.toString('hex')}"` }));
    expect(multipartEtag(receipts)).toBe(expected);
    expect(multipartEtag([{ partNumber: 1, etag: 'not-an-md5' }])).toBeNull();
  });

  test('an aborted upload leaves no object and no open upload', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/aborted/' });
    const handle = await sink.begin('gone.parquet');
    await sink.start(handle);
    await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin)]);
    await sink.abort(handle);
    expect(await readObject('output', 'aborted/gone.parquet')).toBeNull();
    expect(await openUploads('output', 'aborted/')).toEqual([]);
  });

  test('cleanup aborts incomplete uploads under the prefix, page by page, and keeps newer ones', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/cleanup/' });
    const other = new S3Sink({ client: server.client, output: 's3://output/elsewhere/' });
    const startedWithPart = async (into: S3Sink, key: string) => {
      const handle = await into.begin(key);
      await into.start(handle);
      await into.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin)]);
    };
    for (const name of ['a', 'b', 'c']) await startedWithPart(sink, `${name}.parquet`);
    await startedWithPart(other, 'kept.parquet');
    const dry = await abortIncompleteUploads({
      client: server.client,
      output: 's3://output/cleanup/',
      dryRun: true,
      pageUploads: 2,
    });
    expect(dry.aborted.map((upload) => upload.key)).toEqual([
      'cleanup/a.parquet',
      'cleanup/b.parquet',
      'cleanup/c.parquet',
    ]);
    const early = await abortIncompleteUploads({
      client: server.client,
      output: 's3://output/cleanup/',
      initiatedBeforeMs: Date.now() - 3_600_000,
    });
    expect(early).toMatchObject({ aborted: [], kept: 3 });
    const result = await abortIncompleteUploads({
      client: server.client,
      output: 's3://output/cleanup/',
      pageUploads: 2,
    });
    expect(result.aborted.length).toBe(3);
    expect(result.failed).toEqual([]);
    expect(await openUploads('output', 'cleanup/')).toEqual([]);
    expect((await openUploads('output', 'elsewhere/')).length).toBe(1);
  });

  test('a small first part held for PutObject is dropped when part 1 is sent again once the upload started', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://output/replaced' });
    const handle = await sink.begin('r.parquet');
    await sink.uploadPart(handle, 1, [new Uint8Array(10).fill(1)]);
    await sink.start(handle);
    const first = await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin).fill(2)]);
    await sink.complete(handle, [first]);
    const stored = await readObject('output', 'replaced/r.parquet');
    expect(stored?.length).toBe(s3PartBytesMin);
    expect(stored?.[0]).toBe(2);
  });

  test('a missing bucket is a classified failure, not a bare error, whether the object is put or uploaded in parts', async () => {
    const sink = new S3Sink({ client: server.client, output: 's3://no-such-bucket/x' });
    const small = await sink.begin('small.parquet');
    const put = await sink
      .complete(small, [await sink.uploadPart(small, 1, [new Uint8Array(10)])])
      .catch((caught: unknown) => caught);
    const big = await sink.begin('big.parquet');
    const start = await sink.start(big).catch((caught: unknown) => caught);
    for (const error of [put, start]) {
      expect(error).toBeInstanceOf(FailureError);
      expect((error as FailureError).failure.fault).toBe('input');
    }
  });
});

/** What an S3 request asks for, told from its method and query as S3's REST API does. */
function requestKind(method: string, path: string): string {
  const query = new URL(path, 'http://proxy').searchParams;
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'PUT' && query.has('uploadId')) return 'UploadPart';
  if (method === 'PUT') return 'PutObject';
  if (method === 'DELETE' && query.has('uploadId')) return 'AbortMultipartUpload';
  return `${method} ${path}`;
}

describe('S3 sink requests, counted by a proxy in front of s3rver', () => {
  let proxy: FaultProxy;
  let sink: S3Sink;
  const sent = (): string[] => proxy.requests.map((request) => requestKind(request.method, request.path));

  beforeAll(async () => {
    proxy = await startFaultProxy(server.endpoint);
    const client = createS3Client({
      endpoint: proxy.origin,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: s3rverCredentials,
    });
    sink = new S3Sink({ client, output: 's3://output/counted' });
  });
  afterAll(async () => proxy?.stop());

  /** Runs `steps` and returns the requests they sent, in order. */
  async function requestsOf(steps: () => Promise<void>): Promise<string[]> {
    const before = proxy.requests.length;
    await steps();
    return sent().slice(before);
  }

  test('an object of one part under 5 MiB is one PutObject: no multipart upload begun, none aborted', async () => {
    const bytes = new Uint8Array(s3PartBytesMin - 1).fill(3);
    const requests = await requestsOf(async () => {
      const handle = await sink.begin('small.parquet');
      await sink.complete(handle, [await sink.uploadPart(handle, 1, [bytes])]);
    });
    expect(requests).toEqual(['PutObject']);
    expect((await readObject('output', 'counted/small.parquet'))?.length).toBe(bytes.length);
    expect(await openUploads('output', 'counted/')).toEqual([]);
  });

  test('a started upload is one CreateMultipartUpload, its parts and a completion, with no abort', async () => {
    const requests = await requestsOf(async () => {
      const handle = await sink.begin('big.parquet');
      await sink.start(handle);
      const first = await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin).fill(1)]);
      const second = await sink.uploadPart(handle, 2, [new Uint8Array(10).fill(2)]);
      await sink.complete(handle, [first, second]);
    });
    expect(requests).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
    expect((await readObject('output', 'counted/big.parquet'))?.length).toBe(s3PartBytesMin + 10);
  });

  test('parts sent at once after one start go into its one multipart upload', async () => {
    const requests = await requestsOf(async () => {
      const handle = await sink.begin('parallel.parquet');
      await sink.start(handle);
      const receipts = await Promise.all(
        [3, 2].map((number) => sink.uploadPart(handle, number, [new Uint8Array(s3PartBytesMin).fill(number)])),
      );
      receipts.push(await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin).fill(1)]));
      await sink.complete(handle, receipts);
    });
    expect(requests.filter((kind) => kind === 'CreateMultipartUpload')).toHaveLength(1);
    expect(requests[0]).toBe('CreateMultipartUpload');
    expect(requests.filter((kind) => kind === 'UploadPart')).toHaveLength(3);
    expect(requests.at(-1)).toBe('CompleteMultipartUpload');
    expect(requests).not.toContain('AbortMultipartUpload');
    expect((await readObject('output', 'counted/parallel.parquet'))?.length).toBe(3 * s3PartBytesMin);
  });

  test('an upload aborted before a multipart upload was needed sends nothing, and nothing is left', async () => {
    const requests = await requestsOf(async () => {
      const empty = await sink.begin('never-a-part.parquet');
      await sink.abort(empty);
      await sink.abort(empty);
      const held = await sink.begin('held-part.parquet');
      await sink.uploadPart(held, 1, [new Uint8Array(1_000)]);
      await sink.abort(held);
    });
    expect(requests).toEqual([]);
    expect(await readObject('output', 'counted/held-part.parquet')).toBeNull();
    expect(await openUploads('output', 'counted/')).toEqual([]);
  });

  test('an upload aborted after its multipart upload began aborts it once', async () => {
    const requests = await requestsOf(async () => {
      const handle = await sink.begin('aborted.parquet');
      await sink.start(handle);
      await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin)]);
      await sink.abort(handle);
      await sink.abort(handle);
    });
    expect(requests).toEqual(['CreateMultipartUpload', 'UploadPart', 'AbortMultipartUpload']);
    expect(await openUploads('output', 'counted/')).toEqual([]);
  });

  test('a refused CreateMultipartUpload fails the start as throttled, and the start made again creates the upload', async () => {
    const handle = await sink.begin('refused.parquet');
    proxy.startBurst();
    const refused = await sink.start(handle).catch((error: unknown) => error);
    proxy.endBurst();
    expect(refused).toBeInstanceOf(FailureError);
    expect((refused as FailureError).failure.throttled).toBe(true);
    const requests = await requestsOf(async () => {
      await sink.start(handle);
      const receipt = await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin).fill(9)]);
      await sink.complete(handle, [receipt]);
    });
    expect(requests).toEqual(['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']);
    expect((await readObject('output', 'counted/refused.parquet'))?.[0]).toBe(9);
  });

  test('a second part before the upload was started is our bug, refused before any request', async () => {
    const requests = await requestsOf(async () => {
      const handle = await sink.begin('unstarted.parquet');
      await sink.uploadPart(handle, 1, [new Uint8Array(s3PartBytesMin)]);
      const refused = await sink.uploadPart(handle, 2, [new Uint8Array(10)]).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(FailureError);
      expect((refused as FailureError).failure).toMatchObject({ fault: 'ours', retryable: false });
      await sink.abort(handle);
    });
    expect(requests).toEqual([]);
  });
});
