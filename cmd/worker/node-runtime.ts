/**
 * The node runtime: drives the core with real time and real adapters. It feeds `step` what
 * happened, carries out its commands, and arms one timer for `wakeAtMs`. Every task command
 * gets exactly one answer, whatever happens to its job in between (the core's contract).
 *
 * Decode and encode run on `CpuStages`: a thread pool sized to the cores, a job pinned to one
 * thread (cpu-pool.ts), or the event loop for one core; I/O runs on the event loop.
 */
import type { Command, CommandOf, JobSummary } from '../../core/commands.ts';
import { FailureError, ourFault } from '../../core/failure.ts';
import type { Input } from '../../core/inputs.ts';
import { emptyRecordCounters, totalCount } from '../../core/record-counters.ts';
import { pickedBytesOf } from '../../core/request-plan.ts';
import type { Ledger } from '../../core/ledger.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import { piecesLength, type Sink, type UploadHandle } from '../../core/sink.ts';
import type { Source } from '../../core/source.ts';
import { step } from '../../core/step.ts';
import {
  createWorkerState,
  type WorkerCounters,
  type WorkerState,
  type WorkerStateOptions,
} from '../../core/worker-state.ts';
import { describeError } from '../../adapters/aws/redact.ts';
import type { CpuStages } from './cpu-stages.ts';
import { JobData } from './job-data.ts';
import type { Logger } from './logger.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { chunkPoolFreeMax, SharedChunkPool } from './shared-chunk-pool.ts';
import { realClock, type RuntimeClock, type TimerHandle } from './runtime-clock.ts';
import { failureOf } from './task-failure.ts';

export interface RuntimeAdapters {
  readonly source: Source;
  readonly cpu: CpuStages;
  readonly sink: Sink;
  readonly ledger: Ledger;
  readonly emitMetrics: (snapshot: MetricsSnapshot) => Promise<void>;
  /** Time and timers: the process's by default, virtual in the whole-worker simulation. */
  readonly clock?: RuntimeClock;
}

export interface RuntimeOptions {
  readonly runId: string;
  readonly workerId: string;
  readonly limits: WorkerLimits;
  readonly logger: Logger;
  readonly onJobEnded?: (ended: CommandOf<'jobEnded'>) => void;
  /** How much the core checks its own invariants each step: `counters` by default, `full` in simulation. */
  readonly invariantChecks?: WorkerStateOptions['invariantChecks'];
  /** Sees every step of the core, after its commands are carried out: the simulation's checkers. */
  readonly onStep?: (state: WorkerState, inputs: readonly Input[], commands: readonly Command[], nowMs: number) => void;
  /**
   * For tests only, never set in production: brings back the one-step commit, in which a
   * ledger error after the object was completed made the retried commit fail the job for good
   * while its object stayed published. The whole-worker simulation shows its checkers catch it
   * (test/sim/whole-worker-commit-bug.test.ts).
   */
  readonly oneStepCommitForTests?: boolean;
}

export interface RunOutcome {
  readonly ended: CommandOf<'jobEnded'>[];
}

export class NodeRuntime {
  private readonly state: WorkerState;
  private readonly inbox: Input[] = [];
  private readonly jobs = new Map<string, JobData>();
  private readonly ended: CommandOf<'jobEnded'>[] = [];
  /** Ledger, abort and metrics writes running in the background; `finish` waits for them. */
  private readonly backgroundWrites = new Set<Promise<unknown>>();
  private timer: TimerHandle | null = null;
  private turnQueued = false;
  /** Set by `abandon`: the core is not stepped again. */
  private abandoned = false;
  private resolveRun: ((outcome: RunOutcome) => void) | null = null;
  private readonly clock: RuntimeClock;
  private readonly startedAtMs: number;
  private readonly progress: ProgressReporter;
  /** The memory chunks are read into, kept from a decoded (or placed) chunk for the next fetched. */
  private readonly sharedChunks: SharedChunkPool;

  constructor(
    private readonly adapters: RuntimeAdapters,
    private readonly options: RuntimeOptions,
  ) {
    this.clock = adapters.clock ?? realClock;
    this.startedAtMs = this.clock.nowMs();
    this.state = createWorkerState(
      options.limits,
      options.invariantChecks === undefined ? {} : { invariantChecks: options.invariantChecks },
    );
    const freeMax = chunkPoolFreeMax(this.state.fetchWindowChunks, options.limits.cpuSlotsMax);
    this.sharedChunks = new SharedChunkPool(options.limits.chunkBytes, freeMax);
    this.progress = new ProgressReporter(
      adapters.ledger,
      options.runId,
      options.workerId,
      (error) => {
        options.logger.log('warn', 'progress not recorded', { error: describeError(error) });
      },
      this.clock,
    );
  }

  /** Runs until the core says `finished`. */
  run(): Promise<RunOutcome> {
    return new Promise((resolve) => {
      this.resolveRun = resolve;
      this.queueTurn();
    });
  }

  /** The worker's counters so far, for the progress line. */
  counters(): WorkerCounters {
    return this.state.counters;
  }

  /** Asks the core to drain: claim nothing more, finish or release by the drain deadline. */
  requestShutdown(): void {
    this.progress.draining();
    this.deliver({ kind: 'shutdownRequested' });
  }

  private nowMs(): number {
    return this.clock.nowMs() - this.startedAtMs;
  }

  private deliver(input: Input): void {
    this.inbox.push(input);
    this.queueTurn();
  }

  /** Answers arriving together are handled in one step. */
  private queueTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    this.clock.soon(() => this.turn());
  }

  private turn(): void {
    this.turnQueued = false;
    if (this.abandoned) return;
    const inputs = this.inbox.splice(0, this.inbox.length);
    const nowMs = this.nowMs();
    const result = step(this.state, nowMs, inputs);
    for (const command of result.commands) this.execute(command);
    this.options.onStep?.(this.state, inputs, result.commands, nowMs);
    this.cancelTimer();
    if (result.wakeAtMs !== null) {
      const delayMs = Math.max(0, Math.ceil(result.wakeAtMs - this.nowMs()));
      this.timer = this.clock.after(delayMs, () => this.deliver({ kind: 'timer' }));
    }
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
  }

  private execute(command: Command): void {
    switch (command.kind) {
      case 'claimJobs':
        return this.claim(command.count);
      case 'sizeInput':
        return this.answer(command.taskId, () => this.sizeInput(command));
      case 'startUpload':
        return this.answer(command.taskId, () => this.startUpload(command));
      case 'fetchChunk':
        return this.answer(command.taskId, () => this.fetch(command));
      case 'decodeChunk':
        return this.answer(command.taskId, () => this.decode(command));
      case 'decodeDetached':
        return this.answer(command.taskId, () => this.decodeDetached(command));
      case 'placeDetached':
        return this.placeDetached(command);
      case 'encodeRowGroup':
        return this.answer(command.taskId, () => this.encode(command));
      case 'uploadPart':
        return this.answer(command.taskId, () => this.uploadPart(command));
      case 'completeObject':
        return this.answer(command.taskId, () => this.completeObject(command));
      case 'commitJob':
        return this.answer(command.taskId, () => this.commit(command));
      case 'heartbeat':
        return this.heartbeat(command);
      case 'dropJob':
        return this.drop(command.jobId, command.reason);
      case 'failJob':
        this.options.logger.log('warn', 'job failed', { jobId: command.lease.jobId, failure: command.failure });
        return this.background(
          'ledger write',
          this.adapters.ledger.fail(this.options.runId, command.lease, command.failure),
        );
      case 'releaseJob':
        return this.background('ledger write', this.adapters.ledger.release(this.options.runId, command.lease));
      case 'jobEnded':
        this.ended.push(command);
        this.options.onJobEnded?.(command);
        return;
      case 'emitMetrics':
        return this.background('metrics', this.adapters.emitMetrics(command.snapshot));
      case 'finished':
        return void this.finish();
    }
  }

  /** Runs a task and delivers exactly one answer: its completion or its failure. */
  private answer(taskId: number, task: () => Promise<Input>): void {
    task().then(
      (input) => this.deliver(input),
      (error: unknown) => this.deliver({ kind: 'taskFailed', taskId, failure: failureOf(error) }),
    );
  }

  private jobData(jobId: string): JobData {
    const data = this.jobs.get(jobId);
    if (data === undefined) throw new FailureError(ourFault(`job ${jobId} was dropped`));
    return data;
  }

  /** Jobs without a size come to the core as they are: it sizes them with `sizeInput` tasks. */
  private claim(count: number): void {
    const { ledger } = this.adapters;
    const { limits } = this.options;
    ledger
      .claim(this.options.runId, this.options.workerId, count, limits.leaseMs)
      .then((result) => {
        for (const job of result.jobs) this.jobs.set(job.jobId, new JobData(job));
        this.deliver({ kind: 'jobsClaimed', jobs: result.jobs, exhausted: result.exhausted });
      })
      .catch((error: unknown) => {
        this.options.logger.log('warn', 'claim failed', { error: describeError(error) });
        this.deliver({ kind: 'claimFailed', failure: failureOf(error) });
      });
  }

  /** One HEAD through the source; the core retries it and paces it like a chunk's GET. */
  private async sizeInput(command: CommandOf<'sizeInput'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const bytes = await this.adapters.source.sizeOf(command.input, data.abort.signal);
    return { kind: 'inputSized', taskId: command.taskId, bytes };
  }

  /** Starts the job's upload on the sink (CreateMultipartUpload); the core retries it like a part. */
  private async startUpload(command: CommandOf<'startUpload'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const handle = await this.uploadOf(data, command.outputKey);
    await this.adapters.sink.start(handle, data.abort.signal);
    return { kind: 'uploadStarted', taskId: command.taskId };
  }

  private async fetch(command: CommandOf<'fetchChunk'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const range = { offsetBytes: command.offsetBytes, lengthBytes: command.lengthBytes };
    const bytes =
      command.lengthBytes === 0
        ? new Uint8Array(0)
        : await this.adapters.source.read(command.input, range, data.abort.signal, this.sharedChunks.memory);
    data.chunks.set(command.chunkIndex, this.sharedChunks.take(bytes));
    return { kind: 'chunkFetched', taskId: command.taskId, bytes: bytes.length };
  }

  private async decode(command: CommandOf<'decodeChunk'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const chunk = data.chunks.get(command.chunkIndex);
    if (chunk === undefined)
      throw new FailureError(ourFault(`chunk ${command.chunkIndex} of ${command.jobId} is not held`));
    data.chunks.delete(command.chunkIndex);
    const chunkBytes = chunk.length;
    const resumeAt = command.resumeAt;
    const skipped = resumeAt === null ? 0 : resumeAt.atBytes - command.chunkIndex * this.options.limits.chunkBytes;
    const { jobId, cpuLane, final } = command;
    // The memory goes back once the decode answers, whatever it answers: the decoder keeps no
    // view of it, and a thread that died reads nothing more.
    const decoded = await this.adapters.cpu
      .decode(jobId, cpuLane, data.claimed.input, chunk.subarray(skipped), final, resumeAt)
      .finally(() => {
        if (data.detachedRunning === 0) this.sharedChunks.give(chunk);
      });
    const { byType, badByReason } = decoded.counters;
    const { input } = data.claimed;
    // A subset's size is the bytes it picks, as the core counts it, whatever an older ledger holds.
    const sizeBytes = input.picks === undefined ? data.claimed.sizeBytes : pickedBytesOf(input.picks);
    this.progress.decoded(input.uri, totalCount(byType), chunkBytes, totalCount(badByReason), sizeBytes);
    return { kind: 'chunkDecoded', taskId: command.taskId, ...decoded };
  }

  /**
   * A detached decode (core/split-decode.ts) of a chunk that stays here: it and the next one
   * may be read again (a chunk decoded again after a false boundary), so they go to the thread
   * as views of shared memory (`shared`) and are freed when the chunk is placed.
   */
  private async decodeDetached(command: CommandOf<'decodeDetached'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const held = (index: number): Uint8Array => {
      const chunk = data.chunks.get(index);
      if (chunk === undefined) throw new FailureError(ourFault(`chunk ${index} of ${command.jobId} is not held`));
      return chunk;
    };
    const { chunkIndex, startBytes, nextFinal } = command;
    const chunk = held(chunkIndex);
    const next = command.final ? null : held(chunkIndex + 1);
    const chunkOffset = chunkIndex * this.options.limits.chunkBytes;
    const request = { chunkIndex, chunk, next, nextFinal, chunkOffset, startBytes };
    data.detachedRunning += 1;
    const result = await this.adapters.cpu
      .decodeDetached(command.cpuLane, data.claimed.input, request)
      .finally(() => (data.detachedRunning -= 1));
    data.detached.set(chunkIndex, result);
    const { byType, badByReason } = result.counters;
    const uri = data.claimed.input.uri;
    this.progress.decoded(uri, totalCount(byType), chunk.length, totalCount(badByReason), data.claimed.sizeBytes);
    const { rows, rowBytes, counters, endBytes, splittable, needsMore } = result;
    const encodedBytes = result.bytes.length;
    const answer = { rows, rowBytes, counters, startBytes: result.startBytes, endBytes, splittable, needsMore };
    return { kind: 'detachedDecoded', taskId: command.taskId, ...answer, encodedBytes };
  }

  /** An accepted chunk's row groups go at the object's end, and its bytes are no longer needed; a rejected one's are dropped. */
  private placeDetached(command: CommandOf<'placeDetached'>): void {
    const data = this.jobs.get(command.jobId);
    const result = data?.detached.get(command.chunkIndex);
    if (data === undefined || result === undefined) return;
    data.detached.delete(command.chunkIndex);
    if (!command.place) return;
    const chunk = data.chunks.get(command.chunkIndex);
    data.chunks.delete(command.chunkIndex);
    // Placed: this chunk and the one before it are accepted, so no decode reads its bytes again.
    if (chunk !== undefined) this.sharedChunks.give(chunk);
    const offsetBytes = data.output.lengthBytes + result.headBytes;
    data.output.append([result.bytes]);
    if (result.rows > 0) data.placed.push({ footerEntries: result.footerEntries, offsetBytes });
  }

  /**
   * Encodes the next row group; the last one also writes the footer. Rows encoded apart (an
   * object begun by detached decodes) are placed like theirs, and the footer is built here.
   */
  private async encode(command: CommandOf<'encodeRowGroup'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const { jobId, cpuLane, rows, final, detached } = command;
    const piece = await this.adapters.cpu.encode(jobId, cpuLane, rows, final, detached);
    const offsetBytes = data.output.lengthBytes;
    data.output.append(piece.pieces);
    let bytes = piecesLength(piece.pieces);
    if (piece.footerEntries !== null && bytes > 0)
      data.placed.push({ footerEntries: piece.footerEntries, offsetBytes });
    if (final && detached) {
      const footer = await this.adapters.cpu.footer(data.placed);
      data.output.append([footer]);
      bytes += footer.length;
    }
    return { kind: 'rowGroupEncoded', taskId: command.taskId, bytes };
  }

  private async uploadPart(command: CommandOf<'uploadPart'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    let bytes = data.partBytes.get(command.partNumber);
    if (bytes === undefined) {
      bytes = data.output.take(command.offsetBytes, command.lengthBytes);
      data.partBytes.set(command.partNumber, bytes);
    }
    const handle = await this.uploadOf(data, command.outputKey);
    const receipt = await this.adapters.sink.uploadPart(handle, command.partNumber, bytes, data.abort.signal);
    data.receipts.set(command.partNumber, receipt);
    data.partBytes.delete(command.partNumber);
    return { kind: 'partUploaded', taskId: command.taskId };
  }

  /**
   * The job's upload handle, opened by its first upload task (its start, or its one part). An
   * open that failed is forgotten, so the task's retry opens it again rather than failing on
   * the same rejection until the job gives up.
   */
  private uploadOf(data: JobData, outputKey: string): Promise<UploadHandle> {
    if (data.upload === null) {
      const begun = this.adapters.sink.begin(outputKey, data.abort.signal);
      data.upload = begun;
      begun.catch(() => {
        if (data.upload === begun) data.upload = null;
      });
    }
    return data.upload;
  }

  /**
   * The first step of a commit: makes the object visible, whole, under its final key. From
   * then on the upload is no longer ours to abort: a dropped job leaves the object, which the
   * attempt that does the job next writes again with the same rows (core/job-lifecycle.ts).
   */
  private async completeObject(command: CommandOf<'completeObject'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const noUpload = new FailureError(ourFault('complete of an object with no upload'));
    const handle = await (data.upload ?? Promise.reject(noUpload));
    const parts = [...data.receipts.values()].sort((a, b) => a.partNumber - b.partNumber);
    await this.adapters.sink.complete(handle, parts, data.abort.signal);
    data.upload = null;
    if (this.options.oneStepCommitForTests === true) await this.recordDoneInTheSameTask(data);
    return { kind: 'objectCompleted', taskId: command.taskId };
  }

  /**
   * The old one-step commit, for tests only (`oneStepCommitForTests`): the ledger write in the
   * task that completed the object. When it fails the core retries the whole task, whose
   * completion now finds no upload, a failure of ours that is not retryable: the job fails for
   * good with its object published. The result recorded is empty: only the bug matters here.
   */
  private async recordDoneInTheSameTask(data: JobData): Promise<void> {
    const lease = { jobId: data.claimed.jobId, attempt: data.claimed.attempt };
    const result = { rows: 0, inputBytes: 0, outputBytes: 0, counters: emptyRecordCounters };
    const accepted = await this.adapters.ledger.complete(this.options.runId, lease, result);
    if (!accepted) {
      this.deliver({ kind: 'leaseLost', jobId: lease.jobId });
      throw new FailureError(ourFault('the ledger refused the completion: lease lost'));
    }
  }

  /**
   * The second step: records the job done in the ledger, fenced by the lease. A failure comes
   * back classified by the ledger and the core retries this write alone; the ledger's complete
   * is idempotent for this attempt, so a write that landed unheard answers "done" on its retry.
   * A refusal means the lease was lost: the answer says so, and the object (same key, same
   * rows) is overwritten by whoever holds the job now.
   */
  private async commit(command: CommandOf<'commitJob'>): Promise<Input> {
    const jobId = command.lease.jobId;
    const accepted = await this.adapters.ledger.complete(this.options.runId, command.lease, resultOf(command.summary));
    if (!accepted) {
      this.deliver({ kind: 'leaseLost', jobId });
      throw new FailureError(ourFault('the ledger refused the completion: lease lost'));
    }
    this.jobs.delete(jobId);
    return { kind: 'jobCommitted', taskId: command.taskId };
  }

  private heartbeat(command: CommandOf<'heartbeat'>): void {
    const { ledger } = this.adapters;
    ledger.heartbeat(this.options.runId, this.options.workerId, command.leases, this.options.limits.leaseMs).then(
      (result) => {
        this.deliver({ kind: 'leasesRenewed', jobIds: result.renewed, sentAtMs: command.sentAtMs });
        for (const jobId of result.lost) this.deliver({ kind: 'leaseLost', jobId });
      },
      (error: unknown) => this.options.logger.log('warn', 'heartbeat failed', { error: describeError(error) }),
    );
  }

  /** Frees a job's data, cancels its I/O and aborts its upload: nothing half-written stays. */
  private drop(jobId: string, reason: string): void {
    const data = this.jobs.get(jobId);
    this.adapters.cpu.drop(jobId);
    if (data === undefined) return;
    this.jobs.delete(jobId);
    data.abort.abort(new FailureError(ourFault(`job dropped: ${reason}`)));
    const upload = data.upload;
    if (upload !== null) {
      this.background(
        'upload abort',
        upload.then((handle) => this.adapters.sink.abort(handle)),
      );
    }
  }

  /**
   * Gives every job up at once, when the worker must stop now (a second signal, a fatal
   * error): cancels their I/O, aborts their uploads and releases their leases, so nothing
   * half-written stays and no other worker waits for the leases to run out. The core is not
   * consulted: it will not be stepped again. Waits for the writes; callers bound the wait.
   */
  async abandon(): Promise<void> {
    this.cancelTimer();
    this.abandoned = true;
    for (const [jobId, data] of [...this.jobs]) {
      this.drop(jobId, 'the worker is stopping now');
      const lease = { jobId, attempt: data.claimed.attempt };
      this.background('ledger write', this.adapters.ledger.release(this.options.runId, lease));
    }
    await Promise.all([...this.backgroundWrites]);
  }

  private background(what: string, write: Promise<unknown>): void {
    const tracked = write.catch((error: unknown) => {
      this.options.logger.log('warn', `${what} failed`, { error: describeError(error) });
    });
    this.backgroundWrites.add(tracked);
    void tracked.finally(() => this.backgroundWrites.delete(tracked));
  }

  private async finish(): Promise<void> {
    this.cancelTimer();
    await Promise.all([...this.backgroundWrites]);
    await this.progress.stop();
    this.resolveRun?.({ ended: this.ended });
  }
}

function resultOf(summary: JobSummary): {
  rows: number;
  inputBytes: number;
  outputBytes: number;
  counters: JobSummary['counters'];
} {
  return {
    rows: summary.rows,
    inputBytes: summary.inputBytes,
    outputBytes: summary.outputBytes,
    counters: summary.counters,
  };
}
