/**
 * A size lookup is one request, classified: a 503 on a HEAD (HTTP) or a SlowDown (S3) comes
 * back as a throttled failure of the remote after a single request, for the claiming worker
 * to retry by the core's rules (test/cmd/claim-sizing.test.ts); a missing file is the input's
 * fault. A source that retried too would multiply the worker's retries.
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { S3Source } from '../../adapters/source/s3-source.ts';
import {
  commonCrawlTree,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
} from '../support/commoncrawl-http-server.ts';

describe('one size lookup', () => {
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

  test('over HTTP: a HEAD answered 503 is one throttled failure of the remote, then the next answers', async () => {
    const source = new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100 }) });
    server.faults.failNext = { status: 503, count: 1 };
    const input = inputRefFor(`${server.baseUrl}${path}`, path);
    const error = await source.sizeOf(input).catch((caught: unknown) => caught);
    expect((error as FailureError).failure).toMatchObject({
      fault: 'remote',
      throttled: true,
      reason: expect.stringMatching(/^HEAD /),
    });
    expect(server.requests).toHaveLength(1);
    expect(await source.sizeOf(input)).toBe(tree.get(path)!.length);
  });

  test("over HTTP: a missing file fails at once, as the input's fault", async () => {
    const source = new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100 }) });
    const error = await source
      .sizeOf(inputRefFor(`${server.baseUrl}crawl-data/none.warc.gz`, 'crawl-data/none.warc.gz'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure).toMatchObject({ fault: 'input', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  test('over S3: a HEAD answered SlowDown is one throttled failure of the remote', async () => {
    let heads = 0;
    const client = {
      send: async (command: unknown) => {
        expect(command).toBeInstanceOf(HeadObjectCommand);
        heads += 1;
        if (heads === 1)
          throw Object.assign(new Error('Please reduce your request rate.'), {
            name: 'SlowDown',
            $metadata: { httpStatusCode: 503 },
          });
        return { ContentLength: 1234 };
      },
    } as unknown as S3Client;
    const source = new S3Source({ client });
    const input = inputRefFor('s3://bucket/a.warc.gz', 'a.warc.gz');
    const error = await source.sizeOf(input).catch((caught: unknown) => caught);
    expect((error as FailureError).failure).toMatchObject({ fault: 'remote', throttled: true });
    expect(heads).toBe(1);
    expect(await source.sizeOf(input)).toBe(1234);
  });
});
