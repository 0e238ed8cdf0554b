/**
 * Size lookups (one HEAD per file of a manifest, when a worker claims it, outside the core's
 * retries) ride out throttling like listings do: a 503 on a HEAD is retried with backoff,
 * over HTTP and over S3, instead of failing the job at once. A missing file still fails at
 * once, unretried.
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { S3Source } from '../../adapters/source/s3-source.ts';
import { commonCrawlTree, startCommonCrawlHttpServer, type CommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';

const listingRetry = { attemptsMax: 4, firstDelayMs: 5 };

describe('size lookups under throttling', () => {
  const tree = commonCrawlTree();
  const path = [...tree.keys()].find((name) => name.endsWith('.warc.gz'))!;
  let server: CommonCrawlHttpServer;

  beforeAll(async () => {
    server = await startCommonCrawlHttpServer(tree);
  });
  afterAll(async () => server.stop());
  beforeEach(() => {
    server.faults.failNext = null;
    server.requests.length = 0;
  });

  test('over HTTP: HEADs answered 503 are retried until one answers', async () => {
    const source = new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100 }), listingRetry });
    server.faults.failNext = { status: 503, count: 2 };
    expect(await source.sizeOf(inputRefFor(`${server.baseUrl}${path}`, path))).toBe(tree.get(path)!.length);
    expect(server.requests.filter((request) => request.method === 'HEAD')).toHaveLength(3);
  });

  test('over HTTP: a missing file fails at once, as the input\'s fault', async () => {
    const source = new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100 }), listingRetry });
    const error = await source.sizeOf(inputRefFor(`${server.baseUrl}crawl-data/none.warc.gz`, 'crawl-data/none.warc.gz')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure).toMatchObject({ fault: 'input', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  test('over S3: a HEAD answered SlowDown is retried until one answers', async () => {
    let heads = 0;
    const client = {
      send: async (command: unknown) => {
        expect(command).toBeInstanceOf(HeadObjectCommand);
        heads += 1;
        if (heads <= 2) throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
        return { ContentLength: 1234 };
      },
    } as unknown as S3Client;
    const source = new S3Source({ client, listingRetry });
    expect(await source.sizeOf(inputRefFor('s3://bucket/a.warc.gz', 'a.warc.gz'))).toBe(1234);
    expect(heads).toBe(3);
  });
});
