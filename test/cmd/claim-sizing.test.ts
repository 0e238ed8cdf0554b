/**
 * Sizing a claim's jobs (cmd/worker/claim-sizing.ts), against a loopback CommonCrawl-like
 * server: a throttled HEAD is retried by the core's rules for a chunk fetch, spaced by its
 * backoff and bounded by its attempt limits; a missing file fails at once; retries stop
 * while the claim's lease is still trusted, and at once on shutdown (what the core then does
 * with such a job: test/core/unsized-claims.test.ts).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { withLimits } from '../../core/limits.ts';
import { seededRandom } from '../../core/seeded-random.ts';
import type { Source } from '../../core/source.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { sizeClaim, type ClaimSizingOptions } from '../../cmd/worker/claim-sizing.ts';
import {
  commonCrawlTree,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
} from '../support/commoncrawl-http-server.ts';

/** Retries 20–200 ms apart, six throttles at most: the rules of a chunk fetch, made quick. */
const limits = withLimits({ retryBaseMs: 40, retryCapMs: 200, throttledAttemptsMax: 6, taskAttemptsMax: 3 });
const tree = commonCrawlTree();
const path = [...tree.keys()].find((name) => name.endsWith('.warc.gz'))!;
let server: CommonCrawlHttpServer;

/** The HTTP source on the loopback server, with the time of every lookup it is asked for. */
function timedSource(): { source: Source; lookupsAtMs: number[] } {
  const http = new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100 }) });
  const lookupsAtMs: number[] = [];
  const source: Source = {
    list: (spec, signal) => http.list(spec, signal),
    read: (input, range, signal) => http.read(input, range, signal),
    sizeOf: (input, signal) => {
      lookupsAtMs.push(performance.now());
      return http.sizeOf(input, signal);
    },
  };
  return { source, lookupsAtMs };
}

function leased(input: InputRef, sizeBytes: number | null = null) {
  return { jobId: input.uri, input, sizeBytes, attempt: 1, outputKey: 'out.parquet' };
}

function options(source: Source, overrides: Partial<ClaimSizingOptions> = {}): ClaimSizingOptions {
  return {
    source,
    limits,
    random: seededRandom(7),
    nowMs: () => performance.now(),
    trustedUntilMs: performance.now() + 60_000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

const input = (): InputRef => inputRefFor(`${server.baseUrl}${path}`, path);

beforeAll(async () => {
  server = await startCommonCrawlHttpServer(tree);
});
afterAll(async () => server.stop());
beforeEach(() => {
  server.faults.failNext = null;
  server.requests.length = 0;
});

describe('sizing a claim', () => {
  test('retries HEADs answered 503, spaced by the core backoff, until one answers', async () => {
    const { source, lookupsAtMs } = timedSource();
    server.faults.failNext = { status: 503, count: 3 };
    const sized = await sizeClaim([leased(input())], options(source));
    expect(sized).toEqual({ jobs: [{ ...leased(input()), sizeBytes: tree.get(path)!.length }], unsized: [] });
    expect(server.requests.filter((request) => request.method === 'HEAD')).toHaveLength(4);
    // Equal jitter waits at least half of each window: 20, 40, 80 ms.
    const gaps = lookupsAtMs.slice(1).map((at, index) => at - lookupsAtMs[index]!);
    gaps.forEach((gap, index) => expect(gap).toBeGreaterThanOrEqual((limits.retryBaseMs * 2 ** index) / 2 - 1));
  });

  test('gives up after the throttle limit of a chunk fetch, with the throttled failure', async () => {
    const { source } = timedSource();
    server.faults.failNext = { status: 503, count: 1_000 };
    const sized = await sizeClaim([leased(input())], options(source));
    expect(sized.jobs).toEqual([]);
    expect(sized.unsized[0]?.failure).toMatchObject({
      fault: 'remote',
      throttled: true,
      reason: expect.stringMatching(/^HEAD .* answered HTTP 503/),
    });
    expect(server.requests).toHaveLength(limits.throttledAttemptsMax);
  });

  test("fails a missing file at once, as the input's fault", async () => {
    const { source } = timedSource();
    const missing = inputRefFor(`${server.baseUrl}crawl-data/none.warc.gz`, 'crawl-data/none.warc.gz');
    const sized = await sizeClaim([leased(missing)], options(source));
    expect(sized.unsized[0]?.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  test('starts no retry that would end after the lease stops being trusted', async () => {
    const { source, lookupsAtMs } = timedSource();
    server.faults.failNext = { status: 503, count: 1_000 };
    const slowLimits = withLimits({ retryBaseMs: 200, retryCapMs: 200, throttledAttemptsMax: 100 });
    const startedAtMs = performance.now();
    const trustedUntilMs = startedAtMs + 450;
    const sized = await sizeClaim([leased(input())], options(source, { limits: slowLimits, trustedUntilMs }));
    expect(sized.unsized[0]?.failure).toMatchObject({ throttled: true });
    expect(lookupsAtMs.length).toBeGreaterThanOrEqual(2);
    expect(lookupsAtMs.length).toBeLessThan(slowLimits.throttledAttemptsMax);
    expect(lookupsAtMs.at(-1)!).toBeLessThan(trustedUntilMs);
  });

  test("stops at once on shutdown, with a failure that is nobody's fault", async () => {
    const { source } = timedSource();
    server.faults.failNext = { status: 503, count: 1_000 };
    const shutdown = new AbortController();
    const slowLimits = withLimits({ retryBaseMs: 10_000, retryCapMs: 10_000 });
    setTimeout(() => shutdown.abort(), 100);
    const startedAtMs = performance.now();
    const sized = await sizeClaim([leased(input())], options(source, { limits: slowLimits, signal: shutdown.signal }));
    expect(performance.now() - startedAtMs).toBeLessThan(2_000);
    expect(sized.unsized[0]?.failure).toMatchObject({
      fault: 'ours',
      retryable: true,
      reason: expect.stringContaining('shutting down'),
    });
  });

  test("asks nothing for jobs the ledger has a size for, and keeps the ledger's order", async () => {
    const { source } = timedSource();
    const known = inputRefFor(`${server.baseUrl}known.warc.gz`, 'known.warc.gz');
    const sized = await sizeClaim([leased(known, 42), leased(input()), leased(known, 7)], options(source));
    expect(sized.jobs.map((job) => job.sizeBytes)).toEqual([42, tree.get(path)!.length, 7]);
    expect(server.requests).toHaveLength(1);
  });
});
