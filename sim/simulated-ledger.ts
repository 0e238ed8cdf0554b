import { entryOf } from '../core/checked-access.ts';
import type { Failure } from '../core/failure.ts';
import type { ClaimedJob, InputRef, Lease } from '../core/input-ref.ts';
import { LedgerMachine, type LedgerRecord, type Outcome, type StoredJob } from '../core/ledger-machine.ts';
import { emptyRecordCounters } from '../core/record-counters.ts';
import type { ByteRange } from '../core/source.ts';

export type JobStatus = 'pending' | 'leased' | 'done' | 'dead';

/** The ledger's record of one job, as the checkers and the fleet's report read it. */
export interface LedgerJob {
  readonly jobId: string;
  readonly sizeBytes: number;
  status: JobStatus;
  /** Claims so far; the current lease's attempt number. */
  attempts: number;
  holder: number;
  leaseExpiresAtMs: number;
  firstClaimAtMs: number;
  endedAtMs: number;
  /** Fenced completions accepted; more than one is a safety violation. */
  completions: number;
  lastFailure: string | null;
  /** A subset's picked ranges, or null for a whole file. */
  readonly picks: readonly ByteRange[] | null;
  /** Rows the completing attempt exported (its commit's summary). */
  exportedRows: number;
}

/** The fleet's one run. */
const runId = 'fleet';

/**
 * The ledger all simulated instances share: the pure ledger machine (core/ledger-machine.ts),
 * whose rules the embedded ledger journals and the PostgreSQL ledger's SQL is proved to agree
 * with, on the simulation's time. Its own part is bookkeeping for the checkers and the report:
 * a view of each job (first claim, end, completions accepted) and counts of leased, ended and
 * reclaimed jobs, kept from the records each operation returns.
 *
 * A failed job comes back after a fixed `jobRetryDelayMs` (the machine's doubling schedule
 * with its base equal to its cap) up to `jobAttemptsMax` charged claims and is dead after that.
 */
export class SimulatedLedger {
  readonly jobs: LedgerJob[];
  private readonly byId = new Map<string, LedgerJob>();
  private readonly machine: LedgerMachine;
  leased = 0;
  ended = 0;
  reclaimed = 0;
  /** When a claim first found no job to lease: the queue ran dry, and instances may idle from then on. */
  drainedAtMs: number | null = null;

  /** `picks`, when given, holds each job's picked ranges (by index, as the sizes): the jobs are subsets. */
  constructor(
    sizesBytes: readonly number[],
    options: { readonly jobAttemptsMax: number; readonly jobRetryDelayMs: number },
    picks: readonly (readonly ByteRange[])[] | null = null,
  ) {
    this.machine = new LedgerMachine({
      attemptsMax: options.jobAttemptsMax,
      retryBaseMs: options.jobRetryDelayMs,
      retryCapMs: options.jobRetryDelayMs,
    });
    this.jobs = sizesBytes.map((sizeBytes, index) => ({
      jobId: `job-${index}`,
      sizeBytes,
      status: 'pending' as JobStatus,
      attempts: 0,
      holder: -1,
      leaseExpiresAtMs: 0,
      firstClaimAtMs: -1,
      endedAtMs: -1,
      completions: 0,
      lastFailure: null,
      picks: picks?.[index] ?? null,
      exportedRows: 0,
    }));
    for (const job of this.jobs) this.byId.set(job.jobId, job);
    const enqueued = this.jobs.map((job) => {
      const input = simulatedInput(job);
      return { jobId: job.jobId, input, sizeBytes: job.sizeBytes, outputKey: outputKeyOf(job) };
    });
    this.machine.enqueue(runId, enqueued, undefined, 0);
  }

  get allEnded(): boolean {
    return this.ended === this.jobs.length;
  }

  claim(holder: number, count: number, nowMs: number, leaseMs: number): { jobs: ClaimedJob[]; exhausted: boolean } {
    const outcome = this.machine.claim(runId, String(holder), count, leaseMs, nowMs);
    if (count > 0 && outcome.answer.jobs.length === 0) this.drainedAtMs ??= nowMs;
    for (const stored of changedJobs(outcome)) {
      // A claim that meets a leased job takes over (or gives up) a lease that ran out.
      if (entryOf(this.byId, stored.jobId, 'job').status === 'leased') this.reclaimed += 1;
    }
    this.follow(outcome, nowMs);
    const jobs = outcome.answer.jobs.map((job) => ({
      ...job,
      sizeBytes: entryOf(this.byId, job.jobId, 'job').sizeBytes,
    }));
    return { jobs, exhausted: outcome.answer.exhausted };
  }

  /** Whether `lease` is the live lease of its job at `nowMs`. */
  holds(lease: Lease, nowMs: number): boolean {
    return this.machine.holds(runId, lease, nowMs);
  }

  /**
   * Renews each lease still held. The fleet's instances name no worker here: each lease is
   * renewed for its current holder, so the fence is the attempt number alone.
   */
  heartbeat(leases: readonly Lease[], nowMs: number, leaseMs: number): { renewed: string[]; lost: string[] } {
    const renewed: string[] = [];
    const lost: string[] = [];
    for (const lease of leases) {
      const holder = this.byId.get(lease.jobId)?.holder ?? -1;
      const outcome = this.machine.heartbeat(runId, String(holder), [lease], leaseMs, nowMs);
      this.follow(outcome, nowMs);
      renewed.push(...outcome.answer.renewed);
      lost.push(...outcome.answer.lost);
    }
    return { renewed, lost };
  }

  /** Whether the job is done, by this very attempt. */
  completedBy(lease: Lease): boolean {
    return this.machine.completedBy(runId, lease);
  }

  /**
   * The fenced completion: false when the lease is no longer held (the caller lost it).
   * Idempotent for the attempt that completed the job: its retry (the first answer was lost)
   * is answered true and counts no second completion.
   */
  complete(lease: Lease, nowMs: number, rows = 0): boolean {
    const outcome = this.machine.complete(runId, lease, simulatedResult, nowMs);
    if (changedJobs(outcome).length > 0) {
      const job = entryOf(this.byId, lease.jobId, 'job');
      job.completions += 1;
      job.exportedRows = rows;
    }
    this.follow(outcome, nowMs);
    return outcome.answer;
  }

  fail(lease: Lease, failure: Failure, nowMs: number): boolean {
    const outcome = this.machine.fail(runId, lease, failure, nowMs);
    this.follow(outcome, nowMs);
    return outcome.answer;
  }

  release(lease: Lease, nowMs: number): boolean {
    const outcome = this.machine.release(runId, lease, nowMs);
    this.follow(outcome, nowMs);
    return outcome.answer;
  }

  /** Brings the views and counts in step with the jobs an operation changed. */
  private follow(outcome: Outcome<unknown>, nowMs: number): void {
    for (const stored of changedJobs(outcome)) {
      const job = entryOf(this.byId, stored.jobId, 'job');
      const status: JobStatus = stored.state === 'failed' ? 'dead' : stored.state;
      if (job.status === 'leased') this.leased -= 1;
      if (status === 'leased') this.leased += 1;
      if ((status === 'done' || status === 'dead') && job.status !== 'done' && job.status !== 'dead') {
        this.ended += 1;
        job.endedAtMs = stored.finishedAtMs ?? nowMs;
      }
      if (status === 'leased' && job.firstClaimAtMs < 0) job.firstClaimAtMs = nowMs;
      job.status = status;
      job.attempts = stored.attempt;
      job.holder = stored.leaseOwner === null ? -1 : Number(stored.leaseOwner);
      job.leaseExpiresAtMs = status === 'leased' ? (stored.claimableAtMs ?? 0) : job.leaseExpiresAtMs;
      job.lastFailure = stored.lastError;
    }
  }
}

function changedJobs(outcome: Outcome<unknown>): StoredJob[] {
  return outcome.records.flatMap((record: LedgerRecord) => (record.kind === 'jobs' ? record.jobs : []));
}

/** What a simulated job records as its result: the fleet counts bytes and rows elsewhere. */
const simulatedResult = { rows: 0, inputBytes: 0, outputBytes: 0, counters: emptyRecordCounters };

function simulatedInput(job: LedgerJob): InputRef {
  const name = `${job.jobId}.warc.gz`;
  return {
    uri: `s3://commoncrawl/simulated/${name}`,
    sizeBytes: job.sizeBytes,
    filename: name,
    crawl: 'CC-MAIN-SIM',
    subset: 'warc',
    segment: null,
    ...(job.picks !== null && { picks: job.picks }),
  };
}

function outputKeyOf(job: LedgerJob): string {
  return `crawl=CC-MAIN-SIM/subset=warc/${job.jobId}${job.picks === null ? '' : '.picked'}.parquet`;
}
