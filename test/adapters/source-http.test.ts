/**
 * Proves the CommonCrawl/HTTP source against a loopback server serving a CommonCrawl-like
 * tree: the Source contract through `cc:CC-MAIN-2024-22`; its own User-Agent and a bounded
 * request rate; 503 and 429 reported as throttling (not retried here: the core backs off);
 * a connection dropped mid-body retried at once; a stalled answer timed out as a retryable
 * remote fault; a server ignoring Range sliced right, within its bound; a wrong
 * Content-Range refused. Never wrong bytes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { AnySource, commonCrawlManifest } from '../../adapters/source/any-source.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { PoliteHttpClient, type PoliteHttpClientOptions } from '../../adapters/source/polite-http-client.ts';
import {
  commonCrawlTree,
  sampleCrawl,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
} from '../support/commoncrawl-http-server.ts';
import { sourceContract } from './source-contract.ts';

const tree = commonCrawlTree();
const warcPaths = [...tree.keys()].filter((path) => path.endsWith('.warc.gz'));

sourceContract('CommonCrawl over HTTP (cc: crawl id)', async () => {
  const server = await startCommonCrawlHttpServer(tree);
  return {
    // The default rate (20 a second) is for CommonCrawl; a loopback server takes more.
    source: new AnySource({
      commonCrawlBase: server.baseUrl,
      http: new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: 2000, burst: 200 }) }),
    }),
    spec: `cc:${sampleCrawl}`,
    expected: warcPaths.map((path) => ({ filename: path, bytes: tree.get(path) as Uint8Array })),
    missing: inputRefFor(`${server.baseUrl}crawl-data/nothing.warc.gz`, 'crawl-data/nothing.warc.gz'),
    teardown: () => server.stop(),
  };
});

describe('polite HTTP source under faults', () => {
  let server: CommonCrawlHttpServer;
  const path = warcPaths[1] as string;
  const bytes = tree.get(path) as Uint8Array;
  let input: InputRef;

  function source(options: PoliteHttpClientOptions = {}): HttpSource {
    return new HttpSource({
      client: new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100, ...options }),
      listingRetry: { attemptsMax: 3, firstDelayMs: 10 },
    });
  }

  async function failureOf(promise: Promise<unknown>): Promise<FailureError> {
    const error = await promise.then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FailureError);
    return error as FailureError;
  }

  beforeAll(async () => {
    server = await startCommonCrawlHttpServer(tree);
    input = inputRefFor(`${server.baseUrl}${path}`, path);
  });
  afterAll(async () => server.stop());
  beforeEach(() => {
    Object.assign(server.faults, {
      failNext: null,
      delayMs: 0,
      dropNext: 0,
      stallNext: 0,
      ignoreRange: false,
      shiftRange: false,
      refuseHead: false,
    });
    server.requests.length = 0;
  });

  test('sends its own User-Agent and an exact Range', async () => {
    await source().read(input, { offsetBytes: 100, lengthBytes: 50 });
    expect(server.requests[0]?.userAgent).toMatch(/^cc-chunks-worker\/\d+\.\d+\.\d+/);
    expect(server.requests[0]?.range).toBe('bytes=100-149');
  });

  test('503 and 429 are throttling, thrown once to the core without a retry loop', async () => {
    server.faults.failNext = { status: 503, count: 1, retryAfter: '2' };
    const slowDown = await failureOf(source().read(input, { offsetBytes: 0, lengthBytes: 10 }));
    expect(slowDown.failure).toMatchObject({ fault: 'remote', throttled: true, retryable: true });
    expect(slowDown.message).toContain('Retry-After: 2');
    server.faults.failNext = { status: 429, count: 1 };
    expect((await failureOf(source().read(input, { offsetBytes: 0, lengthBytes: 10 }))).failure.throttled).toBe(true);
    expect(server.requests.length).toBe(2);
    expect(await source().read(input, { offsetBytes: 0, lengthBytes: 10 })).toEqual(bytes.subarray(0, 10));
  });

  test('a connection dropped mid-body is retried at once and the bytes are right', async () => {
    server.faults.dropNext = 1;
    expect(await source().read(input, { offsetBytes: 1000, lengthBytes: 60_000 })).toEqual(
      bytes.subarray(1000, 61_000),
    );
    expect(server.requests.length).toBe(2);
  });

  test('connections dropped past the attempt bound are a retryable remote fault', async () => {
    server.faults.dropNext = 3;
    const dropped = await failureOf(
      source({ connectionAttempts: 2 }).read(input, { offsetBytes: 0, lengthBytes: 60_000 }),
    );
    expect(dropped.failure).toMatchObject({ fault: 'remote', retryable: true, throttled: false });
    expect(server.requests.length).toBe(2);
  });

  test('a slow answer times out as a retryable remote fault', async () => {
    server.faults.delayMs = 1_000;
    const slow = await failureOf(source({ headersTimeoutMs: 150 }).read(input, { offsetBytes: 0, lengthBytes: 10 }));
    expect(slow.failure).toMatchObject({ fault: 'remote', retryable: true });
    expect(slow.message).toMatch(/timed out/);
  });

  test('a body that stalls halfway times out as a retryable remote fault', async () => {
    server.faults.stallNext = 1;
    const stalled = await failureOf(
      source({ idleTimeoutMs: 200 }).read(input, { offsetBytes: 0, lengthBytes: 60_000 }),
    );
    expect(stalled.failure).toMatchObject({ fault: 'remote', retryable: true, throttled: false });
    expect(stalled.message).toMatch(/timed out/);
  });

  test('a server that ignores Range is sliced to the asked bytes, within the skip bound', async () => {
    server.faults.ignoreRange = true;
    expect(await source().read(input, { offsetBytes: 5_000, lengthBytes: 3_000 })).toEqual(
      bytes.subarray(5_000, 8_000),
    );
    expect(await source().read(input, { offsetBytes: bytes.length - 5, lengthBytes: 3_000 })).toEqual(
      bytes.subarray(bytes.length - 5),
    );
    const tooFar = await failureOf(
      source({ ignoredRangeSkipBytesMax: 1_000 }).read(input, { offsetBytes: 5_000, lengthBytes: 10 }),
    );
    expect(tooFar.failure).toMatchObject({ fault: 'remote', retryable: false });
  });

  test('a range is read into the memory given (a chunk’s reused memory), with Range honoured or not', async () => {
    const lengths: number[] = [];
    const memory = (lengthBytes: number): Uint8Array => {
      lengths.push(lengthBytes);
      return new Uint8Array(new SharedArrayBuffer(lengthBytes)).fill(0xff);
    };
    const asked = { offsetBytes: 5_000, lengthBytes: 3_000 };
    for (const ignoreRange of [false, true]) {
      server.faults.ignoreRange = ignoreRange;
      const read = await source().read(input, asked, undefined, memory);
      expect(read.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.from(read).equals(Buffer.from(bytes.subarray(5_000, 8_000)))).toBe(true);
    }
    const cut = await source().read(input, { offsetBytes: bytes.length - 5, lengthBytes: 3_000 }, undefined, memory);
    expect(cut.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(cut).equals(Buffer.from(bytes.subarray(bytes.length - 5)))).toBe(true);
    expect(lengths).toEqual([3_000, 3_000, 3_000]);
  });

  test('a Content-Range that does not start at the asked byte is refused, never returned', async () => {
    server.faults.shiftRange = true;
    const shifted = await failureOf(source().read(input, { offsetBytes: 10, lengthBytes: 100 }));
    expect(shifted.failure.fault).toBe('remote');
  });

  test('size comes from HEAD, or from a one-byte range when HEAD is refused', async () => {
    const plain = inputRefFor(input.uri, path);
    expect(await source().sizeOf(plain)).toBe(bytes.length);
    server.faults.refuseHead = true;
    expect(await source().sizeOf(plain)).toBe(bytes.length);
    expect(server.requests.at(-1)?.range).toBe('bytes=0-0');
  });

  test('a missing file is the input’s fault; a 500 is retryable', async () => {
    const missing = inputRefFor(`${server.baseUrl}crawl-data/none.warc.gz`, 'none.warc.gz');
    expect((await failureOf(source().sizeOf(missing))).failure).toMatchObject({ fault: 'input', retryable: false });
    server.faults.failNext = { status: 500, count: 1 };
    expect((await failureOf(source().read(input, { offsetBytes: 0, lengthBytes: 1 }))).failure).toMatchObject({
      fault: 'remote',
      retryable: true,
      throttled: false,
    });
  });

  test('the manifest listing rides out a 503 with bounded retries', async () => {
    server.faults.failNext = { status: 503, count: 2 };
    const inputs: InputRef[] = [];
    for await (const listed of source().list(commonCrawlManifest(`cc:${sampleCrawl}`, server.baseUrl)))
      inputs.push(listed);
    expect(inputs.map((listed) => listed.filename)).toEqual(warcPaths);
    expect(inputs[2]).toMatchObject({ crawl: sampleCrawl, subset: 'crawldiagnostics', segment: '1715971058000.10' });
  });

  test('the requests the core does not pace (manifest reads) stay within the token bucket', async () => {
    const limited = source({ requestsPerSecond: 20, burst: 1 });
    const manifest = commonCrawlManifest(`cc:${sampleCrawl}`, server.baseUrl);
    const listAll = async (): Promise<number> => {
      let count = 0;
      for await (const listed of limited.list(manifest)) count += listed.filename.length > 0 ? 1 : 0;
      return count;
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, listAll));
    // Six manifest reads with a burst of one at 20 a second: the last may start after 250 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });

  test('a crawl id that is not one is refused with what to write', () => {
    expect(() => commonCrawlManifest('cc:2024-22', 'https://data.commoncrawl.org/')).toThrow(/cc:CC-MAIN-2024-22/);
    expect(commonCrawlManifest('cc:CC-MAIN-2024-22', 's3://commoncrawl/')).toBe(
      's3://commoncrawl/crawl-data/CC-MAIN-2024-22/warc.paths.gz',
    );
  });
});
