/**
 * The Ledger port without a server: the default for one machine, kept in a folder beside the
 * output. The state lives in memory; every change is a line of a journal (journal-file.ts)
 * that is on disk before the change is acknowledged, and the journal is replayed at start.
 * A change is decided and applied in memory at once (so two concurrent claims never take the
 * same job) and acknowledged after its line is synced: a read (`stats`) may see a change a few
 * milliseconds before it is durable, but no caller acts on one that is not.
 *
 * Semantics match the PostgreSQL ledger (one contract suite holds both): attempt numbers fence
 * every write after a claim, leases expire, retries follow `jobRetryDelayMs`. One process owns
 * the folder at a time (a lock file with its pid), so at start every lease in the journal
 * belongs to a process that is gone: those leases are treated as expired at once instead of
 * making a restarted worker wait out its own dead leases.
 *
 * Why a journal and not PGlite (PostgreSQL in WebAssembly, which would share the SQL): it is
 * available on npm (0.5.x) and bundles its WebAssembly, but it runs one connection in one
 * thread, `SKIP LOCKED` means nothing there, and its durability under SIGKILL rests on its
 * own file-system layer, which we would have to prove anyway. The journal is ~300 lines whose
 * crash safety is argued in one place and tested by killing a process at random points.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { entryOf } from '../../core/checked-access.ts';
import type { Failure } from '../../core/failure.ts';
import type { InputRef, Lease, LeasedJob } from '../../core/input-ref.ts';
import type {
  ClaimResult,
  EnqueueResult,
  HeartbeatResult,
  JobResult,
  OutputKeyCollision,
  RunOrigin,
  RunStats,
  WorkerProgress,
} from '../../core/ledger.ts';
import { addRecordCounters, emptyRecordCounters, readStoredRecordCounters } from '../../core/record-counters.ts';
import { JournalFile, replayJournal } from './journal-file.ts';
import {
  checkClaim,
  checkLeaseMs,
  checkRunId,
  doneRecordStats,
  jobRetryDelayMs,
  lastErrorOf,
  leaseExpiredError,
  retryScheduleOf,
  sharedOutputKeyError,
  type RetrySchedule,
} from '../../core/ledger-rules.ts';
import {
  enqueueBatchMax,
  enqueuedJobOf,
  type FailedJob,
  type InspectableLedger,
  type JobStatus,
  type LedgerOptions,
  type RunListing,
  type SharedOutputKey,
} from './ledger-options.ts';

export interface EmbeddedLedgerOptions extends LedgerOptions {
  /** The ledger's folder, created if missing; e.g. `<output>/.ledger`. */
  readonly directory: string;
  /** The journal is not compacted below this many lines. Default 10,000 (about 10 MB at a typical 1 KB a line). */
  readonly compactLinesMin?: number;
  /**
   * For `status` while a worker runs: reads the journal as it is, without the lock, without
   * cutting a torn tail (it may be a line being written) and without expiring leases; every
   * write is refused.
   */
  readonly readOnly?: boolean;
}

/** A job's whole state: a journal line carries these, so replay is "last line wins". */
interface StoredJob {
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
interface RunRecord {
  readonly origin: RunOrigin | null;
  readonly createdAtMs: number;
}

type JournalLine =
  | { readonly kind: 'jobs'; readonly runId: string; readonly jobs: readonly StoredJob[] }
  | { readonly kind: 'progress'; readonly runId: string; readonly progress: WorkerProgress; readonly atMs?: number }
  | { readonly kind: 'run'; readonly runId: string; readonly record: RunRecord };

interface RunState {
  readonly jobs: Map<string, StoredJob>;
  /** Pending or leased jobs, in the order they became so: what a claim scans. */
  readonly open: Set<string>;
  readonly progress: Map<string, WorkerProgress>;
  /** Which job holds each output key: the first enqueued. */
  readonly outputKeyHolders: Map<string, string>;
  /**
   * Jobs that a journal written before keys had to be distinct holds under a key another input
   * held first: job id → that input.
   */
  readonly sharedKeys: Map<string, string>;
  record: RunRecord | null;
  /** Epoch ms of the last progress report. */
  progressAtMs: number;
}

const lockFileName = 'lock';
/** Folders this process holds the lock of: a second open here is refused. */
const openDirectories = new Set<string>();

export class EmbeddedLedger implements InspectableLedger {
  private readonly runs = new Map<string, RunState>();
  private readonly schedule: RetrySchedule;
  private readonly outputKeyOf: (input: InputRef) => string;
  private readonly directory: string;
  private readonly readOnly: boolean;
  private journal: JournalFile | undefined;

  private constructor(options: EmbeddedLedgerOptions) {
    this.schedule = retryScheduleOf(options);
    this.outputKeyOf = options.outputKeyOf;
    this.directory = options.directory;
    this.readOnly = options.readOnly === true;
  }

  /** Takes the folder's lock, replays the journal and opens it for appending. */
  static async open(options: EmbeddedLedgerOptions): Promise<EmbeddedLedger> {
    if (options.readOnly === true) {
      const reader = new EmbeddedLedger(options);
      const replayed = await replayJournal(options.directory, { cutTornTail: false });
      for (const line of replayed.lines) reader.apply(line as JournalLine);
      return reader;
    }
    await mkdir(options.directory, { recursive: true });
    await takeLock(options.directory);
    const ledger = new EmbeddedLedger(options);
    try {
      const replayed = await replayJournal(options.directory);
      for (const line of replayed.lines) ledger.apply(line as JournalLine);
      ledger.expireEveryLease();
      ledger.journal = await JournalFile.open(options.directory, replayed.lines.length, {
        snapshot: () => ledger.snapshotLines(),
        liveLines: () => ledger.liveLineCount(),
        compactLinesMin: options.compactLinesMin ?? 10_000,
      });
      await ledger.failSharedOutputKeys();
    } catch (error) {
      await ledger.close();
      throw error;
    }
    return ledger;
  }

  async close(): Promise<void> {
    if (this.readOnly) return;
    await this.journal?.close();
    this.journal = undefined;
    await releaseLock(this.directory);
  }

  async enqueue(runId: string, inputs: readonly InputRef[], origin?: RunOrigin): Promise<EnqueueResult> {
    checkRunId(runId);
    const jobs = inputs.map((input) => enqueuedJobOf(input, this.outputKeyOf));
    const run = this.run(runId);
    const writes: Promise<void>[] = [];
    if (run.record === null || (run.record.origin === null && origin !== undefined)) {
      run.record = { origin: origin ?? null, createdAtMs: run.record?.createdAtMs ?? Date.now() };
      writes.push(this.write({ kind: 'run', runId, record: run.record }));
    }
    const added: StoredJob[] = [];
    const collisions: OutputKeyCollision[] = [];
    for (const job of jobs) {
      // `store` below makes a duplicate within this call a known job too, and its key held.
      if (run.jobs.has(job.jobId)) continue;
      const holder = run.jobs.get(run.outputKeyHolders.get(job.outputKey) ?? '');
      if (holder !== undefined) {
        collisions.push({ uri: job.input.uri, outputKey: job.outputKey, heldBy: holder.input.uri });
        continue;
      }
      const stored: StoredJob = {
        ...job,
        state: 'pending',
        attempt: 0,
        chargedAttempts: 0,
        leaseOwner: null,
        claimableAtMs: Date.now(),
        lastError: null,
        result: null,
      };
      this.store(run, stored);
      added.push(stored);
    }
    for (let start = 0; start < added.length; start += enqueueBatchMax) {
      writes.push(this.write({ kind: 'jobs', runId, jobs: added.slice(start, start + enqueueBatchMax) }));
    }
    await Promise.all(writes);
    return { added: added.length, collisions };
  }

  async claim(runId: string, workerId: string, count: number, leaseMs: number): Promise<ClaimResult> {
    checkRunId(runId);
    checkClaim(count, leaseMs);
    const run = this.run(runId);
    const nowMs = Date.now();
    const changed: StoredJob[] = [];
    const claimed: LeasedJob[] = [];
    // Bounded by the run's open jobs; stops once `count` jobs are taken.
    for (const jobId of run.open) {
      if (claimed.length >= count) break;
      const job = run.jobs.get(jobId);
      if (job === undefined || job.claimableAtMs === null || job.claimableAtMs > nowMs) continue;
      const next =
        job.state === 'leased' && job.chargedAttempts >= this.schedule.attemptsMax
          ? finished(job, 'failed', leaseExpiredError)
          : {
              ...job,
              state: 'leased' as const,
              attempt: job.attempt + 1,
              chargedAttempts: job.chargedAttempts + 1,
              leaseOwner: workerId,
              claimableAtMs: nowMs + leaseMs,
            };
      changed.push(next);
      if (next.state === 'leased')
        claimed.push({
          jobId,
          input: next.input,
          sizeBytes: next.sizeBytes,
          attempt: next.attempt,
          outputKey: next.outputKey,
        });
    }
    for (const job of changed) this.store(run, job);
    if (changed.length > 0) await this.write({ kind: 'jobs', runId, jobs: changed });
    return { jobs: claimed, exhausted: claimed.length === 0 && run.open.size === 0 };
  }

  async heartbeat(
    runId: string,
    workerId: string,
    leases: readonly Lease[],
    leaseMs: number,
  ): Promise<HeartbeatResult> {
    checkRunId(runId);
    if (leases.length === 0) return { renewed: [], lost: [] };
    checkLeaseMs(leaseMs);
    const run = this.run(runId);
    const nowMs = Date.now();
    const renewed: StoredJob[] = [];
    const lost: string[] = [];
    for (const lease of leases) {
      const job = this.heldLease(run, lease, nowMs);
      if (job === undefined || job.leaseOwner !== workerId) lost.push(lease.jobId);
      else renewed.push({ ...job, claimableAtMs: nowMs + leaseMs });
    }
    for (const job of renewed) this.store(run, job);
    if (renewed.length > 0) await this.write({ kind: 'jobs', runId, jobs: renewed });
    return { renewed: renewed.map((job) => job.jobId), lost };
  }

  /**
   * Idempotent for the attempt that completed the job: its retry (the first answer was lost)
   * hears "done" and changes nothing, as in the PostgreSQL ledger.
   */
  async complete(runId: string, lease: Lease, result: JobResult): Promise<boolean> {
    checkRunId(runId);
    const job = this.runs.get(runId)?.jobs.get(lease.jobId);
    if (job?.state === 'done' && job.attempt === lease.attempt) return true;
    return this.fencedChange(runId, lease, (held) => ({ ...finished(held, 'done', held.lastError), result }));
  }

  async fail(runId: string, lease: Lease, failure: Failure): Promise<boolean> {
    const lastError = lastErrorOf(failure);
    return this.fencedChange(runId, lease, (job, nowMs) => {
      const retry = (failure.retryable || failure.throttled) && job.chargedAttempts < this.schedule.attemptsMax;
      if (!retry) return finished(job, 'failed', lastError);
      const claimableAtMs = nowMs + jobRetryDelayMs(this.schedule, job.chargedAttempts);
      return { ...job, state: 'pending', claimableAtMs, lastError };
    });
  }

  async release(runId: string, lease: Lease): Promise<boolean> {
    return this.fencedChange(runId, lease, (job, nowMs) => ({
      ...job,
      state: 'pending',
      claimableAtMs: nowMs,
      chargedAttempts: job.chargedAttempts - 1,
    }));
  }

  async reclaimExpired(runId: string): Promise<number> {
    checkRunId(runId);
    const run = this.run(runId);
    const nowMs = Date.now();
    const changed: StoredJob[] = [];
    for (const jobId of run.open) {
      const job = run.jobs.get(jobId);
      if (job === undefined || job.state !== 'leased' || job.claimableAtMs === null || job.claimableAtMs > nowMs)
        continue;
      changed.push(
        job.chargedAttempts >= this.schedule.attemptsMax
          ? finished(job, 'failed', leaseExpiredError)
          : { ...job, state: 'pending', claimableAtMs: nowMs },
      );
    }
    for (const job of changed) this.store(run, job);
    if (changed.length > 0) await this.write({ kind: 'jobs', runId, jobs: changed });
    return changed.filter((job) => job.state === 'pending').length;
  }

  async progress(runId: string, progress: WorkerProgress): Promise<void> {
    checkRunId(runId);
    const run = this.run(runId);
    run.progress.set(progress.workerId, { ...progress });
    run.progressAtMs = Date.now();
    await this.write({ kind: 'progress', runId, progress, atMs: run.progressAtMs });
  }

  async retryFailed(runId: string): Promise<FailedJob[]> {
    checkRunId(runId);
    const run = this.runs.get(runId);
    if (run === undefined) return [];
    const nowMs = Date.now();
    const reset: StoredJob[] = [];
    const was: FailedJob[] = [];
    for (const job of run.jobs.values()) {
      if (job.state !== 'failed' || run.sharedKeys.has(job.jobId)) continue;
      was.push({ uri: job.input.uri, lastError: job.lastError });
      reset.push({
        ...job,
        state: 'pending',
        chargedAttempts: 0,
        leaseOwner: null,
        claimableAtMs: nowMs,
        finishedAtMs: null,
      });
    }
    for (const job of reset) this.store(run, job);
    const writes: Promise<void>[] = [];
    for (let start = 0; start < reset.length; start += enqueueBatchMax) {
      writes.push(this.write({ kind: 'jobs', runId, jobs: reset.slice(start, start + enqueueBatchMax) }));
    }
    await Promise.all(writes);
    return was;
  }

  async listRuns(): Promise<RunListing[]> {
    const listed: RunListing[] = [];
    for (const runId of this.runs.keys()) {
      const listing = await this.runListing(runId);
      if (listing !== undefined) listed.push(listing);
    }
    return listed.sort((a, b) => b.lastActivityMs - a.lastActivityMs || (a.runId < b.runId ? -1 : 1));
  }

  async runListing(runId: string): Promise<RunListing | undefined> {
    const run = this.runs.get(runId);
    // A run exists once something was enqueued in it; progress alone names no run.
    if (run === undefined || (run.record === null && run.jobs.size === 0)) return undefined;
    const counts = { pending: 0, leased: 0, done: 0, failed: 0 };
    let lastFinishedMs: number | null = null;
    for (const job of run.jobs.values()) {
      counts[job.state] += 1;
      if (typeof job.finishedAtMs === 'number') lastFinishedMs = Math.max(lastFinishedMs ?? 0, job.finishedAtMs);
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

  async sharedOutputKeys(runId: string, limit: number): Promise<SharedOutputKey[]> {
    const run = this.runs.get(runId);
    const shared: SharedOutputKey[] = [];
    if (run === undefined) return shared;
    for (const [jobId, heldBy] of run.sharedKeys) {
      if (shared.length >= limit) break;
      const job = entryOf(run.jobs, jobId, 'job');
      shared.push({ uri: job.input.uri, outputKey: job.outputKey, heldBy, state: job.state });
    }
    return shared;
  }

  /**
   * A journal written before output keys had to be distinct may hold two inputs under one key.
   * The first enqueued keeps it; a later one not yet finished is failed with both named, so it
   * cannot overwrite the first's object (one already done has: `sharedOutputKeys` says so).
   */
  private async failSharedOutputKeys(): Promise<void> {
    for (const [runId, run] of this.runs) {
      const failed: StoredJob[] = [];
      for (const [jobId, heldBy] of run.sharedKeys) {
        const job = entryOf(run.jobs, jobId, 'job');
        if (job.state !== 'pending' && job.state !== 'leased') continue;
        failed.push(finished(job, 'failed', sharedOutputKeyError(job.outputKey, heldBy)));
      }
      for (const job of failed) this.store(run, job);
      if (failed.length > 0) await this.write({ kind: 'jobs', runId, jobs: failed });
    }
  }

  async stats(runId: string): Promise<RunStats> {
    checkRunId(runId);
    const counts = { pending: 0, leased: 0, done: 0, failed: 0 };
    let inputBytesDone = 0;
    let rowsDone = 0;
    let records = emptyRecordCounters;
    for (const job of this.runs.get(runId)?.jobs.values() ?? []) {
      counts[job.state] += 1;
      if (job.state === 'done' && job.result !== null) {
        inputBytesDone += job.result.inputBytes;
        rowsDone += job.result.rows;
        records = addRecordCounters(records, job.result.counters);
      }
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

  async workerProgress(runId: string): Promise<WorkerProgress[]> {
    return [...(this.runs.get(runId)?.progress.values() ?? [])].sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  async failedJobs(runId: string, limit: number): Promise<FailedJob[]> {
    const failed: FailedJob[] = [];
    for (const job of this.runs.get(runId)?.jobs.values() ?? []) {
      if (job.state === 'failed') failed.push({ uri: job.input.uri, lastError: job.lastError });
    }
    return failed.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0)).slice(0, limit);
  }

  async jobStatus(runId: string, jobId: string): Promise<JobStatus | undefined> {
    const job = this.runs.get(runId)?.jobs.get(jobId);
    if (job === undefined) return undefined;
    return { state: job.state, attempt: job.attempt, chargedAttempts: job.chargedAttempts, lastError: job.lastError };
  }

  /** The fence: still leased, with this attempt, and the lease has not expired. */
  private heldLease(run: RunState, lease: Lease, nowMs: number): StoredJob | undefined {
    const job = run.jobs.get(lease.jobId);
    if (job === undefined || job.state !== 'leased' || job.attempt !== lease.attempt) return undefined;
    if (job.claimableAtMs === null || job.claimableAtMs <= nowMs) return undefined;
    return job;
  }

  private async fencedChange(
    runId: string,
    lease: Lease,
    change: (job: StoredJob, nowMs: number) => StoredJob,
  ): Promise<boolean> {
    checkRunId(runId);
    const run = this.run(runId);
    const nowMs = Date.now();
    const job = this.heldLease(run, lease, nowMs);
    if (job === undefined) return false;
    const next = change(job, nowMs);
    this.store(run, next);
    await this.write({ kind: 'jobs', runId, jobs: [next] });
    return true;
  }

  private run(runId: string): RunState {
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = {
        jobs: new Map(),
        open: new Set(),
        progress: new Map(),
        outputKeyHolders: new Map(),
        sharedKeys: new Map(),
        record: null,
        progressAtMs: 0,
      };
      this.runs.set(runId, run);
    }
    return run;
  }

  /** Keeps `open` in step with states; a job that becomes pending again goes to the back. */
  private store(run: RunState, job: StoredJob): void {
    const previous = run.jobs.get(job.jobId);
    run.jobs.set(job.jobId, job);
    if (previous === undefined) {
      const holder = run.jobs.get(run.outputKeyHolders.get(job.outputKey) ?? '');
      if (holder === undefined) run.outputKeyHolders.set(job.outputKey, job.jobId);
      else run.sharedKeys.set(job.jobId, holder.input.uri);
    }
    const isOpen = job.state === 'pending' || job.state === 'leased';
    if (!isOpen) run.open.delete(job.jobId);
    else if (previous === undefined || previous.state !== job.state || job.state === 'pending') {
      run.open.delete(job.jobId);
      run.open.add(job.jobId);
    }
  }

  private apply(line: JournalLine): void {
    const run = this.run(line.runId);
    if (line.kind === 'progress') {
      run.progress.set(line.progress.workerId, line.progress);
      run.progressAtMs = Math.max(run.progressAtMs, line.atMs ?? 0);
    } else if (line.kind === 'run') run.record = line.record;
    else for (const job of line.jobs) this.store(run, storedResultRead(job));
  }

  /** At start no lease can be held: the process that held it is gone (we own the lock). */
  private expireEveryLease(): void {
    for (const run of this.runs.values()) {
      for (const jobId of run.open) {
        const job = run.jobs.get(jobId);
        if (job?.state === 'leased') run.jobs.set(jobId, { ...job, claimableAtMs: 0 });
      }
    }
  }

  private write(line: JournalLine): Promise<void> {
    if (this.readOnly)
      return Promise.reject(new Error('embedded ledger opened read-only (for status) was asked to write (our bug)'));
    if (this.journal === undefined) return Promise.reject(new Error('embedded ledger used after close (our bug)'));
    return this.journal.append(JSON.stringify(line));
  }

  private snapshotLines(): string[] {
    const lines: string[] = [];
    for (const [runId, run] of this.runs) {
      if (run.record !== null) lines.push(JSON.stringify({ kind: 'run', runId, record: run.record }));
      const jobs = [...run.jobs.values()];
      for (let start = 0; start < jobs.length; start += enqueueBatchMax) {
        lines.push(JSON.stringify({ kind: 'jobs', runId, jobs: jobs.slice(start, start + enqueueBatchMax) }));
      }
      for (const progress of run.progress.values()) {
        lines.push(JSON.stringify({ kind: 'progress', runId, progress, atMs: run.progressAtMs }));
      }
    }
    return lines;
  }

  private liveLineCount(): number {
    let count = 0;
    for (const run of this.runs.values()) {
      count += Math.ceil(run.jobs.size / enqueueBatchMax) + run.progress.size + (run.record === null ? 0 : 1);
    }
    return count;
  }
}

/**
 * A job as the journal gave it back: its result's counters read into reason codes, so that a
 * result stored before the codes (free-text reasons), or by a later version, reads without fault.
 */
function storedResultRead(job: StoredJob): StoredJob {
  if (job.result === null) return job;
  return { ...job, result: { ...job.result, counters: readStoredRecordCounters(job.result.counters) } };
}

function finished(job: StoredJob, state: 'done' | 'failed', lastError: string | null): StoredJob {
  return { ...job, state, claimableAtMs: null, lastError, finishedAtMs: Date.now() };
}

/**
 * One process per folder. A lock left by a process that is gone (killed) is taken over; one
 * held by a live process is the user's mistake (two workers on one embedded ledger).
 */
async function takeLock(directory: string): Promise<void> {
  if (openDirectories.has(resolve(directory))) {
    throw new Error(
      `embedded ledger in ${directory} is already open in this process (our bug: open it once and share it)`,
    );
  }
  const path = join(directory, lockFileName);
  for (let tries = 0; tries < 2; tries += 1) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      openDirectories.add(resolve(directory));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await lockHolderText(path)).trim());
    // Our own pid in the lock file, with the folder not open here, is a previous incarnation:
    // a restarted container often gets the same pid as the process that was killed.
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) {
      throw new Error(
        `embedded ledger in ${directory} is in use by process ${holder} (user's configuration): run one worker per ledger folder, or use --ledger postgres://… for several (if that process is not a worker, its pid was reused: delete ${path})`,
      );
    }
    await rm(path, { force: true });
  }
  throw new Error(
    `embedded ledger in ${directory}: could not take the lock file ${path} (another process keeps taking it)`,
  );
}

/**
 * The pid written in the lock file; empty when the file is gone (its holder let go since).
 * A lock that cannot be read is not taken over: its holder may be alive.
 */
async function lockHolderText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

async function releaseLock(directory: string): Promise<void> {
  await rm(join(directory, lockFileName), { force: true });
  openDirectories.delete(resolve(directory));
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
