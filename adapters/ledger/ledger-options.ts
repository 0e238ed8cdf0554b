/**
 * What both real ledgers (embedded and PostgreSQL) share beyond the port's rules in
 * core/ledger-rules.ts (which the simulator's ledger follows too): their options, the job key
 * and what they store at enqueue.
 */
import { createHash } from 'node:crypto';
import type { InputRef } from '../../core/input-ref.ts';
import type {
  EnqueuedJob,
  FailedJob,
  JobStatus,
  Ledger,
  RunListing,
  SharedOutputKey,
  WorkerProgress,
} from '../../core/ledger.ts';
export type { EnqueuedJob, FailedJob, JobStatus, RunListing, SharedOutputKey } from '../../core/ledger.ts';
export { journalJobsPerRecordMax as enqueueBatchMax } from '../../core/ledger-machine.ts';
import { checkSizeBytes } from '../../core/ledger-rules.ts';
import { picksText } from '../source/pick-key.ts';

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
  /**
   * The ledger's clock, epoch ms. Default: the system clock (embedded) or the database's
   * (PostgreSQL, through `cc_ledger_now()`). Tests set it, so that leases expire and retries
   * come due without real waits.
   */
  readonly nowMs?: () => number;
}

/** Lease of a claim when the caller has no opinion (the core passes its own `leaseMs`). */
export const defaultLeaseMs = 300_000;

/**
 * A job's id within its run: the first 128 bits of SHA-256 of the input's URI (and picked
 * ranges, for a subset), hex. The same
 * input enqueued twice, by any worker, is the same job; 128 bits make a collision among a
 * crawl's 100,000 inputs far less likely than a disk error.
 */
export function jobIdOf(input: InputRef): string {
  // A subset's picks are part of its identity: another query's picks of the same file are another job.
  const identity = input.picks === undefined ? input.uri : `${input.uri}\n${picksText(input.picks)}`;
  return createHash('sha256').update(identity).digest('hex').slice(0, 32);
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

/** What both ledgers offer beyond the port: reads for `status` and tests, the operator's commands, and closing. */
export interface InspectableLedger extends Ledger {
  jobStatus(runId: string, jobId: string): Promise<JobStatus | undefined>;
  workerProgress(runId: string): Promise<WorkerProgress[]>;
  /** Jobs failed for good, by URI, at most `limit` (a crawl may fail thousands). */
  failedJobs(runId: string, limit: number): Promise<FailedJob[]>;
  /**
   * Puts the run's failed jobs back to pending, claimable at once, with their charged attempts
   * at 0 (the attempt number, which fences writes, keeps counting); returns them as they were.
   * Only an operator's command calls this: a worker never resets poison inputs by itself.
   */
  retryFailed(runId: string): Promise<FailedJob[]>;
  /** Every run the ledger holds, the most recently active first. */
  listRuns(): Promise<RunListing[]>;
  /** One run; undefined when the ledger holds no such run (reading it creates nothing). */
  runListing(runId: string): Promise<RunListing | undefined>;
  /** Jobs of the run sharing an output key with an earlier input, at most `limit`. */
  sharedOutputKeys(runId: string, limit: number): Promise<SharedOutputKey[]>;
  close(): Promise<void>;
}
