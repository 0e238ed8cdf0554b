/**
 * Sizing claimed jobs end to end: the node runtime with its real adapters (the HTTP source,
 * the WARC decoder, the Parquet encoder, a local folder sink, the embedded ledger) against a
 * loopback CommonCrawl-like server, on inputs enqueued without a size as a `warc.paths`
 * manifest gives them. The core sizes each with a `sizeInput` task (a HEAD through the
 * source): a throttled HEAD is retried by the core's rules for a chunk fetch, spaced by its
 * backoff, bounded by its attempt limits and counted as a throttle of the source; a missing
 * file fails at once; shutdown stops the retries and hands the job back. Against s3rver, with
 * the S3 source and sink: throttled HEADs and CreateMultipartUploads (the core's `startUpload`)
 * are retried by the core and counted as throttles, and the object is written once. The same
 * rules at the core's level, on virtual time: test/core/core-tasks.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { withLimits, type WorkerLimits } from '../../core/limits.ts';
import type { Sink } from '../../core/sink.ts';
import type { Source } from '../../core/source.ts';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { LocalFolderSink } from '../../adapters/sink/local-folder-sink.ts';
import { S3Sink } from '../../adapters/sink/s3-sink.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { S3Source } from '../../adapters/source/s3-source.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { InProcessCpu } from '../../cmd/worker/cpu-stages.ts';
import { NodeRuntime, type RunOutcome } from '../../cmd/worker/node-runtime.ts';
import { outputKeyOf } from '../../cmd/worker/wiring.ts';
import {
  commonCrawlTree,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
} from '../support/commoncrawl-http-server.ts';
import { startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';

/** Retries 20–200 ms apart, six throttles at most: the rules of a chunk fetch, made quick. */
const limits = withLimits({
  retryBaseMs: 40,
  retryCapMs: 200,
  throttledAttemptsMax: 6,
  taskAttemptsMax: 3,
  claimIdleMs: 50,
  metricsIntervalMs: 3_600_000,
  stageWorkersMax: { decode: 1, encode: 1 },
  cpuSlotsMax: 1,
});
const tree = commonCrawlTree();
const path = [...tree.keys()].find((name) => name.endsWith('.warc.gz')) as string;
const workFolder = mkdtempSync(join(tmpdir(), 'claim-sizing-'));
let server: CommonCrawlHttpServer;
let runs = 0;

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

interface Worker {
  readonly runtime: NodeRuntime;
  readonly ledger: EmbeddedLedger;
  readonly runId: string;
}

/** A worker over a fresh run holding `inputs`; a ledger that fails a job for good at its first failure. */
async function workerFor(
  inputs: readonly InputRef[],
  source: Source,
  workerLimits: WorkerLimits = limits,
  sink?: Sink,
): Promise<Worker> {
  runs += 1;
  const runId = `sizing-${runs}`;
  const ledger = await EmbeddedLedger.open({
    directory: join(workFolder, runId, 'ledger'),
    outputKeyOf,
    attemptsMax: 1,
  });
  await ledger.enqueue(runId, inputs);
  const runtime = new NodeRuntime(
    {
      source,
      cpu: new InProcessCpu(new WarcDecoder(), createParquetEncoder()),
      sink: sink ?? new LocalFolderSink({ root: join(workFolder, runId, 'output') }),
      ledger,
      emitMetrics: async () => undefined,
    },
    { runId, workerId: 'worker-a', limits: workerLimits, logger: { log: () => undefined } },
  );
  return { runtime, ledger, runId };
}

/** Runs a worker to its end, bounded: a hang is a failure, not a stuck suite. */
async function runToEnd(worker: Worker): Promise<RunOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the worker did not finish within 20 s')), 20_000);
  });
  try {
    return await Promise.race([worker.runtime.run(), timeout]);
  } finally {
    clearTimeout(timer);
    await worker.ledger.close();
  }
}

/** An input as a manifest lists it: a path, no size. */
function unsized(file: string): InputRef {
  const { sizeBytes: _none, ...input } = inputRefFor(`${server.baseUrl}${file}`, file, tree.get(file)?.length);
  return input;
}

const heads = () => server.requests.filter((request) => request.method === 'HEAD');

beforeAll(async () => {
  server = await startCommonCrawlHttpServer(tree);
});
afterAll(async () => {
  await server.stop();
  rmSync(workFolder, { recursive: true, force: true });
});
beforeEach(() => {
  server.faults.failNext = null;
  server.requests.length = 0;
});

describe('sizing claimed jobs, end to end', () => {
  test('retries HEADs answered 503, spaced by the core backoff and counted as throttles, then exports the file', async () => {
    const { source, lookupsAtMs } = timedSource();
    server.faults.failNext = { status: 503, count: 3 };
    const worker = await workerFor([unsized(path)], source);
    const outcome = await runToEnd(worker);
    expect(outcome.ended.map((ended) => ended.outcome)).toEqual(['committed']);
    expect(outcome.ended[0]?.summary.inputBytes).toBe(tree.get(path)?.length);
    expect(heads()).toHaveLength(4);
    // Equal jitter waits at least half of each window: 20, 40, 80 ms.
    const gaps = lookupsAtMs.slice(1).map((atMs, index) => atMs - (lookupsAtMs[index] ?? 0));
    gaps.forEach((gap, index) => expect(gap).toBeGreaterThanOrEqual((limits.retryBaseMs * 2 ** index) / 2 - 1));
    // Each refused HEAD reached the core as one throttled failure, which cut the source's limit.
    expect(worker.runtime.counters().throttles).toBe(3);
  });

  test('gives up after the throttle limit of a chunk fetch, with the throttled failure', async () => {
    const { source } = timedSource();
    server.faults.failNext = { status: 503, count: 1_000 };
    const outcome = await runToEnd(await workerFor([unsized(path)], source));
    expect(outcome.ended.map((ended) => ended.outcome)).toEqual(['failed']);
    expect(outcome.ended[0]?.failure).toMatchObject({
      fault: 'remote',
      throttled: true,
      reason: expect.stringMatching(/^sizing the input failed: HEAD .* answered HTTP 503/),
    });
    expect(server.requests).toHaveLength(limits.throttledAttemptsMax);
  });

  test("fails a missing file at once, as the input's fault", async () => {
    const { source } = timedSource();
    const missing = unsized('crawl-data/none.warc.gz');
    const outcome = await runToEnd(await workerFor([missing], source));
    expect(outcome.ended[0]?.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  test('stops at once on shutdown: the job goes back to the ledger, uncharged', async () => {
    const { source } = timedSource();
    server.faults.failNext = { status: 503, count: 1_000 };
    const slow = withLimits({ ...limits, retryBaseMs: 10_000, retryCapMs: 10_000 });
    const worker = await workerFor([unsized(path)], source, slow);
    setTimeout(() => worker.runtime.requestShutdown(), 100);
    const startedAtMs = performance.now();
    const outcome = await runToEnd(worker);
    expect(performance.now() - startedAtMs).toBeLessThan(2_000);
    expect(outcome.ended.map((ended) => ended.outcome)).toEqual(['released']);
    expect(heads()).toHaveLength(1);
  });

  test('asks nothing for jobs the ledger has a size for', async () => {
    const { source } = timedSource();
    const sized = inputRefFor(`${server.baseUrl}${path}`, path, tree.get(path)?.length);
    const outcome = await runToEnd(await workerFor([sized], source));
    expect(outcome.ended.map((ended) => ended.outcome)).toEqual(['committed']);
    expect(heads()).toHaveLength(0);
  });
});

describe('sizing and starting uploads against s3rver', () => {
  let s3: RunningS3rver;
  const key = 'crawl/x.warc.gz';
  const warc = tree.get(path) as Uint8Array;

  beforeAll(async () => {
    s3 = await startS3rver(['warcs', 'out']);
    await s3.client.send(new PutObjectCommand({ Bucket: 'warcs', Key: key, Body: warc, ContentLength: warc.length }));
  });
  afterAll(async () => s3?.stop());

  /** s3rver's client, refusing the first `refusals` HEADs and CreateMultipartUploads with 503 SlowDown; records what it sent. */
  function throttlingClient(refusals: number): { client: S3Client; sent: string[] } {
    const sent: string[] = [];
    const left = new Map<new (...args: never[]) => object, number>([
      [HeadObjectCommand, refusals],
      [CreateMultipartUploadCommand, refusals],
    ]);
    const client = new Proxy(s3.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: Parameters<S3Client['send']>[0], options?: object) => {
          sent.push(command.constructor.name);
          for (const [kind, count] of left) {
            if (!(command instanceof kind) || count === 0) continue;
            left.set(kind, count - 1);
            throw Object.assign(new Error('Please reduce your request rate.'), {
              name: 'SlowDown',
              $metadata: { httpStatusCode: 503 },
            });
          }
          return target.send(command as never, options as never);
        };
      },
    });
    return { client, sent };
  }

  test('throttled HEADs and upload starts are retried by the core, counted as throttles, and the object is written once', async () => {
    const { client, sent } = throttlingClient(2);
    const { sizeBytes: _none, ...input } = inputRefFor(`s3://warcs/${key}`, key, warc.length);
    // A part minimum under the object's size: its one part goes into a multipart upload the core starts.
    const starting = withLimits({ ...limits, partBytesMin: 1_024 });
    const sink = new S3Sink({ client, output: 's3://out/run' });
    const worker = await workerFor([input], new S3Source({ client }), starting, sink);
    const outcome = await runToEnd(worker);
    expect(outcome.ended.map((ended) => ended.outcome)).toEqual(['committed']);
    expect(worker.runtime.counters().throttles).toBe(4);
    const count = (name: string) => sent.filter((sentName) => sentName === name).length;
    expect(count('HeadObjectCommand')).toBe(3);
    expect(count('CreateMultipartUploadCommand')).toBe(3);
    expect(count('UploadPartCommand')).toBe(1);
    expect(count('CompleteMultipartUploadCommand')).toBe(1);
    expect(count('PutObjectCommand')).toBe(0);
    expect(sent.indexOf('UploadPartCommand')).toBeGreaterThan(sent.lastIndexOf('CreateMultipartUploadCommand'));
    const written = await s3.client.send(new GetObjectCommand({ Bucket: 'out', Key: `run/${outputKeyOf(input)}` }));
    expect(written.ContentLength).toBe(outcome.ended[0]?.summary.outputBytes);
  });
});
