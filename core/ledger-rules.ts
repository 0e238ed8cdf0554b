/**
 * What the pure ledger machine (ledger-machine.ts, which the embedded ledger and the
 * simulator run) shares with the PostgreSQL ledger's SQL: the retry schedule of failed jobs,
 * how a last error is kept, the words of the errors the ledger writes, and the checks on what
 * a caller hands them. The SQL takes these as parameters, so neither restates them.
 */
import type { InputRef } from './input-ref.ts';
import type { RunStats } from './ledger.ts';
import { type RecordCounters, totalCount } from './record-counters.ts';

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

export function retryScheduleOf(options: Partial<RetrySchedule>): RetrySchedule {
  const schedule: RetrySchedule = {
    attemptsMax: options.attemptsMax ?? defaultRetrySchedule.attemptsMax,
    retryBaseMs: options.retryBaseMs ?? defaultRetrySchedule.retryBaseMs,
    retryCapMs: options.retryCapMs ?? defaultRetrySchedule.retryCapMs,
  };
  if (!Number.isInteger(schedule.attemptsMax) || schedule.attemptsMax < 1) {
    throw new Error(
      `ledger configuration error (caller's): attemptsMax must be a positive integer, got ${schedule.attemptsMax}`,
    );
  }
  if (!(schedule.retryBaseMs >= 1 && schedule.retryBaseMs <= schedule.retryCapMs)) {
    throw new Error(
      `ledger configuration error (caller's): retryBaseMs must be in [1, retryCapMs], got ${schedule.retryBaseMs}`,
    );
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

/** A size is optional at enqueue (a manifest lists none: the claiming worker asks the source); given, it is a byte count. */
export function checkSizeBytes(input: InputRef): void {
  const sizeBytes = input.sizeBytes;
  if (sizeBytes !== undefined && (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0)) {
    throw new Error(
      `ledger enqueue refused (caller's fault): input ${input.uri} has an invalid sizeBytes (${String(sizeBytes)})`,
    );
  }
}

export function checkRunId(runId: string): void {
  if (runId === '' || runId.length > 200) {
    throw new Error(
      `ledger call refused (caller's fault): run id must be 1–200 characters, got ${JSON.stringify(runId)}`,
    );
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

/**
 * The last error of a job the ledger found sharing its output key with an input enqueued
 * before it (a ledger written before keys had to be distinct). The PostgreSQL migration that
 * introduced the rule writes the same words (migrations/004-distinct-output-keys.sql).
 */
export function sharedOutputKeyError(outputKey: string, heldBy: string): string {
  return `input: output ${outputKey} is also the output of ${heldBy} in this run; export this input under a new --run-id`;
}

/** What `RunStats` says of the done jobs' records: totals and counts by reason code. */
export type DoneRecordStats = Pick<
  RunStats,
  | 'badRecordsDone'
  | 'skippedRecordsDone'
  | 'recordWarningsDone'
  | 'badByReasonDone'
  | 'skippedByReasonDone'
  | 'warningByReasonDone'
>;

/** The done jobs' record stats from their counters summed (`addRecordCounters`). */
export function doneRecordStats(counters: RecordCounters): DoneRecordStats {
  const bad = counters.badByReason;
  const skipped = counters.skippedByReason ?? {};
  const warning = counters.warningByReason ?? {};
  return {
    badRecordsDone: totalCount(bad),
    skippedRecordsDone: totalCount(skipped),
    recordWarningsDone: totalCount(warning),
    badByReasonDone: bad,
    skippedByReasonDone: skipped,
    warningByReasonDone: warning,
  };
}
