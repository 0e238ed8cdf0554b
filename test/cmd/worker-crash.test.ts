/**
 * Crash test: three real workers (`node cmd/worker`) share a PostgreSQL ledger and export a
 * CommonCrawl-like crawl from a loopback HTTP server that answers 10% of requests 503 and a
 * quarter of them slowly, to s3rver behind a proxy that answers object writes after 0.5–2.5 s
 * (so that kills land mid-upload too). Every few seconds a worker holding jobs, chosen at
 * random, is killed with SIGKILL and started again with the same arguments; with a 10 s
 * lease its jobs come back. Once enough kills have landed, the fleet finishes, and:
 *
 * - every input has exactly one object (keys derived from the input paths here), no other;
 * - each object's rows are all from its input and as many as warcio (not our decoder)
 *   counts response, revisit and resource records in it: a partial object made visible
 *   would have fewer, a doubled one more;
 * - no (warc_filename, warc_record_offset) appears twice across all objects;
 * - killed workers left incomplete multipart uploads (reported; an output of one part under
 *   5 MiB is one PutObject and leaves none), and after
 *   `node cmd/worker cleanup --older-than-hours 0` none remain;
 * - `status --json` says done = inputs, failed = 0, remaining = 0, rowsDone = rows counted.
 *
 * So that kills land on running work on any machine, however fast the rest of the run goes,
 * the GETs of the three smallest inputs answer 503 until the kills are done: the run cannot
 * finish before, and up to three workers hold work to kill at any time. Every kill charges
 * the jobs its victim held an attempt, and a job that ran out of attempts would fail for good
 * (the ledger's contract suite proves that limit), so the workers run with `--job-attempts`
 * far above what the kills can charge: this test is about recovery. Kill choice, 503s and
 * slow answers are seeded; the seed is printed.
 *
 * Size: CRASH_TEST_FILES (default 24), CRASH_TEST_KILLS (kills of workers holding jobs,
 * default 10), CRASH_TEST_SEED; `npm run test:crash` runs a larger size. Needs the
 * machine's PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextUnit, seededRandom, type SeededRandom } from '../../core/seeded-random.ts';
import {
  randomFaults,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
} from '../support/commoncrawl-http-server.ts';
import { LedgerLeases } from '../support/ledger-leases.ts';
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

function positiveInteger(name: string, fallback: number): number {
  const value = process.env[name] === undefined ? fallback : Number(process.env[name]);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return value;
}

const fileCount = positiveInteger('CRASH_TEST_FILES', 24);
const killsWanted = positiveInteger('CRASH_TEST_KILLS', 10);
const seed = positiveInteger('CRASH_TEST_SEED', 1 + Math.floor(Math.random() * 2_000_000_000));
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const crawl = 'CC-MAIN-2024-26';
const bucket = 'crash';
const prefix = 'index';
const workersMax = 3;
const leaseSeconds = 10;
/** More than every kill charging every job: no job can run out of attempts here. */
const jobAttempts = killsWanted * 10 + 10;
/** Inputs whose GETs are refused until the kills are done: one per worker. */
const heldBackCount = 3;
/** A kill every 1.5–3.5 s. */
const killPeriodMs: readonly [number, number] = [1_500, 3_500];
/** Bounds: the kill phase, then the fleet finishing once kills stop. */
const killPhaseMs = killsWanted * 12_000 + 30_000;
const finishMs = 150_000 + fileCount * 2_000;

const workFolder = mkdtempSync(join(tmpdir(), 'worker-crash-'));
const runId = `crash-test-${process.pid}-${Date.now()}`;
let tree: MixedCrawlTree;
let expectedRows: Map<string, number>;
let server: CommonCrawlHttpServer;
let s3: RunningS3rver;
let sinkProxy: SlowS3Proxy;
let ledger: LedgerLeases;
const live: WorkerProcess[] = [];

function spawnOptions(): WorkerSpawnOptions {
  return s3rverWorkerOptions(workFolder);
}

function workerArgs(): string[] {
  return [
    '--input',
    `cc:${crawl}`,
    '--cc-base',
    server.baseUrl,
    '--output',
    `s3://${bucket}/${prefix}`,
    '--s3-endpoint',
    sinkProxy.endpoint,
    '--ledger',
    databaseUrl,
    '--run-id',
    runId,
    '--lease-seconds',
    String(leaseSeconds),
    '--metrics',
    'none',
    '--threads',
    '1',
    '--chunk-mb',
    '1',
    '--memory-budget-mb',
    String(cpuSlotReserveMb + dataBudgetMb),
    '--job-attempts',
    String(jobAttempts),
  ];
}

function expectedKey(path: string): string {
  return expectedObjectKey(prefix, path);
}

function draw(random: SeededRandom, [min, max]: readonly [number, number]): number {
  return min + Math.floor(nextUnit(random) * (max - min));
}

/** Fisher–Yates with the seeded generator. */
function shuffled<T>(items: readonly T[], random: SeededRandom): T[] {
  const result = [...items];
  for (let index = result.length - 1; index > 0; index--) {
    const other = Math.floor(nextUnit(random) * (index + 1));
    [result[index], result[other]] = [result[other]!, result[index]!];
  }
  return result;
}

interface KillRecord {
  readonly worker: string;
  readonly jobsHeld: number;
  /** The victim was writing an object of one of its jobs: an open multipart upload, or a write held at the proxy. */
  readonly uploading: boolean;
}

/** The fleet: three slots, each holding one live worker; a killed worker is replaced at once. */
class Fleet {
  private readonly generations = [0, 0, 0];
  readonly slots: WorkerProcess[] = [];
  readonly kills: KillRecord[] = [];
  readonly unexpectedExits: { worker: string; exit: WorkerExit }[] = [];
  /** Kill attempts that found no worker holding a job. */
  idleTurns = 0;

  start(): void {
    for (let slot = 0; slot < workersMax; slot++) this.slots.push(this.spawn(slot));
  }

  private spawn(slot: number): WorkerProcess {
    this.generations[slot]! += 1;
    const worker = new WorkerProcess(`crash-s${slot}g${this.generations[slot]}`, workerArgs(), spawnOptions());
    live.push(worker);
    return worker;
  }

  /** A worker that exited without being killed (a crash, a fatal error) is noted and replaced. */
  replaceExited(): void {
    for (const [slot, worker] of this.slots.entries()) {
      if (worker.exit === null) continue;
      this.unexpectedExits.push({ worker: worker.name, exit: worker.exit });
      this.slots[slot] = this.spawn(slot);
    }
  }

  /** Kills a worker that holds jobs, chosen at random; false if none holds any now. */
  async killOne(random: SeededRandom): Promise<boolean> {
    const order = shuffled([0, 1, 2], random);
    for (const slot of order) {
      const worker = this.slots[slot]!;
      const held = await ledger.heldBy(worker.workerIdPrefix);
      if (held.jobs === 0) continue;
      const writing = new Set(sinkProxy.heldWrites());
      const uploads = await listIncompleteUploads(s3.client, bucket, `${prefix}/`);
      const uploading =
        held.outputKeys.some((key) => writing.has(`${bucket}/${prefix}/${key}`)) ||
        uploads.some((upload) => held.outputKeys.some((key) => upload.key === `${prefix}/${key}`));
      const exit = await worker.killNow();
      if (exit.signal !== 'SIGKILL') this.unexpectedExits.push({ worker: worker.name, exit });
      this.kills.push({ worker: worker.name, jobsHeld: held.jobs, uploading });
      this.slots[slot] = this.spawn(slot);
      return true;
    }
    this.idleTurns += 1;
    return false;
  }
}

/** Waits until the fleet has enqueued the run (its schema migrated, its jobs listed); bounded. */
async function waitForEnqueue(fleet: Fleet): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const exited = fleet.slots.find((worker) => worker.exit !== null);
    if (exited !== undefined)
      throw new Error(
        `worker ${exited.name} exited with ${exited.exit?.code} before the run was enqueued: ${exited.stderr.slice(-2_000)}`,
      );
    if ((await ledger.jobs().catch(() => [])).length >= fileCount) return;
    if (Date.now() > deadline) throw new Error(`the fleet had not enqueued ${fileCount} jobs after 60 s`);
    await sleep(200);
  }
}

/** The run's jobs by state, and who holds the leased ones: what a failure message needs. */
async function jobStates(): Promise<Record<string, number>> {
  const states: Record<string, number> = {};
  for (const job of await ledger.jobs()) {
    const key =
      job.state === 'leased'
        ? `leased by ${job.leaseOwner?.split('-').slice(0, 2).join('-')}${job.leaseLive ? '' : ' (expired)'}`
        : job.state;
    states[key] = (states[key] ?? 0) + 1;
  }
  return states;
}

async function killPhase(fleet: Fleet): Promise<void> {
  const random = seededRandom(seed);
  const deadline = Date.now() + killPhaseMs;
  while (fleet.kills.length < killsWanted) {
    if (Date.now() > deadline) {
      throw new Error(
        `only ${fleet.kills.length} of ${killsWanted} kills landed on workers holding jobs in ${killPhaseMs} ms ` +
          `(seed ${seed}; ${fleet.idleTurns} turns found no worker holding a job); jobs: ${JSON.stringify(await jobStates())}`,
      );
    }
    await sleep(draw(random, killPeriodMs));
    fleet.replaceExited();
    await fleet.killOne(random);
  }
}

/** Waits for the fleet's last workers to exit by themselves; a clear failure if they do not. */
async function finishPhase(fleet: Fleet): Promise<WorkerExit[]> {
  const deadline = Date.now() + finishMs;
  const exits: WorkerExit[] = [];
  for (const worker of fleet.slots) {
    const exit = await worker.exitWithin(Math.max(0, deadline - Date.now()));
    if (exit === null) {
      const stuck = (await ledger.jobs()).filter((job) => job.state !== 'done');
      throw new Error(
        `the fleet did not finish within ${finishMs} ms after the kills (seed ${seed}); worker ${worker.name} still runs; ` +
          `jobs not done: ${JSON.stringify(stuck)}`,
      );
    }
    exits.push(exit);
  }
  return exits;
}

beforeAll(async () => {
  tree = mixedCrawlTree({ crawl, count: fileCount, denseCount: Math.max(1, Math.round(fileCount / 24)), seed });
  expectedRows = await countRowRecordsOf(new Map(tree.inputs.map((path) => [path, tree.files.get(path)!])));
  server = await startCommonCrawlHttpServer(tree.files);
  server.faults.random = randomFaults(seed, { throttleRatio: 0.1, slowRatio: 0.25, slowMs: [500, 3_000] });
  s3 = await startS3rver([bucket]);
  sinkProxy = await startSlowS3Proxy(s3.endpoint, seed, {
    delayMs: [500, 2_500],
    forwardOrphans: true,
    partsOnly: false,
  });
  ledger = await LedgerLeases.open(databaseUrl, runId);
}, 120_000);

afterAll(async () => {
  for (const worker of live) if (worker.exit === null) await worker.killNow();
  await ledger?.close();
  await sinkProxy?.stop();
  await s3?.stop();
  await server?.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

describe('a fleet of three workers killed at random', () => {
  it(
    `exports every input exactly once, whole, after ${killsWanted} kills`,
    async () => {
      const startedAt = Date.now();
      console.log(
        `worker-crash: seed ${seed}, ${fileCount} files, ${killsWanted} kills (replay with CRASH_TEST_SEED=${seed})`,
      );
      // The smallest inputs are held back until the kills are done: the run cannot end before.
      const heldBack = [...tree.inputs]
        .sort((a, b) => tree.files.get(a)!.length - tree.files.get(b)!.length)
        .slice(0, heldBackCount);
      for (const path of heldBack) server.faults.heldGets.add(path);
      const fleet = new Fleet();
      fleet.start();
      await waitForEnqueue(fleet);
      await killPhase(fleet);
      const killedAt = Date.now();
      server.faults.heldGets.clear();
      const exits = await finishPhase(fleet);

      for (const exit of exits) expect(exit.code, exit.stderr.slice(-2_000)).toBe(0);
      expect(
        fleet.unexpectedExits.map(
          ({ worker, exit }) => `${worker}: ${exit.code ?? exit.signal}: ${exit.stderr.slice(-1_000)}`,
        ),
      ).toEqual([]);

      const exported = await readExport(s3.client, bucket, `${prefix}/`, join(workFolder, 'objects'));
      expect(exported.keys).toEqual(tree.inputs.map(expectedKey).sort());
      for (const path of tree.inputs) {
        const object = exported.rowsByKey.get(expectedKey(path));
        expect({ path, rows: object?.rows, from: object?.warcFilenames }).toEqual({
          path,
          rows: expectedRows.get(path),
          from: [path],
        });
      }
      const totalRows = [...expectedRows.values()].reduce((sum, count) => sum + count, 0);
      expect(exported.totals).toEqual({ rows: totalRows, distinctCaptures: totalRows });

      const uploadsBefore = await listIncompleteUploads(s3.client, bucket, `${prefix}/`);
      const cleanup = await runWorkerCommand(
        ['cleanup', '--output', `s3://${bucket}/${prefix}`, '--s3-endpoint', s3.endpoint, '--older-than-hours', '0'],
        spawnOptions(),
      );
      expect(cleanup.code, cleanup.stderr).toBe(0);
      expect(await listIncompleteUploads(s3.client, bucket, `${prefix}/`)).toEqual([]);

      const status = await runWorkerCommand(
        ['status', '--json', '--ledger', databaseUrl, '--run-id', runId, '--output', `s3://${bucket}/${prefix}`],
        spawnOptions(),
      );
      expect(JSON.parse(status.stdout)).toMatchObject({
        done: fileCount,
        failed: 0,
        remaining: 0,
        rowsDone: totalRows,
      });

      const chargedMost = Math.max(...(await ledger.jobs()).map((job) => job.chargedAttempts));
      const midUpload = fleet.kills.filter((kill) => kill.uploading).length;
      const jobsKilled = fleet.kills.reduce((sum, kill) => sum + kill.jobsHeld, 0);
      console.log(
        `worker-crash: seed ${seed}: ${fleet.kills.length} kills of workers holding jobs (${jobsKilled} jobs held in all, ${midUpload} mid-upload), ` +
          `${fleet.idleTurns} turns with no worker holding a job, at most ${chargedMost} attempts charged to one job, kill phase ${((killedAt - startedAt) / 1_000).toFixed(1)} s, finish ${((Date.now() - killedAt) / 1_000).toFixed(1)} s; ` +
          `${totalRows} rows; source: ${server.faultCounts.throttled} random 503s, ${server.faultCounts.slowed} slow answers, ${server.faultCounts.held} held GETs; ` +
          `sink: ${sinkProxy.delayedWrites()} slow writes, ${uploadsBefore.length} incomplete multipart uploads before cleanup`,
      );
    },
    killPhaseMs + finishMs + 120_000,
  );
});
