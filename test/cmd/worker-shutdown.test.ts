/**
 * Graceful shutdown of a real worker on a PostgreSQL ledger, exporting to s3rver (behind a
 * proxy that answers object writes late, so that uploads are open when the signal comes)
 * from a slow CommonCrawl-like HTTP server:
 *
 * 1. SIGTERM mid-upload, with one claimed input unreadable (503) until the worker is gone:
 *    the worker finishes what it can within the drain timeout, exits 0 by then (plus a
 *    margin), releases the job it could not finish, and leaves objects exactly for the jobs
 *    the ledger has done, each whole (rows against warcio's count); no multipart upload
 *    open; no job of its still leased. The lease is 300 s, so a second worker that finishes
 *    the run within two minutes proves the leases were released, not left to expire.
 * 2. The same with `--drain-timeout 1`, slow answers and a part upload of 8–10 s in flight:
 *    exit 0 after about 1 s, the part cut off and its upload aborted, every job it held
 *    and did not finish released, uncharged. (Commits go at once here: a commit in flight
 *    at the deadline is waited for, so it is not what this test times.)
 * 3. A second signal during a drain exits at once with code 130.
 * 4. SIGTERM while the jobs of a claim are being sized (every answer takes 8 s): exit 0
 *    long before the HEADs would answer, every job released uncharged, no GET of a chunk sent.
 *
 * The SIGTERM test on the embedded ledger and a local folder is in worker-commoncrawl.test.ts.
 * Needs the machine's PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  randomFaults,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
} from '../support/commoncrawl-http-server.ts';
import { LedgerLeases, type JobRow } from '../support/ledger-leases.ts';
import { expectedObjectKey, mixedCrawlTree, type MixedCrawlTree } from '../support/mixed-crawl-tree.ts';
import { listIncompleteUploads, readExport } from '../support/s3-export-check.ts';
import { startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
import { startSlowS3Proxy, type SlowS3Proxy } from '../support/slow-s3-proxy.ts';
import { countRowRecordsOf } from '../support/warcio-record-count.ts';
import {
  runWorkerCommand,
  s3rverWorkerOptions,
  sleep,
  WorkerProcess,
  type WorkerExit,
  type WorkerSpawnOptions,
} from '../support/worker-process.ts';
import { cpuSlotReserveMb } from '../../cmd/worker/memory-plan.ts';

/** The data share of the memory budget (the thread's share comes on top): small, as a worker on a busy machine has. */
const dataBudgetMb = 32;

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const crawl = 'CC-MAIN-2024-30';
const bucket = 'shutdown';
const seed = 20_240_530;
/** Long enough that a job still leased after the first worker exits could not be finished by the second in time. */
const leaseSeconds = 300;
/** The second worker must finish well within the lease. */
const resumeMs = 120_000;

const workFolder = mkdtempSync(join(tmpdir(), 'worker-shutdown-'));
let tree: MixedCrawlTree;
let expectedRows: Map<string, number>;
let server: CommonCrawlHttpServer;
let s3: RunningS3rver;
let sinkProxy: SlowS3Proxy;
const live: WorkerProcess[] = [];
const ledgers: LedgerLeases[] = [];

/** One run of the file: its own run id and output prefix. */
interface Run {
  readonly runId: string;
  readonly prefix: string;
  readonly ledger: LedgerLeases;
}

async function newRun(name: string): Promise<Run> {
  const runId = `shutdown-test-${name}-${process.pid}-${Date.now()}`;
  const ledger = await LedgerLeases.open(databaseUrl, runId);
  ledgers.push(ledger);
  return { runId, prefix: name, ledger };
}

function spawnOptions(): WorkerSpawnOptions {
  return s3rverWorkerOptions(workFolder);
}

function startWorker(name: string, run: Run, drainSeconds: number): WorkerProcess {
  const args = [
    '--input',
    `cc:${crawl}`,
    '--cc-base',
    server.baseUrl,
    '--output',
    `s3://${bucket}/${run.prefix}`,
    '--s3-endpoint',
    sinkProxy.endpoint,
    '--ledger',
    databaseUrl,
    '--run-id',
    run.runId,
    '--lease-seconds',
    String(leaseSeconds),
    '--drain-timeout',
    String(drainSeconds),
    '--metrics',
    'none',
    '--threads',
    '1',
    '--chunk-mb',
    '1',
    '--memory-budget-mb',
    String(cpuSlotReserveMb + dataBudgetMb),
  ];
  const worker = new WorkerProcess(name, args, spawnOptions());
  live.push(worker);
  return worker;
}

/** Polls `condition` every 200 ms; fails after `timeoutMs`, or as soon as `worker` exits. */
async function waitUntil(
  what: string,
  worker: WorkerProcess,
  timeoutMs: number,
  condition: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (worker.exit !== null)
      throw new Error(
        `worker ${worker.name} exited (${worker.exit.code}) while waiting for ${what}: ${worker.stderr.slice(-2_000)}`,
      );
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/**
 * The worker holds a lease and is writing one of its jobs' objects: a multipart upload open
 * (an output of two parts), or a write held at the slow proxy (an output of one small part
 * goes as one PutObject at its commit).
 */
async function uploading(worker: WorkerProcess, run: Run): Promise<boolean> {
  const held = await run.ledger.heldBy(worker.workerIdPrefix);
  if (held.jobs === 0) return false;
  const writing = new Set(sinkProxy.heldWrites());
  if (held.outputKeys.some((key) => writing.has(`${bucket}/${run.prefix}/${key}`))) return true;
  const uploads = await listIncompleteUploads(s3.client, bucket, `${run.prefix}/`);
  return uploads.some((upload) => held.outputKeys.some((key) => upload.key === `${run.prefix}/${key}`));
}

/** Signals, then waits for the exit (bounded); returns it with the time it took. */
async function signalAndWait(
  worker: WorkerProcess,
  timeoutMs: number,
): Promise<{ exit: WorkerExit; elapsedMs: number }> {
  const signalledAt = Date.now();
  worker.signal('SIGTERM');
  const exit = await worker.exitWithin(timeoutMs);
  if (exit === null) throw new Error(`worker ${worker.name} still ran ${timeoutMs} ms after SIGTERM`);
  return { exit, elapsedMs: Date.now() - signalledAt };
}

/** The input whose output spans two S3 parts (the first of the tree). */
function denseInput(): string {
  return tree.inputs[0]!;
}

/** Its output key below the run's prefix, as the ledger stores it. */
function denseKey(run: Run): string {
  return expectedObjectKey(run.prefix, denseInput()).slice(run.prefix.length + 1);
}

function pathOfUri(uri: string): string {
  return uri.slice(server.baseUrl.length);
}

/**
 * What the drained worker left: objects exactly for the jobs done, each whole; no upload
 * open; none of its jobs still leased, the rest claimable now. Returns the jobs it held.
 */
async function expectCleanDrain(worker: WorkerProcess, run: Run): Promise<{ done: JobRow[]; released: JobRow[] }> {
  const jobs = await run.ledger.jobs();
  const held = jobs.filter((job) => job.leaseOwner?.startsWith(worker.workerIdPrefix) === true);
  expect(held.length).toBeGreaterThan(0);
  expect(held.filter((job) => !(job.state === 'done' || job.claimableNow))).toEqual([]);
  expect(await listIncompleteUploads(s3.client, bucket, `${run.prefix}/`)).toEqual([]);
  const exported = await readExport(s3.client, bucket, `${run.prefix}/`, join(workFolder, `${run.prefix}-drained`));
  const done = jobs.filter((job) => job.state === 'done');
  expect(exported.keys).toEqual(done.map((job) => expectedObjectKey(run.prefix, pathOfUri(job.uri))).sort());
  for (const job of done) {
    const path = pathOfUri(job.uri);
    expect({ path, rows: exported.rowsByKey.get(expectedObjectKey(run.prefix, path))?.rows }).toEqual({
      path,
      rows: expectedRows.get(path),
    });
  }
  return { done: held.filter((job) => job.state === 'done'), released: held.filter((job) => job.state !== 'done') };
}

/** A second worker finishes the run well within the lease; every input once, whole; the ledger agrees. */
async function expectResumedRun(run: Run): Promise<number> {
  const startedAt = Date.now();
  const worker = startWorker(`${run.prefix}-resume`, run, 30);
  const exit = await worker.exitWithin(resumeMs);
  if (exit === null)
    throw new Error(
      `the second worker did not finish within ${resumeMs} ms (lease ${leaseSeconds} s): leases not released?`,
    );
  expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
  const exported = await readExport(s3.client, bucket, `${run.prefix}/`, join(workFolder, `${run.prefix}-final`));
  expect(exported.keys).toEqual(tree.inputs.map((path) => expectedObjectKey(run.prefix, path)).sort());
  for (const path of tree.inputs) {
    const object = exported.rowsByKey.get(expectedObjectKey(run.prefix, path));
    expect({ path, rows: object?.rows, from: object?.warcFilenames }).toEqual({
      path,
      rows: expectedRows.get(path),
      from: [path],
    });
  }
  const totalRows = [...expectedRows.values()].reduce((sum, count) => sum + count, 0);
  expect(exported.totals).toEqual({ rows: totalRows, distinctCaptures: totalRows });
  expect(await listIncompleteUploads(s3.client, bucket, `${run.prefix}/`)).toEqual([]);
  const status = await runWorkerCommand(
    ['status', '--json', '--ledger', databaseUrl, '--run-id', run.runId, '--output', `s3://${bucket}/${run.prefix}`],
    spawnOptions(),
  );
  expect(JSON.parse(status.stdout)).toMatchObject({
    done: tree.inputs.length,
    failed: 0,
    remaining: 0,
    rowsDone: totalRows,
  });
  return Date.now() - startedAt;
}

beforeAll(async () => {
  tree = mixedCrawlTree({ crawl, count: 8, denseCount: 1, seed });
  expectedRows = await countRowRecordsOf(new Map(tree.inputs.map((path) => [path, tree.files.get(path)!])));
  server = await startCommonCrawlHttpServer(tree.files);
  s3 = await startS3rver([bucket]);
  // A write whose worker gave up on it is dropped, as a PUT cut off mid-body would be.
  sinkProxy = await startSlowS3Proxy(s3.endpoint, seed, {
    delayMs: [1_000, 3_000],
    forwardOrphans: false,
    partsOnly: false,
  });
}, 60_000);

beforeEach(() => {
  Object.assign(server.faults, { delayMs: 0, random: null });
  server.faults.heldGets.clear();
  Object.assign(sinkProxy.writes, { delayMs: [1_000, 3_000], partsOnly: false });
});

afterAll(async () => {
  for (const worker of live) if (worker.exit === null) await worker.killNow();
  for (const ledger of ledgers) await ledger.close();
  await sinkProxy?.stop();
  await s3?.stop();
  await server?.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

describe('graceful shutdown on PostgreSQL and S3', () => {
  it('drains on SIGTERM mid-upload, exits 0 within the drain timeout, releases what it could not finish', async () => {
    const run = await newRun('drain-finish');
    const drainSeconds = 10;
    server.faults.random = randomFaults(seed, { throttleRatio: 0, slowRatio: 0.5, slowMs: [500, 2_500] });
    // The dense input cannot be read (its GETs answer 503) until the worker has exited: it
    // is the job the drain cannot finish, so it must be released.
    server.faults.heldGets.add(denseInput());
    const worker = startWorker('drain-finish', run, drainSeconds);
    await waitUntil(
      'the dense job claimed and another job uploading',
      worker,
      90_000,
      async () =>
        (await run.ledger.heldBy(worker.workerIdPrefix)).outputKeys.includes(denseKey(run)) &&
        (await uploading(worker, run)),
    );
    const { exit, elapsedMs } = await signalAndWait(worker, (drainSeconds + 30) * 1_000);
    expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
    expect(elapsedMs).toBeLessThan((drainSeconds + 5) * 1_000);
    server.faults.heldGets.clear();
    const { done, released } = await expectCleanDrain(worker, run);
    expect(released.map((job) => pathOfUri(job.uri))).toContain(denseInput());
    const resumeMsTaken = await expectResumedRun(run);
    console.log(
      `worker-shutdown: drain-finish: exit 0 after ${elapsedMs} ms (drain ${drainSeconds} s); claimed ${done.length + released.length} jobs: ` +
        `${done.length} done, ${released.length} released; second worker finished the run in ${resumeMsTaken} ms (lease ${leaseSeconds} s)`,
    );
  }, 300_000);

  it('with a drain timeout that expires, exits 0 after about 1 s, aborts its upload and releases every job uncharged', async () => {
    const run = await newRun('drain-expire');
    server.faults.delayMs = 1_500;
    // Parts take 8–10 s; commits go at once (a commit in flight is waited for past the deadline).
    Object.assign(sinkProxy.writes, { delayMs: [8_000, 10_000], partsOnly: true });
    const worker = startWorker('drain-expire', run, 1);
    await waitUntil('a part of the dense output uploading', worker, 120_000, async () =>
      (await listIncompleteUploads(s3.client, bucket, `${run.prefix}/`)).some(
        (upload) => upload.key === `${run.prefix}/${denseKey(run)}`,
      ),
    );
    const dropsBefore = sinkProxy.droppedWrites();
    const { exit, elapsedMs } = await signalAndWait(worker, 30_000);
    expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
    expect(elapsedMs).toBeGreaterThanOrEqual(1_000);
    expect(elapsedMs).toBeLessThan(1_000 + 4_000);
    const { done, released } = await expectCleanDrain(worker, run);
    expect(released.map((job) => pathOfUri(job.uri))).toContain(denseInput());
    // A release on shutdown gives the claim back: these jobs were claimed once, by this worker.
    expect(released.map((job) => job.chargedAttempts)).toEqual(released.map(() => 0));
    server.faults.delayMs = 0;
    Object.assign(sinkProxy.writes, { delayMs: [1_000, 3_000], partsOnly: false });
    const resumeMsTaken = await expectResumedRun(run);
    console.log(
      `worker-shutdown: drain-expire: exit 0 after ${elapsedMs} ms (drain 1 s); claimed ${done.length + released.length} jobs: ` +
        `${done.length} done, ${released.length} released, ${sinkProxy.droppedWrites() - dropsBefore} part uploads cut off; ` +
        `second worker finished the run in ${resumeMsTaken} ms (lease ${leaseSeconds} s)`,
    );
  }, 300_000);

  it('exits at once with code 130 on a second signal during the drain', async () => {
    const run = await newRun('second-signal');
    server.faults.delayMs = 3_000;
    const requestsBefore = server.requests.length;
    const worker = startWorker('second-signal', run, 60);
    // A chunk's GET sent, not only a job claimed: the drain waits for a running job, while a
    // job still being sized when the signal comes is released at once.
    const chunkRequested = async () =>
      server.requests.slice(requestsBefore).some((request) => request.method === 'GET' && request.range !== null);
    await waitUntil('a chunk requested', worker, 60_000, chunkRequested);
    worker.signal('SIGTERM');
    await sleep(1_000);
    expect(
      worker.exit,
      'the first signal drains: with 3 s answers and a 60 s drain the worker is still running',
    ).toBeNull();
    const { exit, elapsedMs } = await signalAndWait(worker, 10_000);
    expect(exit.code).toBe(130);
    expect(elapsedMs).toBeLessThan(3_000);
  }, 120_000);

  it('releases at once, uncharged, the jobs it is still sizing when SIGTERM comes', async () => {
    const run = await newRun('sizing');
    const answerMs = 8_000;
    server.faults.delayMs = answerMs;
    const requestsBefore = server.requests.length;
    const worker = startWorker('sizing', run, 60);
    await waitUntil(
      'a claimed job',
      worker,
      60_000,
      async () => (await run.ledger.heldBy(worker.workerIdPrefix)).jobs > 0,
    );
    const { exit, elapsedMs } = await signalAndWait(worker, 30_000);
    expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
    expect(elapsedMs).toBeLessThan(answerMs - 2_000);
    const sent = server.requests.slice(requestsBefore);
    expect(sent.filter((request) => request.method === 'GET' && request.range !== null)).toEqual([]);
    const held = (await run.ledger.jobs()).filter((job) => job.leaseOwner?.startsWith(worker.workerIdPrefix) === true);
    expect(held.length).toBeGreaterThan(0);
    expect(held.map((job) => ({ claimable: job.claimableNow, charged: job.chargedAttempts }))).toEqual(
      held.map(() => ({ claimable: true, charged: 0 })),
    );
    console.log(
      `worker-shutdown: sizing: exit 0 ${elapsedMs} ms after SIGTERM (answers take ${answerMs} ms); ${held.length} jobs released uncharged`,
    );
  }, 120_000);
});
