import type { Failure } from './failure.ts';
import type { InputRef, Lease, LeasedJob } from './input-ref.ts';
import type { RecordCounters } from './record-counters.ts';
import type { BadRecordCounts, RecordWarningCounts, SkippedRecordCounts } from './record-reasons.ts';

export interface ClaimResult {
  readonly jobs: readonly LeasedJob[];
  /** No job of the run is pending or leased by anyone: the run has nothing left to hand out. */
  readonly exhausted: boolean;
}

export interface HeartbeatResult {
  readonly renewed: readonly string[];
  /** Jobs whose lease this worker no longer holds (expired and reclaimed, or fenced). */
  readonly lost: readonly string[];
}

export interface JobResult {
  readonly rows: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly counters: RecordCounters;
}

export interface WorkerProgress {
  readonly workerId: string;
  readonly currentInput: string | null;
  readonly records: number;
  readonly bytes: number;
  readonly badRecords: number;
  readonly status: 'running' | 'draining' | 'stopped';
  /** Bytes of `currentInput` read so far; absent from a worker that predates it. */
  readonly currentBytes?: number;
  /** Size of `currentInput` in bytes, null when not known. */
  readonly currentSizeBytes?: number | null;
  /** The worker's read rate over its last seconds, null before it read anything. */
  readonly bytesPerSecond?: number | null;
}

export interface RunStats {
  readonly pending: number;
  readonly claimed: number;
  readonly done: number;
  readonly failed: number;
  readonly remaining: number;
  readonly inputBytesDone: number;
  readonly rowsDone: number;
  /** Bad records of the done jobs, from their stored results: the sum of `badByReasonDone`. */
  readonly badRecordsDone: number;
  /** Skipped records (no web capture: `dns:`, `whois:`) of the done jobs, apart from the bad ones. */
  readonly skippedRecordsDone: number;
  /** Rows of the done jobs kept with a warning (a column left null, a length mended). */
  readonly recordWarningsDone: number;
  /**
   * The same by reason code. Results stored before the codes read into them: a free text that
   * was a reason becomes its code, one this version does not know counts as `other`.
   */
  readonly badByReasonDone: BadRecordCounts;
  readonly skippedByReasonDone: SkippedRecordCounts;
  readonly warningByReasonDone: RecordWarningCounts;
}

/** Where a run reads and writes, stored by its first enqueue so that `status` can list runs. */
export interface RunOrigin {
  readonly input: string;
  readonly output: string;
}

/**
 * An input refused at enqueue: another input of the run already holds its output key, and
 * one object cannot hold two inputs (the second would overwrite the first).
 */
export interface OutputKeyCollision {
  readonly uri: string;
  readonly outputKey: string;
  /** The input that holds the key. */
  readonly heldBy: string;
}

export interface EnqueueResult {
  /** Inputs new to the run. */
  readonly added: number;
  /** Inputs refused for their output key; the rest of the batch was enqueued. */
  readonly collisions: readonly OutputKeyCollision[];
}

/**
 * Shared memory of a run: which inputs exist, who holds which, what is done.
 * Every write after `claim` is fenced by the lease's attempt number: a worker that lost its
 * lease cannot complete, fail or release the job.
 */
export interface Ledger {
  /**
   * Idempotent: an input enqueued twice is one job. Sizes may be missing. An input whose output
   * key another input of the run holds is refused and reported, without refusing the others.
   * The run's first enqueue keeps its origin (later ones do not change it).
   */
  enqueue(runId: string, inputs: readonly InputRef[], origin?: RunOrigin): Promise<EnqueueResult>;
  claim(runId: string, workerId: string, count: number, leaseMs: number): Promise<ClaimResult>;
  heartbeat(runId: string, workerId: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult>;
  /** Returns false when the lease was lost: the result is not recorded. */
  complete(runId: string, lease: Lease, result: JobResult): Promise<boolean>;
  /** Retryable failures are scheduled again after a delay, up to the ledger's attempt limit. */
  fail(runId: string, lease: Lease, failure: Failure): Promise<boolean>;
  release(runId: string, lease: Lease): Promise<boolean>;
  /** Makes jobs whose lease expired claimable again; returns how many. */
  reclaimExpired(runId: string): Promise<number>;
  progress(runId: string, progress: WorkerProgress): Promise<void>;
  stats(runId: string): Promise<RunStats>;
}

/** What the ledger stores of an input at enqueue. */
export interface EnqueuedJob {
  /** The job's id within its run, the same for the same input (adapters/ledger: a hash of its URI). */
  readonly jobId: string;
  readonly input: InputRef;
  /** Null when the listing gave none: the claiming worker asks the source. */
  readonly sizeBytes: number | null;
  readonly outputKey: string;
}

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

/** A run as `status` lists it. */
export interface RunListing {
  readonly runId: string;
  /** What the run's first enqueue said; null for a run enqueued without it (an older worker). */
  readonly input: string | null;
  readonly output: string | null;
  readonly pending: number;
  readonly claimed: number;
  readonly done: number;
  readonly failed: number;
  /** Epoch ms of the last enqueue, job end or worker progress report. */
  readonly lastActivityMs: number;
  /** Epoch ms at which the last job ended (done or failed); null before any did. */
  readonly lastFinishedMs: number | null;
}

/**
 * A job that shares its output key with an input enqueued before it: left by a ledger written
 * before keys had to be distinct, found when the ledger was upgraded (PostgreSQL) or read
 * (embedded). Such a job is never handed out again, nor reset by `retryFailed`.
 */
export interface SharedOutputKey extends OutputKeyCollision {
  readonly state: JobStatus['state'];
}
