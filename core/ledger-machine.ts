/**
 * The ledger's rules as a pure state machine: every operation of the Ledger port (enqueue,
 * claim, heartbeat, complete, fail, release, reclaim, retry failed, progress) and every read
 * (stats, job status, runs listing), each given the time `nowMs`. No I/O, no clock.
 *
 * The embedded ledger is this machine plus a journal of the records each operation returns;
 * the simulator's ledgers are this machine on virtual time. The PostgreSQL ledger keeps its
 * SQL (postgres-ledger-statements.ts) and a differential test runs random command sequences
 * against both and asserts the same answers (test/adapters/ledger-postgres-model.test.ts).
 *
 * The rules, in one place:
 * - A job is pending (claimable from `claimableAtMs`), leased (until `claimableAtMs`), done
 *   or failed. Claims take claimable jobs oldest `claimableAtMs` first, ties in enqueue
 *   order, at most `count` of them examined: the SQL's `ORDER BY claimable_at, seq LIMIT`.
 * - Every claim bumps the attempt number; every later write (renew, complete, fail, release)
 *   is fenced by it: the job is leased, with that attempt, and the lease has not run out.
 * - A lease that ran out is claimable again and charged; on its last allowed charged attempt
 *   the job fails instead (a worker that dies on an input every time must not loop forever).
 * - A retryable failure comes back after `jobRetryDelayMs`, up to `attemptsMax` charged
 *   attempts; a release charges nothing and is claimable at once.
 * - Complete is idempotent for the attempt that completed the job.
 * - An output key is held by one input per run; a later input under it is refused at enqueue.
 *
 * Every mutation returns records (`LedgerRecord`): the new state of each job it changed, the
 * run's record, a progress row. Applying them with `restore` rebuilds the same state, so they
 * are the embedded ledger's journal lines, in the format it has always written.
 */
import { BinaryHeap } from './binary-heap.ts';
import { entryOf } from './checked-access.ts';
import type { Failure } from './failure.ts';
import type { InputRef, Lease, LeasedJob } from './input-ref.ts';
import type {
  ClaimResult,
  EnqueuedJob,
  EnqueueResult,
  FailedJob,
  HeartbeatResult,
  JobResult,
  JobStatus,
  OutputKeyCollision,
  RunListing,
  RunOrigin,
  RunStats,
  SharedOutputKey,
  WorkerProgress,
} from './ledger.ts';
import {
  checkClaim,
  checkLeaseMs,
  checkRunId,
  checkSizeBytes,
  doneRecordStats,
  jobRetryDelayMs,
  lastErrorOf,
  leaseExpiredError,
  sharedOutputKeyError,
  type RetrySchedule,
} from './ledger-rules.ts';
import { addRecordCounters, emptyRecordCounters, readStoredRecordCounters } from './record-counters.ts';

/** Jobs in one record (a journal line): bounds a line's size (about 1 MB at 1 KB a job). */
export const journalJobsPerRecordMax = 1_000;

/** A job's whole state: a record carries these, so applying records is "last one wins". */
export interface StoredJob {
  readonly jobId: string;
  readonly input: InputRef;
  readonly sizeBytes: number | null;
  readonly outputKey: string;
  readonly state: JobStatus['state'];
  readonly attempt: number;
  readonly chargedAttempts: number;
  readonly leaseOwner: string | null;
  /** As in the SQL ledger: pending, when claimable; leased, when the lease expires; else null. */
  readonly claimableAtMs: number | null;
  readonly lastError: string | null;
  readonly result: JobResult | null;
  /** Epoch ms at which it was done or failed; absent in journals written before it was kept. */
  readonly finishedAtMs?: number | null;
}

/** What the run's first enqueue recorded; absent in journals written before it was kept. */
export interface RunRecord {
  readonly origin: RunOrigin | null;
  readonly createdAtMs: number;
}

export type LedgerRecord =
  | { readonly kind: 'jobs'; readonly runId: string; readonly jobs: readonly StoredJob[] }
  | { readonly kind: 'progress'; readonly runId: string; readonly progress: WorkerProgress; readonly atMs?: number }
  | { readonly kind: 'run'; readonly runId: string; readonly record: RunRecord };

/** An operation's answer and the records of what it changed. */
export interface Outcome<T> {
  readonly answer: T;
  readonly records: readonly LedgerRecord[];
}

/** A job in the machine: its stored state plus where it stands in claim order. */
interface Job {
  stored: StoredJob;
  /** Enqueue order within the run: the tie-break of claim order (the SQL's `seq`). */
  readonly seq: number;
  /** Bumped whenever the job's place in a queue changes; a queue entry with an older one is stale. */
  ticket: number;
}

interface QueueEntry {
  readonly atMs: number;
  readonly seq: number;
  readonly ticket: number;
  readonly job: Job;
}

interface RunState {
  readonly jobs: Map<string, Job>;
  /** Pending and leased jobs: what the queues hold live entries of. */
  readonly open: Set<Job>;
  /** Pending jobs by (claimableAtMs, seq), and leased jobs by (lease end, seq); stale entries skipped. */
  pending: BinaryHeap<QueueEntry>;
  leased: BinaryHeap<QueueEntry>;
  readonly progress: Map<string, WorkerProgress>;
  /** Which job holds each output key: the first enqueued. */
  readonly outputKeyHolders: Map<string, string>;
  /** Jobs a journal written before keys had to be distinct holds under a key another input held first: job id → that input. */
  readonly sharedKeys: Map<string, string>;
  record: RunRecord | null;
  /** Epoch ms of the last progress report. */
  progressAtMs: number;
  nextSeq: number;
}

/** Queues are rebuilt from the open jobs once stale entries outnumber live ones by this much. */
const staleEntriesSlack = 1_024;

function queueBefore(a: QueueEntry, b: QueueEntry): boolean {
  return a.atMs !== b.atMs ? a.atMs < b.atMs : a.seq < b.seq;
}

export class LedgerMachine {
  private readonly runs = new Map<string, RunState>();

  constructor(private readonly schedule: RetrySchedule) {}

  /**
   * Idempotent: a job id the run holds is skipped. An input whose output key another input of
   * the run holds is refused and reported; the rest of the batch is enqueued. Inputs are checked
   * before any is stored, so a refused batch leaves nothing half-enqueued.
   */
  enqueue(
    runId: string,
    jobs: readonly EnqueuedJob[],
    origin: RunOrigin | undefined,
    nowMs: number,
  ): Outcome<EnqueueResult> {
    checkRunId(runId);
    for (const job of jobs) checkSizeBytes(job.input);
    // An empty batch names no run (the SQL ledger writes nothing for it either).
    if (jobs.length === 0) return { answer: { added: 0, collisions: [] }, records: [] };
    const run = this.runOf(runId);
    const records: LedgerRecord[] = [];
    if (run.record === null || (run.record.origin === null && origin !== undefined)) {
      run.record = { origin: origin ?? null, createdAtMs: run.record?.createdAtMs ?? nowMs };
      records.push({ kind: 'run', runId, record: run.record });
    }
    const added: StoredJob[] = [];
    const collisions: OutputKeyCollision[] = [];
    for (const job of jobs) {
      // `store` makes a duplicate within this call a known job too, and its key held.
      if (run.jobs.has(job.jobId)) continue;
      const holder = run.jobs.get(run.outputKeyHolders.get(job.outputKey) ?? '');
      if (holder !== undefined) {
        collisions.push({ uri: job.input.uri, outputKey: job.outputKey, heldBy: holder.stored.input.uri });
        continue;
      }
      const stored: StoredJob = {
        jobId: job.jobId,
        input: job.input,
        sizeBytes: job.sizeBytes,
        outputKey: job.outputKey,
        state: 'pending',
        attempt: 0,
        chargedAttempts: 0,
        leaseOwner: null,
        claimableAtMs: nowMs,
        lastError: null,
        result: null,
      };
      this.store(run, stored);
      added.push(stored);
    }
    records.push(...jobRecords(runId, added));
    return { answer: { added: added.length, collisions }, records };
  }

  /**
   * Examines at most `count` claimable jobs in claim order: each is leased to `workerId`, or,
   * if it is an expired lease on its last allowed attempt, failed (and not handed out).
   */
  claim(runId: string, workerId: string, count: number, leaseMs: number, nowMs: number): Outcome<ClaimResult> {
    checkRunId(runId);
    checkClaim(count, leaseMs);
    const run = this.runs.get(runId);
    if (run === undefined) return { answer: { jobs: [], exhausted: true }, records: [] };
    const changed: StoredJob[] = [];
    const claimed: LeasedJob[] = [];
    // Bounded by `count`: every round takes one job off a queue.
    for (let examined = 0; examined < count; examined += 1) {
      const job = this.nextClaimable(run, nowMs);
      if (job === undefined) break;
      const was = job.stored;
      const next: StoredJob =
        was.state === 'leased' && was.chargedAttempts >= this.schedule.attemptsMax
          ? finished(was, 'failed', leaseExpiredError, nowMs)
          : {
              ...was,
              state: 'leased',
              attempt: was.attempt + 1,
              chargedAttempts: was.chargedAttempts + 1,
              leaseOwner: workerId,
              claimableAtMs: nowMs + leaseMs,
              finishedAtMs: null,
            };
      this.store(run, next);
      changed.push(next);
      if (next.state === 'leased') claimed.push(leasedJobOf(next));
    }
    const exhausted = claimed.length === 0 && run.open.size === 0;
    return { answer: { jobs: claimed, exhausted }, records: jobRecords(runId, changed) };
  }

  heartbeat(
    runId: string,
    workerId: string,
    leases: readonly Lease[],
    leaseMs: number,
    nowMs: number,
  ): Outcome<HeartbeatResult> {
    checkRunId(runId);
    if (leases.length === 0) return { answer: { renewed: [], lost: [] }, records: [] };
    checkLeaseMs(leaseMs);
    const run = this.runs.get(runId);
    const renewed: StoredJob[] = [];
    const lost: string[] = [];
    for (const lease of leases) {
      const job = run === undefined ? undefined : heldLease(run, lease, nowMs);
      if (run === undefined || job === undefined || job.stored.leaseOwner !== workerId) {
        lost.push(lease.jobId);
        continue;
      }
      const next = { ...job.stored, claimableAtMs: nowMs + leaseMs };
      this.store(run, next);
      renewed.push(next);
    }
    return { answer: { renewed: renewed.map((job) => job.jobId), lost }, records: jobRecords(runId, renewed) };
  }

  /**
   * Idempotent for the attempt that completed the job: its retry (the first answer was lost)
   * hears "done" and changes nothing; the first result stands.
   */
  complete(runId: string, lease: Lease, result: JobResult, nowMs: number): Outcome<boolean> {
    checkRunId(runId);
    if (this.completedBy(runId, lease)) return { answer: true, records: [] };
    return this.fencedChange(runId, lease, nowMs, (held) => ({
      ...finished(held, 'done', held.lastError, nowMs),
      result,
    }));
  }

  fail(runId: string, lease: Lease, failure: Failure, nowMs: number): Outcome<boolean> {
    const lastError = lastErrorOf(failure);
    return this.fencedChange(runId, lease, nowMs, (job) => {
      const retry = (failure.retryable || failure.throttled) && job.chargedAttempts < this.schedule.attemptsMax;
      if (!retry) return finished(job, 'failed', lastError, nowMs);
      const claimableAtMs = nowMs + jobRetryDelayMs(this.schedule, job.chargedAttempts);
      return { ...job, state: 'pending', claimableAtMs, lastError };
    });
  }

  /** A graceful hand-back: claimable at once, and the claim is not charged. */
  release(runId: string, lease: Lease, nowMs: number): Outcome<boolean> {
    return this.fencedChange(runId, lease, nowMs, (job) => ({
      ...job,
      state: 'pending',
      claimableAtMs: nowMs,
      chargedAttempts: job.chargedAttempts - 1,
    }));
  }

  /** Expired leases back to pending (or failed, on their last allowed attempt); returns how many became pending. */
  reclaimExpired(runId: string, nowMs: number): Outcome<number> {
    checkRunId(runId);
    const run = this.runs.get(runId);
    if (run === undefined) return { answer: 0, records: [] };
    const changed: StoredJob[] = [];
    // Bounded by the run's open jobs: each expired lease leaves the leased queue once.
    for (let job = nextExpired(run, nowMs); job !== undefined; job = nextExpired(run, nowMs)) {
      const next =
        job.stored.chargedAttempts >= this.schedule.attemptsMax
          ? finished(job.stored, 'failed', leaseExpiredError, nowMs)
          : { ...job.stored, state: 'pending' as const, claimableAtMs: nowMs };
      this.store(run, next);
      changed.push(next);
    }
    const reclaimed = changed.filter((job) => job.state === 'pending').length;
    return { answer: reclaimed, records: jobRecords(runId, changed) };
  }

  progress(runId: string, progress: WorkerProgress, nowMs: number): Outcome<void> {
    checkRunId(runId);
    const run = this.runOf(runId);
    run.progress.set(progress.workerId, { ...progress });
    run.progressAtMs = nowMs;
    return { answer: undefined, records: [{ kind: 'progress', runId, progress, atMs: nowMs }] };
  }

  /**
   * The run's failed jobs back to pending, claimable at once, charged attempts at 0 (the
   * attempt number, the fencing token, keeps counting); jobs sharing another's output key stay
   * failed. Returns them as they were.
   */
  retryFailed(runId: string, nowMs: number): Outcome<FailedJob[]> {
    checkRunId(runId);
    const run = this.runs.get(runId);
    if (run === undefined) return { answer: [], records: [] };
    const reset: StoredJob[] = [];
    const was: FailedJob[] = [];
    for (const { stored } of run.jobs.values()) {
      if (stored.state !== 'failed' || run.sharedKeys.has(stored.jobId)) continue;
      was.push({ uri: stored.input.uri, lastError: stored.lastError });
      reset.push({
        ...stored,
        state: 'pending',
        chargedAttempts: 0,
        leaseOwner: null,
        claimableAtMs: nowMs,
        finishedAtMs: null,
      });
    }
    for (const job of reset) this.store(run, job);
    return { answer: was, records: jobRecords(runId, reset) };
  }

  /**
   * Jobs a journal written before output keys had to be distinct holds under a key another
   * input held first: those not finished are failed with both named, so they cannot overwrite
   * the first's object (one already done has: `sharedOutputKeys` says so).
   */
  failSharedOutputKeys(nowMs: number): Outcome<void> {
    const records: LedgerRecord[] = [];
    for (const [runId, run] of this.runs) {
      const failed: StoredJob[] = [];
      for (const [jobId, heldBy] of run.sharedKeys) {
        const job = entryOf(run.jobs, jobId, 'job').stored;
        if (job.state !== 'pending' && job.state !== 'leased') continue;
        failed.push(finished(job, 'failed', sharedOutputKeyError(job.outputKey, heldBy), nowMs));
      }
      for (const job of failed) this.store(run, job);
      records.push(...jobRecords(runId, failed));
    }
    return { answer: undefined, records };
  }

  /**
   * Every lease made expired at once, not recorded: the embedded ledger calls this at start,
   * when the process that held the leases is gone (it owns the folder's lock).
   */
  expireEveryLease(): void {
    for (const run of this.runs.values()) {
      for (const job of [...run.open]) {
        if (job.stored.state === 'leased') this.store(run, { ...job.stored, claimableAtMs: 0 });
      }
    }
  }

  /** Applies a record (a journal line): the state of the jobs, run or progress it names wins. */
  restore(record: LedgerRecord): void {
    const run = this.runOf(record.runId);
    if (record.kind === 'progress') {
      run.progress.set(record.progress.workerId, record.progress);
      run.progressAtMs = Math.max(run.progressAtMs, record.atMs ?? 0);
    } else if (record.kind === 'run') run.record = record.record;
    else for (const job of record.jobs) this.store(run, storedResultRead(job));
  }

  /** The whole state as records: what the embedded ledger's compaction writes. */
  snapshot(): LedgerRecord[] {
    const records: LedgerRecord[] = [];
    for (const [runId, run] of this.runs) {
      if (run.record !== null) records.push({ kind: 'run', runId, record: run.record });
      records.push(
        ...jobRecords(
          runId,
          [...run.jobs.values()].map((job) => job.stored),
        ),
      );
      for (const progress of run.progress.values()) {
        records.push({ kind: 'progress', runId, progress, atMs: run.progressAtMs });
      }
    }
    return records;
  }

  /** How many records `snapshot` would return now, without building them. */
  snapshotRecordCount(): number {
    let count = 0;
    for (const run of this.runs.values()) {
      count += Math.ceil(run.jobs.size / journalJobsPerRecordMax) + run.progress.size + (run.record === null ? 0 : 1);
    }
    return count;
  }

  /** The fence: still leased, with this attempt, and the lease has not expired. */
  holds(runId: string, lease: Lease, nowMs: number): boolean {
    const run = this.runs.get(runId);
    return run !== undefined && heldLease(run, lease, nowMs) !== undefined;
  }

  /** Whether the job is done, by this very attempt. */
  completedBy(runId: string, lease: Lease): boolean {
    const job = this.runs.get(runId)?.jobs.get(lease.jobId)?.stored;
    return job?.state === 'done' && job.attempt === lease.attempt;
  }

  job(runId: string, jobId: string): StoredJob | undefined {
    return this.runs.get(runId)?.jobs.get(jobId)?.stored;
  }

  jobStatus(runId: string, jobId: string): JobStatus | undefined {
    const job = this.job(runId, jobId);
    if (job === undefined) return undefined;
    return { state: job.state, attempt: job.attempt, chargedAttempts: job.chargedAttempts, lastError: job.lastError };
  }

  stats(runId: string): RunStats {
    checkRunId(runId);
    const counts = stateCounts(this.runs.get(runId));
    let inputBytesDone = 0;
    let rowsDone = 0;
    let records = emptyRecordCounters;
    for (const { stored } of this.runs.get(runId)?.jobs.values() ?? []) {
      if (stored.state !== 'done' || stored.result === null) continue;
      inputBytesDone += stored.result.inputBytes;
      rowsDone += stored.result.rows;
      records = addRecordCounters(records, stored.result.counters);
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

  workerProgress(runId: string): WorkerProgress[] {
    return [...(this.runs.get(runId)?.progress.values() ?? [])].sort((a, b) => compareText(a.workerId, b.workerId));
  }

  /** Jobs failed for good, by URI, at most `limit`. */
  failedJobs(runId: string, limit: number): FailedJob[] {
    const failed: FailedJob[] = [];
    for (const { stored } of this.runs.get(runId)?.jobs.values() ?? []) {
      if (stored.state === 'failed') failed.push({ uri: stored.input.uri, lastError: stored.lastError });
    }
    return failed.sort((a, b) => compareText(a.uri, b.uri)).slice(0, limit);
  }

  /** Every run, the most recently active first, ties by run id (the SQL's order). */
  listRuns(): RunListing[] {
    const listed: RunListing[] = [];
    for (const runId of this.runs.keys()) {
      const listing = this.runListing(runId);
      if (listing !== undefined) listed.push(listing);
    }
    return listed.sort((a, b) => b.lastActivityMs - a.lastActivityMs || compareText(a.runId, b.runId));
  }

  /** A run exists once something was enqueued in it; progress alone names no run. */
  runListing(runId: string): RunListing | undefined {
    const run = this.runs.get(runId);
    if (run === undefined || (run.record === null && run.jobs.size === 0)) return undefined;
    const counts = stateCounts(run);
    let lastFinishedMs: number | null = null;
    for (const { stored } of run.jobs.values()) {
      if (typeof stored.finishedAtMs === 'number') lastFinishedMs = Math.max(lastFinishedMs ?? 0, stored.finishedAtMs);
    }
    return {
      runId,
      input: run.record?.origin?.input ?? null,
      output: run.record?.origin?.output ?? null,
      pending: counts.pending,
      claimed: counts.leased,
      done: counts.done,
      failed: counts.failed,
      lastActivityMs: Math.max(run.record?.createdAtMs ?? 0, lastFinishedMs ?? 0, run.progressAtMs),
      lastFinishedMs,
    };
  }

  sharedOutputKeys(runId: string, limit: number): SharedOutputKey[] {
    const run = this.runs.get(runId);
    const shared: SharedOutputKey[] = [];
    if (run === undefined) return shared;
    for (const [jobId, heldBy] of run.sharedKeys) {
      if (shared.length >= limit) break;
      const job = entryOf(run.jobs, jobId, 'job').stored;
      shared.push({ uri: job.input.uri, outputKey: job.outputKey, heldBy, state: job.state });
    }
    return shared;
  }

  private fencedChange(
    runId: string,
    lease: Lease,
    nowMs: number,
    change: (job: StoredJob) => StoredJob,
  ): Outcome<boolean> {
    checkRunId(runId);
    const run = this.runs.get(runId);
    const job = run === undefined ? undefined : heldLease(run, lease, nowMs);
    if (run === undefined || job === undefined) return { answer: false, records: [] };
    const next = change(job.stored);
    this.store(run, next);
    return { answer: true, records: jobRecords(runId, [next]) };
  }

  /** The next job a claim takes: the earliest of both queues' heads, if claimable at `nowMs`. */
  private nextClaimable(run: RunState, nowMs: number): Job | undefined {
    const pending = liveHead(run.pending);
    const leased = liveHead(run.leased);
    const head = pending === undefined || (leased !== undefined && queueBefore(leased, pending)) ? leased : pending;
    if (head === undefined || head.atMs > nowMs) return undefined;
    return head.job;
  }

  private runOf(runId: string): RunState {
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = {
        jobs: new Map(),
        open: new Set(),
        pending: new BinaryHeap(queueBefore),
        leased: new BinaryHeap(queueBefore),
        progress: new Map(),
        outputKeyHolders: new Map(),
        sharedKeys: new Map(),
        record: null,
        progressAtMs: 0,
        nextSeq: 0,
      };
      this.runs.set(runId, run);
    }
    return run;
  }

  /** Sets a job's state and keeps the open set, the queues and the key holders in step. */
  private store(run: RunState, stored: StoredJob): void {
    let job = run.jobs.get(stored.jobId);
    if (job === undefined) {
      job = { stored, seq: run.nextSeq, ticket: 0 };
      run.nextSeq += 1;
      run.jobs.set(stored.jobId, job);
      const holder = run.jobs.get(run.outputKeyHolders.get(stored.outputKey) ?? '');
      if (holder === undefined) run.outputKeyHolders.set(stored.outputKey, stored.jobId);
      else run.sharedKeys.set(stored.jobId, holder.stored.input.uri);
    }
    job.stored = stored;
    job.ticket += 1;
    const queue = stored.state === 'pending' ? run.pending : stored.state === 'leased' ? run.leased : undefined;
    if (queue === undefined || stored.claimableAtMs === null) {
      run.open.delete(job);
      return;
    }
    run.open.add(job);
    queue.push({ atMs: stored.claimableAtMs, seq: job.seq, ticket: job.ticket, job });
    if (run.pending.size + run.leased.size > 2 * run.open.size + staleEntriesSlack) rebuildQueues(run);
  }
}

/** The head of a queue after dropping stale entries; bounded by the queue's size. */
function liveHead(queue: BinaryHeap<QueueEntry>): QueueEntry | undefined {
  for (let head = queue.peek(); head !== undefined; head = queue.peek()) {
    if (head.ticket === head.job.ticket) return head;
    queue.pop();
  }
  return undefined;
}

/** An expired lease off the leased queue, or undefined when none is. */
function nextExpired(run: RunState, nowMs: number): Job | undefined {
  const head = liveHead(run.leased);
  if (head === undefined || head.atMs > nowMs) return undefined;
  run.leased.pop();
  return head.job;
}

/** Drops every stale entry: renewals leave one each, so the queues would grow with heartbeats. */
function rebuildQueues(run: RunState): void {
  run.pending = new BinaryHeap(queueBefore);
  run.leased = new BinaryHeap(queueBefore);
  for (const job of run.open) {
    const atMs = job.stored.claimableAtMs ?? 0;
    const queue = job.stored.state === 'leased' ? run.leased : run.pending;
    queue.push({ atMs, seq: job.seq, ticket: job.ticket, job });
  }
}

function heldLease(run: RunState, lease: Lease, nowMs: number): Job | undefined {
  const job = run.jobs.get(lease.jobId);
  const stored = job?.stored;
  if (stored === undefined || stored.state !== 'leased' || stored.attempt !== lease.attempt) return undefined;
  if (stored.claimableAtMs === null || stored.claimableAtMs <= nowMs) return undefined;
  return job;
}

function finished(job: StoredJob, state: 'done' | 'failed', lastError: string | null, nowMs: number): StoredJob {
  return { ...job, state, claimableAtMs: null, lastError, finishedAtMs: nowMs };
}

function leasedJobOf(job: StoredJob): LeasedJob {
  return {
    jobId: job.jobId,
    input: job.input,
    sizeBytes: job.sizeBytes,
    attempt: job.attempt,
    outputKey: job.outputKey,
  };
}

function jobRecords(runId: string, jobs: readonly StoredJob[]): LedgerRecord[] {
  const records: LedgerRecord[] = [];
  for (let start = 0; start < jobs.length; start += journalJobsPerRecordMax) {
    records.push({ kind: 'jobs', runId, jobs: jobs.slice(start, start + journalJobsPerRecordMax) });
  }
  return records;
}

function stateCounts(run: RunState | undefined): Record<JobStatus['state'], number> {
  const counts = { pending: 0, leased: 0, done: 0, failed: 0 };
  for (const { stored } of run?.jobs.values() ?? []) counts[stored.state] += 1;
  return counts;
}

/** Code-unit order, as the SQL's `ORDER BY` under the C collation and as `<` on strings. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A job as a record gave it back: its result's counters read into reason codes, so that a
 * result stored before the codes (free-text reasons), or by a later version, reads without fault.
 */
function storedResultRead(job: StoredJob): StoredJob {
  if (job.result === null) return job;
  return { ...job, result: { ...job.result, counters: readStoredRecordCounters(job.result.counters) } };
}
