/**
 * The Ledger port on simulated time, held to the same contract suite as the embedded and
 * PostgreSQL ledgers: idempotent enqueue keyed by input URI per run; claims with a lease and
 * an attempt number that fences complete, fail, release and heartbeat; expired leases taken
 * over (and charged); retryable failures back off and come back up to an attempt limit;
 * release charges nothing; an output key held by one input per run; failed jobs reset on
 * request; runs listed; progress rows and stats. The retry schedule and the checks on what
 * a caller hands it are the real ledgers' own, from core/ledger-rules.ts.
 */
import { entryOf } from '../core/checked-access.ts';
import type { Failure } from '../core/failure.ts';
import type { InputRef, Lease, LeasedJob } from '../core/input-ref.ts';
import {
  checkClaim,
  checkLeaseMs,
  checkRunId,
  checkSizeBytes,
  doneRecordStats,
  jobRetryDelayMs,
  lastErrorOf,
  leaseExpiredError,
  retryScheduleOf,
  type RetrySchedule,
} from '../core/ledger-rules.ts';
import type {
  ClaimResult,
  EnqueueResult,
  HeartbeatResult,
  JobResult,
  OutputKeyCollision,
  RunOrigin,
  RunStats,
  WorkerProgress,
} from '../core/ledger.ts';
import { addRecordCounters, emptyRecordCounters } from '../core/record-counters.ts';
import { grantLease, holdsLease, leaseRanOut, renewLease, type LeasedState } from './lease-fence.ts';

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

/** A job as `status` and the tests see it (the shape of the real ledgers' `JobStatus`). */
export interface SimulatedJobStatus {
  readonly state: 'pending' | 'leased' | 'done' | 'failed';
  readonly attempt: number;
  readonly chargedAttempts: number;
  readonly lastError: string | null;
}

interface PortJob extends LeasedState {
  readonly jobId: string;
  readonly input: InputRef;
  readonly sizeBytes: number | null;
  readonly outputKey: string;
  status: SimulatedJobStatus['state'];
  /** Claims that ended badly or are under way; a release hands its claim back. */
  chargedAttempts: number;
  holder: string | null;
  /** When a pending job may be claimed: later than now while it waits for a retry. */
  claimableAtMs: number;
  lastError: string | null;
  result: JobResult | null;
  finishedAtMs: number | null;
}

/** A run as `status` lists it (the shape of the real ledgers' `RunListing`). */
export interface SimulatedRunListing {
  readonly runId: string;
  readonly input: string | null;
  readonly output: string | null;
  readonly pending: number;
  readonly claimed: number;
  readonly done: number;
  readonly failed: number;
  readonly lastActivityMs: number;
  readonly lastFinishedMs: number | null;
}

interface RunState {
  readonly jobs: Map<string, PortJob>;
  readonly jobIdByUri: Map<string, string>;
  /** Pending and leased jobs in claim order; a job that becomes pending again goes to the back. */
  readonly open: Set<string>;
  readonly progress: Map<string, WorkerProgress>;
  /** Which job holds each output key: the first enqueued. */
  readonly outputKeyHolders: Map<string, string>;
  origin: RunOrigin | null;
  readonly createdAtMs: number;
  progressAtMs: number;
}

export class SimulatedLedgerPort {
  private readonly runs = new Map<string, RunState>();
  private readonly schedule: RetrySchedule;
  private readonly outputKeyOf: (input: InputRef) => string;
  private readonly clock: { nowMs(): number };
  private closed = false;

  constructor(options: SimulatedLedgerPortOptions) {
    this.schedule = retryScheduleOf(options);
    this.outputKeyOf = options.outputKeyOf;
    this.clock = options.clock;
  }

  async enqueue(runId: string, inputs: readonly InputRef[], origin?: RunOrigin): Promise<EnqueueResult> {
    // Check every input before storing any, so a refused batch leaves nothing half-enqueued.
    checkRunId(runId);
    for (const input of inputs) checkSizeBytes(input);
    const run = this.run(runId);
    if (run.origin === null && origin !== undefined) run.origin = origin;
    let added = 0;
    const collisions: OutputKeyCollision[] = [];
    for (const input of inputs) {
      if (run.jobIdByUri.has(input.uri)) continue;
      const outputKey = this.outputKeyOf(input);
      const holder = run.jobs.get(run.outputKeyHolders.get(outputKey) ?? '');
      if (holder !== undefined) {
        collisions.push({ uri: input.uri, outputKey, heldBy: holder.input.uri });
        continue;
      }
      const job = newJob(`job-${run.jobs.size}`, input, outputKey, this.clock.nowMs());
      run.jobs.set(job.jobId, job);
      run.jobIdByUri.set(input.uri, job.jobId);
      run.outputKeyHolders.set(outputKey, job.jobId);
      run.open.add(job.jobId);
      added += 1;
    }
    return { added, collisions };
  }

  async claim(runId: string, workerId: string, count: number, leaseMs: number): Promise<ClaimResult> {
    checkClaim(count, leaseMs);
    const run = this.run(runId);
    const nowMs = this.clock.nowMs();
    const claimed: LeasedJob[] = [];
    // Bounded by the run's open jobs; stops once `count` jobs are taken. Deleting the job at
    // hand while iterating a Set is well defined, so failing an expired job needs no copy.
    for (const jobId of run.open) {
      if (claimed.length >= count) break;
      const job = entryOf(run.jobs, jobId, 'job');
      if (!this.claimable(job, nowMs)) continue;
      if (job.status === 'leased' && job.chargedAttempts >= this.schedule.attemptsMax) {
        this.finish(run, job, 'failed', leaseExpiredError);
        continue;
      }
      grantLease(job, nowMs, leaseMs);
      job.chargedAttempts += 1;
      job.holder = workerId;
      claimed.push({
        jobId,
        input: job.input,
        sizeBytes: job.sizeBytes,
        attempt: job.attempts,
        outputKey: job.outputKey,
      });
    }
    return { jobs: claimed, exhausted: claimed.length === 0 && run.open.size === 0 };
  }

  async heartbeat(
    runId: string,
    workerId: string,
    leases: readonly Lease[],
    leaseMs: number,
  ): Promise<HeartbeatResult> {
    if (leases.length === 0) return { renewed: [], lost: [] };
    checkLeaseMs(leaseMs);
    const run = this.run(runId);
    const nowMs = this.clock.nowMs();
    const renewed: string[] = [];
    const lost: string[] = [];
    for (const lease of leases) {
      const job = run.jobs.get(lease.jobId);
      if (job === undefined || !holdsLease(job, lease, nowMs) || job.holder !== workerId) {
        lost.push(lease.jobId);
        continue;
      }
      renewLease(job, nowMs, leaseMs);
      renewed.push(lease.jobId);
    }
    return { renewed, lost };
  }

  /** Idempotent for the attempt that completed the job: its retry hears "done" and changes nothing. */
  async complete(runId: string, lease: Lease, result: JobResult): Promise<boolean> {
    const done = this.run(runId).jobs.get(lease.jobId);
    if (done?.status === 'done' && done.attempts === lease.attempt) return true;
    return this.fencedChange(runId, lease, (run, job) => {
      job.result = result;
      this.finish(run, job, 'done', job.lastError);
    });
  }

  async fail(runId: string, lease: Lease, failure: Failure): Promise<boolean> {
    const lastError = lastErrorOf(failure);
    return this.fencedChange(runId, lease, (run, job, nowMs) => {
      const retry = (failure.retryable || failure.throttled) && job.chargedAttempts < this.schedule.attemptsMax;
      if (!retry) {
        this.finish(run, job, 'failed', lastError);
        return;
      }
      job.lastError = lastError;
      this.reopen(run, job, nowMs + jobRetryDelayMs(this.schedule, job.chargedAttempts));
    });
  }

  /** A graceful hand-back: claimable at once, and the claim is not charged. */
  async release(runId: string, lease: Lease): Promise<boolean> {
    return this.fencedChange(runId, lease, (run, job, nowMs) => {
      job.chargedAttempts -= 1;
      this.reopen(run, job, nowMs);
    });
  }

  async reclaimExpired(runId: string): Promise<number> {
    const run = this.run(runId);
    const nowMs = this.clock.nowMs();
    let reclaimed = 0;
    // Bounded by twice the run's open jobs: a reclaimed job moves to the back of `open` and is
    // met once more, pending by then, so it is skipped.
    for (const jobId of run.open) {
      const job = entryOf(run.jobs, jobId, 'job');
      if (!leaseRanOut(job, job.attempts, nowMs)) continue;
      if (job.chargedAttempts >= this.schedule.attemptsMax) {
        this.finish(run, job, 'failed', leaseExpiredError);
        continue;
      }
      this.reopen(run, job, nowMs);
      reclaimed += 1;
    }
    return reclaimed;
  }

  async progress(runId: string, progress: WorkerProgress): Promise<void> {
    const run = this.run(runId);
    run.progress.set(progress.workerId, { ...progress });
    run.progressAtMs = this.clock.nowMs();
  }

  async stats(runId: string): Promise<RunStats> {
    const counts = { pending: 0, leased: 0, done: 0, failed: 0 };
    let inputBytesDone = 0;
    let rowsDone = 0;
    let records = emptyRecordCounters;
    this.checkOpen(runId);
    for (const job of this.runs.get(runId)?.jobs.values() ?? []) {
      counts[job.status] += 1;
      inputBytesDone += job.result?.inputBytes ?? 0;
      rowsDone += job.result?.rows ?? 0;
      if (job.result !== null) records = addRecordCounters(records, job.result.counters);
    }
    return {
      pending: counts.pending,
      claimed: counts.leased,
      done: counts.done,
      failed: counts.failed,
      remaining: counts.pending + counts.leased,
      inputBytesDone,
      rowsDone,
      ...doneRecordStats(records),
    };
  }

  async jobStatus(runId: string, jobId: string): Promise<SimulatedJobStatus | undefined> {
    const job = this.runs.get(runId)?.jobs.get(jobId);
    if (job === undefined) return undefined;
    return { state: job.status, attempt: job.attempts, chargedAttempts: job.chargedAttempts, lastError: job.lastError };
  }

  async workerProgress(runId: string): Promise<WorkerProgress[]> {
    return [...(this.runs.get(runId)?.progress.values() ?? [])].sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  /** Jobs failed for good, by URI, at most `limit`. */
  async failedJobs(runId: string, limit: number): Promise<{ uri: string; lastError: string | null }[]> {
    const failed = [...(this.runs.get(runId)?.jobs.values() ?? [])].filter((job) => job.status === 'failed');
    const listed = failed.map((job) => ({ uri: job.input.uri, lastError: job.lastError }));
    return listed.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0)).slice(0, limit);
  }

  /** Failed jobs back to pending, claimable at once, charged attempts at 0; the attempt number keeps counting. */
  async retryFailed(runId: string): Promise<{ uri: string; lastError: string | null }[]> {
    this.checkOpen(runId);
    const run = this.runs.get(runId);
    const reset: { uri: string; lastError: string | null }[] = [];
    if (run === undefined) return reset;
    for (const job of run.jobs.values()) {
      if (job.status !== 'failed') continue;
      reset.push({ uri: job.input.uri, lastError: job.lastError });
      job.chargedAttempts = 0;
      job.finishedAtMs = null;
      this.reopen(run, job, this.clock.nowMs());
    }
    return reset;
  }

  async listRuns(): Promise<SimulatedRunListing[]> {
    const listed: SimulatedRunListing[] = [];
    for (const runId of this.runs.keys()) {
      const listing = await this.runListing(runId);
      if (listing !== undefined) listed.push(listing);
    }
    return listed.sort((a, b) => b.lastActivityMs - a.lastActivityMs || (a.runId < b.runId ? -1 : 1));
  }

  async runListing(runId: string): Promise<SimulatedRunListing | undefined> {
    this.checkOpen(runId);
    const run = this.runs.get(runId);
    if (run === undefined || run.jobs.size === 0) return undefined;
    const counts = { pending: 0, leased: 0, done: 0, failed: 0 };
    let lastFinishedMs: number | null = null;
    for (const job of run.jobs.values()) {
      counts[job.status] += 1;
      if (job.finishedAtMs !== null) lastFinishedMs = Math.max(lastFinishedMs ?? 0, job.finishedAtMs);
    }
    return {
      runId,
      input: run.origin?.input ?? null,
      output: run.origin?.output ?? null,
      pending: counts.pending,
      claimed: counts.leased,
      done: counts.done,
      failed: counts.failed,
      lastActivityMs: Math.max(run.createdAtMs, lastFinishedMs ?? 0, run.progressAtMs),
      lastFinishedMs,
    };
  }

  /** Every enqueue here already refused shared keys: there are none to report. */
  async sharedOutputKeys(
    runId: string,
    _limit: number,
  ): Promise<(OutputKeyCollision & { state: SimulatedJobStatus['state'] })[]> {
    this.checkOpen(runId);
    return [];
  }

  /** Nothing to flush: the state lives in memory. Later calls are a bug in the caller. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** A pending job whose wait is over, or a leased job whose lease ran out. */
  private claimable(job: PortJob, nowMs: number): boolean {
    if (job.status === 'pending') return job.claimableAtMs <= nowMs;
    return leaseRanOut(job, job.attempts, nowMs);
  }

  private async fencedChange(
    runId: string,
    lease: Lease,
    change: (run: RunState, job: PortJob, nowMs: number) => void,
  ): Promise<boolean> {
    const run = this.run(runId);
    const nowMs = this.clock.nowMs();
    const job = run.jobs.get(lease.jobId);
    if (job === undefined || !holdsLease(job, lease, nowMs)) return false;
    change(run, job, nowMs);
    return true;
  }

  private reopen(run: RunState, job: PortJob, claimableAtMs: number): void {
    job.status = 'pending';
    job.holder = null;
    job.claimableAtMs = claimableAtMs;
    run.open.delete(job.jobId);
    run.open.add(job.jobId);
  }

  private finish(run: RunState, job: PortJob, status: 'done' | 'failed', lastError: string | null): void {
    job.status = status;
    job.holder = null;
    job.lastError = lastError;
    job.finishedAtMs = this.clock.nowMs();
    run.open.delete(job.jobId);
  }

  private checkOpen(runId: string): void {
    if (this.closed) throw new Error("ledger call refused (caller's fault): the ledger is closed");
    checkRunId(runId);
  }

  private run(runId: string): RunState {
    this.checkOpen(runId);
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = {
        jobs: new Map(),
        jobIdByUri: new Map(),
        open: new Set(),
        progress: new Map(),
        outputKeyHolders: new Map(),
        origin: null,
        createdAtMs: this.clock.nowMs(),
        progressAtMs: 0,
      };
      this.runs.set(runId, run);
    }
    return run;
  }
}

function newJob(jobId: string, input: InputRef, outputKey: string, nowMs: number): PortJob {
  return {
    jobId,
    input,
    sizeBytes: input.sizeBytes ?? null,
    outputKey,
    status: 'pending',
    attempts: 0,
    chargedAttempts: 0,
    holder: null,
    leaseExpiresAtMs: 0,
    claimableAtMs: nowMs,
    lastError: null,
    result: null,
    finishedAtMs: null,
  };
}
