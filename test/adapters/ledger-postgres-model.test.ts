/**
 * Proves the PostgreSQL ledger's SQL and the pure ledger machine (core/ledger-machine.ts) are
 * one set of rules: random command sequences (enqueue, claim, heartbeat, complete, fail,
 * release, reclaim, retry failed, progress, time passing) run against a real PostgreSQL
 * ledger and the machine side by side, on one test clock (handed to the SQL through
 * `cc_ledger_now()`), and every answer must be the same: the jobs each claim hands out, which
 * leases a heartbeat renews or reports lost, whether complete, fail and release were accepted,
 * how many expired leases were reclaimed, which failed jobs were put back, and after every
 * step the run's stats, listing, failed jobs, worker progress and each job's state.
 *
 * Several workers, short and long leases, stale and made-up leases, inputs sharing an output
 * key, inputs without a size. A failure prints fast-check's seed and path, the shrunk commands
 * and the command line that replays it (LEDGER_MODEL_SEED, LEDGER_MODEL_PATH and
 * LEDGER_MODEL_COMMANDS); LEDGER_MODEL_RUNS sets the number of runs (default 60).
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inputFault, ourFault, remoteFault, type Failure } from '../../core/failure.ts';
import type { InputRef, Lease } from '../../core/input-ref.ts';
import type { JobResult } from '../../core/ledger.ts';
import { LedgerMachine } from '../../core/ledger-machine.ts';
import { retryScheduleOf } from '../../core/ledger-rules.ts';
import { enqueuedJobOf, jobIdOf } from '../../adapters/ledger/ledger-options.ts';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import { contractEpochMs, contractOptions } from './ledger-contract.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ledger_model_${process.pid}`;
const workers = ['w0', 'w1', 'w2'];
const leaseChoicesMs = [40, 300, 2_000];
/** Bounds the test's time: runs × commands × about 3 statements of a few hundred µs each. */
const runsCount = Number(process.env['LEDGER_MODEL_RUNS'] ?? 60);
const commandsMax = 60;

/**
 * Ten inputs: the last three share their output keys with the first three (another bucket,
 * the same file name), and every third has no size; and two subsets (picked ranges, as
 * `--input index:` enqueues), one of a file of the ten, whose picks are part of the job.
 */
const wholeInputs: readonly InputRef[] = Array.from({ length: 10 }, (_, index) => {
  const name = `f-${index % 7}.warc.gz`;
  const input: InputRef = {
    uri: `s3://bucket-${index < 7 ? 'a' : 'b'}/${name}`,
    filename: name,
    sizeBytes: 1_000 + index,
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    segment: null,
  };
  if (index % 3 !== 2) return input;
  const { sizeBytes: _unknown, ...sizeless } = input;
  return sizeless;
});

const subsetInputs: readonly InputRef[] = [
  {
    ...wholeInputs[1]!,
    sizeBytes: 900,
    picks: [
      { offsetBytes: 0, lengthBytes: 300 },
      { offsetBytes: 600, lengthBytes: 300 },
    ],
  },
  {
    uri: 's3://bucket-a/g.warc.gz',
    filename: 'g.warc.gz',
    sizeBytes: 5_000,
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    segment: null,
    picks: [{ offsetBytes: 4_000, lengthBytes: 1_000 }],
  },
];

const inputPool: readonly InputRef[] = [...wholeInputs, ...subsetInputs];

function resultOf(rows: number): JobResult {
  return {
    rows,
    inputBytes: rows * 100,
    outputBytes: rows * 10,
    counters: {
      byType: { response: rows },
      badByReason: { truncated_gzip_member: rows % 3 },
      skippedByReason: { not_http_capture: 1 },
      warningByReason: {},
    },
  };
}

const failures: Record<string, Failure> = {
  retryable: remoteFault('503 slow down'),
  throttled: remoteFault('throttled', { throttled: true }),
  input: inputFault('not a WARC file'),
  ours: ourFault('out of memory', false),
};

interface Model {
  readonly runId: string;
  readonly machine: LedgerMachine;
  readonly clock: { nowMs: number };
  /** Every lease handed out so far, in order: commands pick among them, stale ones too. */
  readonly leases: Lease[];
}

type Real = PostgresLedger;

/** A lease out of those handed out (`pick` wraps), or, with `attemptDelta`, one never handed out. */
function leaseOf(model: Model, pick: number, attemptDelta: number): Lease {
  // Counted from the newest, so that most writes meet a lease that may still be live.
  const index = model.leases.length - 1 - (pick % Math.max(model.leases.length, 1));
  const lease = model.leases[index] ?? { jobId: jobIdOf(inputPool[0]!), attempt: 1 };
  return { jobId: lease.jobId, attempt: lease.attempt + attemptDelta };
}

/** Reads the ledger's table directly, to compare whole job rows. */
let inspector: pg.Client;

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A job's whole row as the SQL left it, in the machine's terms. */
interface JobRow {
  readonly jobId: string;
  readonly state: string;
  readonly attempt: number;
  readonly chargedAttempts: number;
  readonly leaseOwner: string | null;
  readonly claimableAtMs: number | null;
  readonly lastError: string | null;
  readonly finishedAtMs: number | null;
  readonly rows: number | null;
}

const jobRowsSql = `
  SELECT job_id, state, attempt, charged_attempts, lease_owner, last_error, rows_written::float8 AS rows,
    (extract(epoch FROM claimable_at) * 1000)::float8 AS claimable_at_ms,
    (extract(epoch FROM finished_at) * 1000)::float8 AS finished_at_ms
  FROM ledger_jobs WHERE run_id = $1 ORDER BY job_id`;

async function sqlJobRows(client: pg.Client, runId: string): Promise<JobRow[]> {
  const result = await client.query(jobRowsSql, [runId]);
  return result.rows.map((row) => ({
    jobId: row.job_id,
    state: row.state,
    attempt: row.attempt,
    chargedAttempts: row.charged_attempts,
    leaseOwner: row.lease_owner,
    claimableAtMs: row.claimable_at_ms,
    lastError: row.last_error,
    finishedAtMs: row.finished_at_ms,
    rows: row.rows,
  }));
}

function machineJobRows(model: Model): JobRow[] {
  const rows: JobRow[] = [];
  for (const input of inputPool) {
    const job = model.machine.job(model.runId, jobIdOf(input));
    if (job === undefined) continue;
    rows.push({
      jobId: job.jobId,
      state: job.state,
      attempt: job.attempt,
      chargedAttempts: job.chargedAttempts,
      leaseOwner: job.leaseOwner,
      claimableAtMs: job.claimableAtMs,
      lastError: job.lastError,
      finishedAtMs: job.finishedAtMs ?? null,
      rows: job.result?.rows ?? null,
    });
  }
  return rows.sort((a, b) => byText(a.jobId, b.jobId));
}

/**
 * What both must agree on after every command: every job's whole state, lease ends and retry
 * times included, read from the table (stronger than any answer: a difference there shows in
 * answers only later, or never).
 */
async function observe(model: Model, _real: Real, after: string): Promise<void> {
  expect(await sqlJobRows(inspector, model.runId), `after ${after}`).toEqual(machineJobRows(model));
}

/** The run's stats, listing and failed jobs as `status` shows them: after the writes that change them, and at the end. */
async function observeRun(model: Model, real: Real, after: string): Promise<void> {
  const { machine, runId } = model;
  const context = `after ${after}`;
  expect(await real.stats(runId), context).toEqual(machine.stats(runId));
  expect(await real.runListing(runId), context).toEqual(machine.runListing(runId));
  const failed = (list: { uri: string; lastError: string | null }[]) => list.sort((a, b) => byText(a.uri, b.uri));
  expect(failed(await real.failedJobs(runId, 100)), context).toEqual(failed(machine.failedJobs(runId, 100)));
}

class EnqueueCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly picks: readonly number[],
    readonly withOrigin: boolean,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const inputs = this.picks.map((pick) => inputPool[pick]!);
    const origin = this.withOrigin ? { input: 's3://bucket-a/', output: '/data/out' } : undefined;
    const jobs = inputs.map((input) => enqueuedJobOf(input, contractOptions.outputKeyOf));
    const expected = model.machine.enqueue(model.runId, jobs, origin, model.clock.nowMs).answer;
    expect(await real.enqueue(model.runId, inputs, origin), this.toString()).toEqual(expected);
    await observe(model, real, this.toString());
    await observeRun(model, real, this.toString());
  }
  toString = (): string => `enqueue [${this.picks.join(', ')}]${this.withOrigin ? ' with origin' : ''}`;
}

class ClaimCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: number,
    readonly count: number,
    readonly leaseMs: number,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const workerId = workers[this.worker]!;
    const { machine, runId, clock } = model;
    const expected = machine.claim(runId, workerId, this.count, this.leaseMs, clock.nowMs).answer;
    const actual = await real.claim(runId, workerId, this.count, this.leaseMs);
    // The SQL returns the claimed rows in no set order; which jobs, and each one's lease, must agree.
    const sorted = (jobs: typeof actual.jobs) => [...jobs].sort((a, b) => byText(a.jobId, b.jobId));
    expect({ ...actual, jobs: sorted(actual.jobs) }, this.toString()).toEqual({
      ...expected,
      jobs: sorted(expected.jobs),
    });
    for (const job of expected.jobs) model.leases.push({ jobId: job.jobId, attempt: job.attempt });
    await observe(model, real, this.toString());
  }
  toString = (): string => `claim ${workers[this.worker]} ${this.count} for ${this.leaseMs} ms`;
}

class HeartbeatCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: number,
    readonly picks: readonly [number, number][],
    readonly leaseMs: number,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const workerId = workers[this.worker]!;
    const leases = this.picks.map(([pick, delta]) => leaseOf(model, pick, delta));
    const expected = model.machine.heartbeat(model.runId, workerId, leases, this.leaseMs, model.clock.nowMs).answer;
    expect(await real.heartbeat(model.runId, workerId, leases, this.leaseMs), this.toString()).toEqual(expected);
    await observe(model, real, this.toString());
  }
  toString = (): string =>
    `heartbeat ${workers[this.worker]} leases [${this.picks.map(([pick, delta]) => `${pick}${delta === 0 ? '' : '+1'}`).join(', ')}] for ${this.leaseMs} ms`;
}

class LeaseWriteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly write: 'complete' | 'release' | keyof typeof failures,
    readonly pick: number,
    readonly attemptDelta: number,
    readonly rows: number,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const { machine, runId, clock } = model;
    const lease = leaseOf(model, this.pick, this.attemptDelta);
    let expected: boolean;
    let actual: boolean;
    if (this.write === 'complete') {
      expected = machine.complete(runId, lease, resultOf(this.rows), clock.nowMs).answer;
      actual = await real.complete(runId, lease, resultOf(this.rows));
    } else if (this.write === 'release') {
      expected = machine.release(runId, lease, clock.nowMs).answer;
      actual = await real.release(runId, lease);
    } else {
      const failure = failures[this.write]!;
      expected = machine.fail(runId, lease, failure, clock.nowMs).answer;
      actual = await real.fail(runId, lease, failure);
    }
    expect(actual, `${this.toString()} (lease ${lease.jobId} attempt ${lease.attempt})`).toBe(expected);
    await observe(model, real, this.toString());
    await observeRun(model, real, this.toString());
  }
  toString = (): string =>
    `${this.write === 'complete' || this.write === 'release' ? this.write : `fail ${this.write}`} lease ${this.pick}${this.attemptDelta === 0 ? '' : '+1'}`;
}

class ReclaimCommand implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const expected = model.machine.reclaimExpired(model.runId, model.clock.nowMs).answer;
    expect(await real.reclaimExpired(model.runId), this.toString()).toBe(expected);
    await observe(model, real, this.toString());
  }
  toString = (): string => 'reclaim expired';
}

class RetryFailedCommand implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const sorted = (list: { uri: string; lastError: string | null }[]) => list.sort((a, b) => byText(a.uri, b.uri));
    const expected = model.machine.retryFailed(model.runId, model.clock.nowMs).answer;
    expect(sorted(await real.retryFailed(model.runId)), this.toString()).toEqual(sorted(expected));
    await observe(model, real, this.toString());
    await observeRun(model, real, this.toString());
  }
  toString = (): string => 'retry failed';
}

class ProgressCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: number,
    readonly records: number,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const progress = {
      workerId: workers[this.worker]!,
      currentInput: this.records % 2 === 0 ? null : inputPool[0]!.uri,
      records: this.records,
      bytes: this.records * 1_000,
      badRecords: this.records % 5,
      status: 'running' as const,
    };
    model.machine.progress(model.runId, progress, model.clock.nowMs);
    await real.progress(model.runId, progress);
    await observe(model, real, this.toString());
    expect(await real.workerProgress(model.runId), this.toString()).toEqual(model.machine.workerProgress(model.runId));
  }
  toString = (): string => `progress ${workers[this.worker]} ${this.records}`;
}

class AdvanceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly milliseconds: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    model.clock.nowMs += this.milliseconds;
    await observe(model, real, this.toString());
  }
  toString = (): string => `advance ${this.milliseconds} ms`;
}

const pick = fc.oneof(fc.nat({ max: 2 }), fc.nat({ max: 30 }));
const attemptDelta = fc.constantFrom(0, 0, 0, 1);
const worker = fc.nat({ max: workers.length - 1 });
const leaseMs = fc.constantFrom(...leaseChoicesMs);

// Claims and lease writes dominate, and time moves by steps around the leases and the retry
// delays (500 then 800 ms), so that runs meet expiries, retries and give-ups.
const commandsArbitrary = fc.commands(
  [
    fc
      .tuple(fc.array(fc.nat({ max: inputPool.length - 1 }), { minLength: 0, maxLength: 4 }), fc.boolean())
      .map(([picks, withOrigin]) => new EnqueueCommand(picks, withOrigin)),
    fc.tuple(worker, fc.integer({ min: 1, max: 4 }), leaseMs).map(([w, count, ms]) => new ClaimCommand(w, count, ms)),
    fc.tuple(worker, fc.integer({ min: 1, max: 4 }), leaseMs).map(([w, count, ms]) => new ClaimCommand(w, count, ms)),
    fc
      .tuple(worker, fc.array(fc.tuple(pick, attemptDelta), { minLength: 1, maxLength: 4 }), leaseMs)
      .map(([w, picks, ms]) => new HeartbeatCommand(w, picks, ms)),
    fc
      .tuple(
        fc.constantFrom('complete', 'complete', 'release', 'retryable', 'throttled', 'input', 'ours'),
        pick,
        attemptDelta,
        fc.nat({ max: 50 }),
      )
      .map(([write, p, delta, rows]) => new LeaseWriteCommand(write, p, delta, rows)),
    fc
      .tuple(fc.constantFrom('complete', 'release', 'retryable', 'throttled'), pick, attemptDelta, fc.nat({ max: 50 }))
      .map(([write, p, delta, rows]) => new LeaseWriteCommand(write, p, delta, rows)),
    fc.constant(new ReclaimCommand()),
    fc.constant(new RetryFailedCommand()),
    fc.tuple(worker, fc.nat({ max: 1_000 })).map(([w, records]) => new ProgressCommand(w, records)),
    fc.constantFrom(1, 39, 40, 41, 299, 300, 500, 800, 2_000).map((ms) => new AdvanceCommand(ms)),
    fc.integer({ min: 1, max: 2_500 }).map((ms) => new AdvanceCommand(ms)),
  ],
  {
    maxCommands: commandsMax,
    size: 'max',
    // Where shrinking left the command list: part of a replay, with the seed and path.
    ...(process.env['LEDGER_MODEL_COMMANDS'] === undefined ? {} : { replayPath: process.env['LEDGER_MODEL_COMMANDS'] }),
  },
);

const initialArbitrary = fc
  .uniqueArray(fc.nat({ max: inputPool.length - 1 }), { minLength: 3, maxLength: 8 })
  .map((picks) => new EnqueueCommand(picks, true));

describe('PostgreSQL ledger against the pure ledger machine', () => {
  const clock = { nowMs: contractEpochMs };
  let ledger: PostgresLedger;
  let runCounter = 0;

  beforeAll(async () => {
    ledger = await PostgresLedger.open({
      ...contractOptions,
      connectionString,
      schema,
      connectionsMax: 1,
      nowMs: () => clock.nowMs,
    });
    inspector = new pg.Client({ connectionString, options: `-c search_path=${schema}` });
    await inspector.connect();
  });

  afterAll(async () => {
    await ledger?.close();
    await inspector?.end();
    const client = new pg.Client({ connectionString });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  test('gives the same answer to every command', { timeout: 180_000 }, async () => {
    const seed = process.env['LEDGER_MODEL_SEED'];
    const path = process.env['LEDGER_MODEL_PATH'];
    await fc.assert(
      fc.asyncProperty(initialArbitrary, commandsArbitrary, async (initial, commands) => {
        runCounter += 1;
        // Each run its own ledger run, and a clock that starts where no earlier run's leases matter.
        clock.nowMs = contractEpochMs + runCounter * 86_400_000;
        const model: Model = {
          runId: `model-${process.pid}-${runCounter}`,
          machine: new LedgerMachine(retryScheduleOf(contractOptions)),
          clock,
          leases: [],
        };
        // A run starts with a few jobs, so that commands meet expiries and give-ups early.
        await fc.asyncModelRun(() => ({ model, real: ledger }), [initial, ...commands]);
        await observeRun(model, ledger, 'the last command');
      }),
      {
        numRuns: runsCount,
        // A bound on a shared machine: the runs stop early rather than time the test out (a
        // failure found by then is still reported, shrunk as far as time allowed).
        interruptAfterTimeLimit: 60_000,
        ...(seed === undefined ? {} : { seed: Number(seed) }),
        ...(path === undefined ? {} : { path }),
        reporter: (details) => {
          if (!details.failed) return;
          const cause =
            details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
          const commandsPath = /replayPath="([^"]*)"/.exec(fc.stringify(details.counterexample))?.[1] ?? '';
          throw new Error(
            `${fc.defaultReportMessage(details)}\n${cause}\nreplay: LEDGER_MODEL_SEED=${details.seed} LEDGER_MODEL_PATH=${details.counterexamplePath ?? ''} LEDGER_MODEL_COMMANDS='${commandsPath}' npx vitest run test/adapters/ledger-postgres-model.test.ts`,
          );
        },
      },
    );
  });
});
