/**
 * What both ledgers (embedded and PostgreSQL) share: their options, the job key, the retry
 * schedule of failed jobs and the checks on what a caller hands them. Keeping these in one
 * place is what lets one contract suite hold both to the same semantics.
 */
import { createHash } from 'node:crypto';
import type { InputRef } from '../../core/input-ref.ts';
import type { Ledger, WorkerProgress } from '../../core/ledger.ts';

export interface LedgerOptions {
  /**
   * The output object key of an input. The ledger computes it once, at enqueue, and stores
   * it with the job: every worker of a run then writes a job where the first enqueue said,
   * even if a later worker runs a different version of the key rule.
   */
  readonly outputKeyOf: (input: InputRef) => string;
  /**
   * Claims of one job that may end badly (a retryable failure or an expired lease) before it
   * fails for good. A release on graceful shutdown is not charged.
   */
  readonly attemptsMax?: number;
  /** Delay before the first retry of a job that failed retryably; doubles each time. */
  readonly retryBaseMs?: number;
  /** The retry delay never exceeds this. */
  readonly retryCapMs?: number;
}

export interface RetrySchedule {
  readonly attemptsMax: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
}

/**
 * Defaults: a job that failed retryably comes back after 1, 2, 4, 8 minutes and fails for
 * good at its fifth charged attempt. The worker's core has already retried each task (up to
 * 5 times, 0.5–30 s apart) before it fails a job, so a job failure means a remote is down
 * for minutes, not seconds: the ledger waits on that scale.
 */
export const defaultRetrySchedule: RetrySchedule = {
  attemptsMax: 5,
  retryBaseMs: 60_000,
  retryCapMs: 30 * 60_000,
};

/** Lease of a claim when the caller has no opinion (the core passes its own `leaseMs`). */
export const defaultLeaseMs = 300_000;

/** Inputs written in one statement or one journal line: bounds statement and line sizes. */
export const enqueueBatchMax = 1_000;

export function retryScheduleOf(options: LedgerOptions): RetrySchedule {
  const schedule: RetrySchedule = {
    attemptsMax: options.attemptsMax ?? defaultRetrySchedule.attemptsMax,
    retryBaseMs: options.retryBaseMs ?? defaultRetrySchedule.retryBaseMs,
    retryCapMs: options.retryCapMs ?? defaultRetrySchedule.retryCapMs,
  };
  if (!Number.isInteger(schedule.attemptsMax) || schedule.attemptsMax < 1) {
    throw new Error(`ledger configuration error (caller's): attemptsMax must be a positive integer, got ${schedule.attemptsMax}`);
  }
  if (!(schedule.retryBaseMs >= 1 && schedule.retryBaseMs <= schedule.retryCapMs)) {
    throw new Error(`ledger configuration error (caller's): retryBaseMs must be in [1, retryCapMs], got ${schedule.retryBaseMs}`);
  }
  return schedule;
}

/**
 * Delay before a job's next claim after its `chargedAttempts`-th attempt failed retryably:
 * retryBaseMs × 2^(chargedAttempts − 1), capped at retryCapMs. No jitter: jobs fail one by
 * one, not in a herd (the core already jitters task retries), and a fixed schedule is one an
 * operator can read off the table. The PostgreSQL ledger computes the same formula in SQL
 * (see postgres-ledger-statements.ts).
 */
export function jobRetryDelayMs(schedule: RetrySchedule, chargedAttempts: number): number {
  const exponent = Math.min(Math.max(chargedAttempts - 1, 0), 30);
  return Math.min(schedule.retryCapMs, schedule.retryBaseMs * 2 ** exponent);
}

/**
 * A job's id within its run: the first 128 bits of SHA-256 of the input's URI, hex. The same
 * input enqueued twice, by any worker, is the same job; 128 bits make a collision among a
 * crawl's 100,000 inputs far less likely than a disk error.
 */
export function jobIdOf(input: InputRef): string {
  return createHash('sha256').update(input.uri).digest('hex').slice(0, 32);
}

/** What the ledger stores of an input at enqueue. */
export interface EnqueuedJob {
  readonly jobId: string;
  readonly input: InputRef;
  /** Null when the listing gave none: the claiming worker asks the source. */
  readonly sizeBytes: number | null;
  readonly outputKey: string;
}

/**
 * A size is optional at enqueue: a `warc.paths` manifest lists paths only, and asking the
 * source for each of 100,000 files before the first claim kept every worker of a fleet busy
 * for an hour (one HEAD a file, 20 a second). Given, it must be a byte count.
 */
export function enqueuedJobOf(input: InputRef, outputKeyOf: (input: InputRef) => string): EnqueuedJob {
  checkSizeBytes(input);
  return { jobId: jobIdOf(input), input, sizeBytes: input.sizeBytes ?? null, outputKey: outputKeyOf(input) };
}

export function checkSizeBytes(input: InputRef): void {
  const sizeBytes = input.sizeBytes;
  if (sizeBytes !== undefined && (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0)) {
    throw new Error(`ledger enqueue refused (caller's fault): input ${input.uri} has an invalid sizeBytes (${String(sizeBytes)})`);
  }
}

export function checkRunId(runId: string): void {
  if (runId === '' || runId.length > 200) {
    throw new Error(`ledger call refused (caller's fault): run id must be 1–200 characters, got ${JSON.stringify(runId)}`);
  }
}

export function checkClaim(count: number, leaseMs: number): void {
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    throw new Error(`ledger claim refused (caller's fault): count must be an integer in [1, 10000], got ${count}`);
  }
  checkLeaseMs(leaseMs);
}

export function checkLeaseMs(leaseMs: number): void {
  if (!(leaseMs >= 1 && leaseMs <= 7 * 24 * 3_600_000)) {
    throw new Error(`ledger call refused (caller's fault): leaseMs must be in [1 ms, 7 days], got ${leaseMs}`);
  }
}

/** How a failure is kept as the job's last error: whose fault first, then the reason. */
export function lastErrorOf(failure: { readonly fault: string; readonly reason: string }): string {
  return `${failure.fault}: ${failure.reason}`.slice(0, 2_000);
}

export const leaseExpiredError = "ours: lease expired (the worker died or hung) on the job's last allowed attempt";

/** A job as `status` and the tests see it. */
export interface JobStatus {
  readonly state: 'pending' | 'leased' | 'done' | 'failed';
  readonly attempt: number;
  readonly chargedAttempts: number;
  readonly lastError: string | null;
}

/** A job that failed for good, as the end-of-run summary lists it. */
export interface FailedJob {
  readonly uri: string;
  readonly lastError: string | null;
}

/** What both ledgers offer beyond the port: reads for `status` and tests, and closing. */
export interface InspectableLedger extends Ledger {
  jobStatus(runId: string, jobId: string): Promise<JobStatus | undefined>;
  workerProgress(runId: string): Promise<WorkerProgress[]>;
  /** Jobs failed for good, by URI, at most `limit` (a crawl may fail thousands). */
  failedJobs(runId: string, limit: number): Promise<FailedJob[]>;
  close(): Promise<void>;
}
