/**
 * The Ledger port without a server: the default for one machine, kept in a folder beside the
 * output. The state lives in memory; every change is a line of a journal (journal-file.ts)
 * that is on disk before the change is acknowledged, and the journal is replayed at start.
 * A change is decided and applied in memory at once (so two concurrent claims never take the
 * same job) and acknowledged after its line is synced: a read (`stats`) may see a change a few
 * milliseconds before it is durable, but no caller acts on one that is not.
 *
 * The rules are the pure ledger machine's (core/ledger-machine.ts), which the simulator runs
 * too and which a differential test holds to the PostgreSQL ledger's SQL: this file adds the
 * journal, the lock and the clock. Each operation's records (the new state of every job it
 * changed) are its journal lines; replay applies them to the machine. Why the journal holds
 * states and not the operations themselves: replaying a claim would need the claim order the
 * journal had when it was written, and a compaction's snapshot does not keep it; a state line
 * means the same whatever came before. One process owns
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
import type { Failure } from '../../core/failure.ts';
import type { InputRef, Lease } from '../../core/input-ref.ts';
import type {
  ClaimResult,
  EnqueueResult,
  HeartbeatResult,
  JobResult,
  RunOrigin,
  RunStats,
  WorkerProgress,
} from '../../core/ledger.ts';
import { LedgerMachine, type LedgerRecord, type Outcome } from '../../core/ledger-machine.ts';
import { retryScheduleOf } from '../../core/ledger-rules.ts';
import { JournalFile, replayJournal } from './journal-file.ts';
import {
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

const lockFileName = 'lock';
/** Folders this process holds the lock of: a second open here is refused. */
const openDirectories = new Set<string>();

export class EmbeddedLedger implements InspectableLedger {
  private readonly machine: LedgerMachine;
  private readonly outputKeyOf: (input: InputRef) => string;
  private readonly nowMs: () => number;
  private readonly directory: string;
  private readonly readOnly: boolean;
  private journal: JournalFile | undefined;

  private constructor(options: EmbeddedLedgerOptions) {
    this.machine = new LedgerMachine(retryScheduleOf(options));
    this.outputKeyOf = options.outputKeyOf;
    this.nowMs = options.nowMs ?? Date.now;
    this.directory = options.directory;
    this.readOnly = options.readOnly === true;
  }

  /** Takes the folder's lock, replays the journal and opens it for appending. */
  static async open(options: EmbeddedLedgerOptions): Promise<EmbeddedLedger> {
    if (options.readOnly === true) {
      const reader = new EmbeddedLedger(options);
      const replayed = await replayJournal(options.directory, { cutTornTail: false });
      for (const line of replayed.lines) reader.machine.restore(line as LedgerRecord);
      return reader;
    }
    await mkdir(options.directory, { recursive: true });
    await takeLock(options.directory);
    const ledger = new EmbeddedLedger(options);
    try {
      const replayed = await replayJournal(options.directory);
      for (const line of replayed.lines) ledger.machine.restore(line as LedgerRecord);
      ledger.machine.expireEveryLease();
      ledger.journal = await JournalFile.open(options.directory, replayed.lines.length, {
        snapshot: () => ledger.machine.snapshot().map((record) => JSON.stringify(record)),
        liveLines: () => ledger.machine.snapshotRecordCount(),
        compactLinesMin: options.compactLinesMin ?? 10_000,
      });
      await ledger.journaled(ledger.machine.failSharedOutputKeys(ledger.nowMs()));
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
    const jobs = inputs.map((input) => enqueuedJobOf(input, this.outputKeyOf));
    return this.journaled(this.machine.enqueue(runId, jobs, origin, this.nowMs()));
  }

  async claim(runId: string, workerId: string, count: number, leaseMs: number): Promise<ClaimResult> {
    return this.journaled(this.machine.claim(runId, workerId, count, leaseMs, this.nowMs()));
  }

  async heartbeat(
    runId: string,
    workerId: string,
    leases: readonly Lease[],
    leaseMs: number,
  ): Promise<HeartbeatResult> {
    return this.journaled(this.machine.heartbeat(runId, workerId, leases, leaseMs, this.nowMs()));
  }

  /** Idempotent for the attempt that completed the job, as in the PostgreSQL ledger. */
  async complete(runId: string, lease: Lease, result: JobResult): Promise<boolean> {
    return this.journaled(this.machine.complete(runId, lease, result, this.nowMs()));
  }

  async fail(runId: string, lease: Lease, failure: Failure): Promise<boolean> {
    return this.journaled(this.machine.fail(runId, lease, failure, this.nowMs()));
  }

  async release(runId: string, lease: Lease): Promise<boolean> {
    return this.journaled(this.machine.release(runId, lease, this.nowMs()));
  }

  async reclaimExpired(runId: string): Promise<number> {
    return this.journaled(this.machine.reclaimExpired(runId, this.nowMs()));
  }

  async progress(runId: string, progress: WorkerProgress): Promise<void> {
    return this.journaled(this.machine.progress(runId, progress, this.nowMs()));
  }

  async retryFailed(runId: string): Promise<FailedJob[]> {
    return this.journaled(this.machine.retryFailed(runId, this.nowMs()));
  }

  async listRuns(): Promise<RunListing[]> {
    return this.machine.listRuns();
  }

  async runListing(runId: string): Promise<RunListing | undefined> {
    return this.machine.runListing(runId);
  }

  async sharedOutputKeys(runId: string, limit: number): Promise<SharedOutputKey[]> {
    return this.machine.sharedOutputKeys(runId, limit);
  }

  async stats(runId: string): Promise<RunStats> {
    return this.machine.stats(runId);
  }

  async workerProgress(runId: string): Promise<WorkerProgress[]> {
    return this.machine.workerProgress(runId);
  }

  async failedJobs(runId: string, limit: number): Promise<FailedJob[]> {
    return this.machine.failedJobs(runId, limit);
  }

  async jobStatus(runId: string, jobId: string): Promise<JobStatus | undefined> {
    return this.machine.jobStatus(runId, jobId);
  }

  /**
   * The change was decided and applied in memory at once (so two concurrent claims never take
   * the same job); its answer is given once its lines are synced.
   */
  private async journaled<T>(outcome: Outcome<T>): Promise<T> {
    await Promise.all(outcome.records.map((record) => this.write(record)));
    return outcome.answer;
  }

  private write(record: LedgerRecord): Promise<void> {
    if (this.readOnly)
      return Promise.reject(new Error('embedded ledger opened read-only (for status) was asked to write (our bug)'));
    if (this.journal === undefined) return Promise.reject(new Error('embedded ledger used after close (our bug)'));
    return this.journal.append(JSON.stringify(record));
  }
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
