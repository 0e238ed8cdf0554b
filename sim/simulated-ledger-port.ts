/**
 * The Ledger port on simulated time: the pure ledger machine (core/ledger-machine.ts), which
 * the embedded ledger journals and the PostgreSQL ledger's SQL is proved to agree with, read
 * on a clock the simulation moves. Held to the same contract suite as the real ledgers. What
 * is its own: job ids (`job-0`, `job-1`, … per run, by first sight of a URI, instead of a hash)
 * and refusing every call once closed.
 */
import type { Failure } from '../core/failure.ts';
import type { InputRef, Lease } from '../core/input-ref.ts';
import { LedgerMachine, type Outcome } from '../core/ledger-machine.ts';
import { checkRunId, retryScheduleOf } from '../core/ledger-rules.ts';
import type {
  ClaimResult,
  EnqueuedJob,
  EnqueueResult,
  FailedJob,
  HeartbeatResult,
  JobResult,
  JobStatus,
  RunListing,
  RunOrigin,
  RunStats,
  SharedOutputKey,
  WorkerProgress,
} from '../core/ledger.ts';

export interface SimulatedLedgerPortOptions {
  /** Where each input's output goes; computed once, at enqueue, like the real ledgers. */
  readonly outputKeyOf: (input: InputRef) => string;
  /** Charged claims (retryable failures, expired leases) before a job fails for good. */
  readonly attemptsMax?: number;
  /** Delay before the first retry; doubles each time up to `retryCapMs`. */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  /** The ledger's time: a `VirtualClock`, or anything that tells the time. */
  readonly clock: { nowMs(): number };
}

/** A job as `status` and the tests see it: the real ledgers' `JobStatus`. */
export type SimulatedJobStatus = JobStatus;

/** A run as `status` lists it: the real ledgers' `RunListing`. */
export type SimulatedRunListing = RunListing;

export class SimulatedLedgerPort {
  private readonly machine: LedgerMachine;
  private readonly outputKeyOf: (input: InputRef) => string;
  private readonly clock: { nowMs(): number };
  /** Per run, the id given to each URI seen at an enqueue. */
  private readonly jobIds = new Map<string, Map<string, string>>();
  private closed = false;

  constructor(options: SimulatedLedgerPortOptions) {
    this.machine = new LedgerMachine(retryScheduleOf(options));
    this.outputKeyOf = options.outputKeyOf;
    this.clock = options.clock;
  }

  async enqueue(runId: string, inputs: readonly InputRef[], origin?: RunOrigin): Promise<EnqueueResult> {
    this.checkOpen(runId);
    const jobs = inputs.map((input) => this.enqueuedJobOf(runId, input));
    return this.answer(this.machine.enqueue(runId, jobs, origin, this.clock.nowMs()));
  }

  async claim(runId: string, workerId: string, count: number, leaseMs: number): Promise<ClaimResult> {
    this.checkOpen(runId);
    return this.answer(this.machine.claim(runId, workerId, count, leaseMs, this.clock.nowMs()));
  }

  async heartbeat(
    runId: string,
    workerId: string,
    leases: readonly Lease[],
    leaseMs: number,
  ): Promise<HeartbeatResult> {
    this.checkOpen(runId);
    return this.answer(this.machine.heartbeat(runId, workerId, leases, leaseMs, this.clock.nowMs()));
  }

  async complete(runId: string, lease: Lease, result: JobResult): Promise<boolean> {
    this.checkOpen(runId);
    return this.answer(this.machine.complete(runId, lease, result, this.clock.nowMs()));
  }

  async fail(runId: string, lease: Lease, failure: Failure): Promise<boolean> {
    this.checkOpen(runId);
    return this.answer(this.machine.fail(runId, lease, failure, this.clock.nowMs()));
  }

  async release(runId: string, lease: Lease): Promise<boolean> {
    this.checkOpen(runId);
    return this.answer(this.machine.release(runId, lease, this.clock.nowMs()));
  }

  async reclaimExpired(runId: string): Promise<number> {
    this.checkOpen(runId);
    return this.answer(this.machine.reclaimExpired(runId, this.clock.nowMs()));
  }

  async progress(runId: string, progress: WorkerProgress): Promise<void> {
    this.checkOpen(runId);
    this.answer(this.machine.progress(runId, progress, this.clock.nowMs()));
  }

  async retryFailed(runId: string): Promise<FailedJob[]> {
    this.checkOpen(runId);
    return this.answer(this.machine.retryFailed(runId, this.clock.nowMs()));
  }

  async stats(runId: string): Promise<RunStats> {
    this.checkOpen(runId);
    return this.machine.stats(runId);
  }

  async jobStatus(runId: string, jobId: string): Promise<SimulatedJobStatus | undefined> {
    this.checkOpen(runId);
    return this.machine.jobStatus(runId, jobId);
  }

  async workerProgress(runId: string): Promise<WorkerProgress[]> {
    this.checkOpen(runId);
    return this.machine.workerProgress(runId);
  }

  /** Jobs failed for good, by URI, at most `limit`. */
  async failedJobs(runId: string, limit: number): Promise<FailedJob[]> {
    this.checkOpen(runId);
    return this.machine.failedJobs(runId, limit);
  }

  async listRuns(): Promise<SimulatedRunListing[]> {
    if (this.closed) throw closedError();
    return this.machine.listRuns();
  }

  async runListing(runId: string): Promise<SimulatedRunListing | undefined> {
    this.checkOpen(runId);
    return this.machine.runListing(runId);
  }

  /** Every enqueue here refuses shared keys, so there are none unless a run was restored with them. */
  async sharedOutputKeys(runId: string, limit: number): Promise<SharedOutputKey[]> {
    this.checkOpen(runId);
    return this.machine.sharedOutputKeys(runId, limit);
  }

  /** Nothing to flush: the state lives in memory. Later calls are a bug in the caller. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** The machine keeps no journal here: its records are dropped. */
  private answer<T>(outcome: Outcome<T>): T {
    return outcome.answer;
  }

  private enqueuedJobOf(runId: string, input: InputRef): EnqueuedJob {
    let ids = this.jobIds.get(runId);
    if (ids === undefined) {
      ids = new Map();
      this.jobIds.set(runId, ids);
    }
    let jobId = ids.get(input.uri);
    if (jobId === undefined) {
      jobId = `job-${ids.size}`;
      ids.set(input.uri, jobId);
    }
    return { jobId, input, sizeBytes: input.sizeBytes ?? null, outputKey: this.outputKeyOf(input) };
  }

  private checkOpen(runId: string): void {
    if (this.closed) throw closedError();
    checkRunId(runId);
  }
}

function closedError(): Error {
  return new Error("ledger call refused (caller's fault): the ledger is closed");
}
