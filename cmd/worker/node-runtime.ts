/**
 * The node runtime: drives the core with real time and real adapters. It feeds `step` what
 * happened, carries out its commands, and arms one timer for `wakeAtMs`. Every task command
 * gets exactly one answer, whatever happens to its job in between (the core's contract).
 *
 * Decode and encode run on `CpuStages`: a thread pool sized to the cores, a job pinned to one
 * thread (cpu-pool.ts), or the event loop for one core; I/O runs on the event loop.
 */
import { performance } from 'node:perf_hooks';
import type { Command, CommandOf, JobSummary } from '../../core/commands.ts';
import { FailureError, ourFault } from '../../core/failure.ts';
import type { LeasedJob } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import { totalCount } from '../../core/record-counters.ts';
import type { Ledger } from '../../core/ledger.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import type { Sink, UploadHandle } from '../../core/sink.ts';
import type { Source } from '../../core/source.ts';
import { seededRandom, type SeededRandom } from '../../core/seeded-random.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type WorkerCounters, type WorkerState } from '../../core/worker-state.ts';
import { describeError } from '../../adapters/aws/redact.ts';
import { sizeClaim } from './claim-sizing.ts';
import type { CpuStages } from './cpu-stages.ts';
import { JobData } from './job-data.ts';
import type { Logger } from './logger.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { failureOf } from './task-failure.ts';

export interface RuntimeAdapters {
  readonly source: Source;
  readonly cpu: CpuStages;
  readonly sink: Sink;
  readonly ledger: Ledger;
  readonly emitMetrics: (snapshot: MetricsSnapshot) => Promise<void>;
}

export interface RuntimeOptions {
  readonly runId: string;
  readonly workerId: string;
  readonly limits: WorkerLimits;
  readonly logger: Logger;
  readonly onJobEnded?: (ended: CommandOf<'jobEnded'>) => void;
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
  private timer: NodeJS.Timeout | null = null;
  private turnQueued = false;
  /** Set by `abandon`: the core is not stepped again. */
  private abandoned = false;
  private resolveRun: ((outcome: RunOutcome) => void) | null = null;
  private readonly startedAtMs = performance.now();
  private readonly progress: ProgressReporter;
  /** Aborted on shutdown: stops the size lookups of a claim the core has not seen yet. */
  private readonly shutdown = new AbortController();
  /** Jobs claimed and being sized: held by this worker, not yet known to the core. */
  private readonly sizing = new Map<string, LeasedJob>();
  private readonly sizingRandom: SeededRandom;

  constructor(
    private readonly adapters: RuntimeAdapters,
    private readonly options: RuntimeOptions,
  ) {
    this.state = createWorkerState(options.limits);
    // Its own stream: drawing from the core's generator would change the core's jitter.
    this.sizingRandom = seededRandom(options.limits.seed ^ 0x5a17e5);
    this.progress = new ProgressReporter(adapters.ledger, options.runId, options.workerId, (error) => {
      options.logger.log('warn', 'progress not recorded', { error: describeError(error) });
    });
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
    // After the core hears of the drain, so that the jobs whose sizing this cuts short come
    // back to a draining core, which releases them.
    this.shutdown.abort();
  }

  private nowMs(): number {
    return performance.now() - this.startedAtMs;
  }

  private deliver(input: Input): void {
    this.inbox.push(input);
    this.queueTurn();
  }

  /** Answers arriving together are handled in one step. */
  private queueTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.turnQueued = false;
    if (this.abandoned) return;
    const inputs = this.inbox.splice(0, this.inbox.length);
    const result = step(this.state, this.nowMs(), inputs);
    for (const command of result.commands) this.execute(command);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (result.wakeAtMs !== null) {
      const delayMs = Math.max(0, Math.ceil(result.wakeAtMs - this.nowMs()));
      this.timer = setTimeout(() => this.deliver({ kind: 'timer' }), delayMs);
    }
  }

  private execute(command: Command): void {
    switch (command.kind) {
      case 'claimJobs':
        return this.claim(command.count);
      case 'fetchChunk':
        return this.answer(command.taskId, () => this.fetch(command));
      case 'decodeChunk':
        return this.answer(command.taskId, () => this.decode(command));
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

  private claim(count: number): void {
    const { ledger } = this.adapters;
    const { limits } = this.options;
    // The core trusts a claim's leases from when it was sent, as here.
    const trustedUntilMs = this.nowMs() + limits.leaseMs - limits.leaseSafetyMs;
    ledger
      .claim(this.options.runId, this.options.workerId, count, limits.leaseMs)
      .then(async (result) => {
        for (const job of result.jobs) this.sizing.set(job.jobId, job);
        const sizingOptions = {
          source: this.adapters.source,
          limits,
          random: this.sizingRandom,
          nowMs: () => this.nowMs(),
          trustedUntilMs,
          signal: this.shutdown.signal,
        };
        const { jobs, unsized } = await sizeClaim(result.jobs, sizingOptions).finally(() => {
          for (const job of result.jobs) this.sizing.delete(job.jobId);
        });
        for (const job of jobs) this.jobs.set(job.jobId, new JobData(job));
        this.deliver({ kind: 'jobsClaimed', jobs, exhausted: result.exhausted, unsized });
      })
      .catch((error: unknown) => {
        this.options.logger.log('warn', 'claim failed', { error: describeError(error) });
        this.deliver({ kind: 'claimFailed', failure: failureOf(error) });
      });
  }

  private async fetch(command: CommandOf<'fetchChunk'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const range = { offsetBytes: command.offsetBytes, lengthBytes: command.lengthBytes };
    const bytes =
      command.lengthBytes === 0
        ? new Uint8Array(0)
        : await this.adapters.source.read(command.input, range, data.abort.signal);
    data.chunks.set(command.chunkIndex, bytes);
    return { kind: 'chunkFetched', taskId: command.taskId, bytes: bytes.length };
  }

  private async decode(command: CommandOf<'decodeChunk'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const chunk = data.chunks.get(command.chunkIndex);
    if (chunk === undefined)
      throw new FailureError(ourFault(`chunk ${command.chunkIndex} of ${command.jobId} is not held`));
    data.chunks.delete(command.chunkIndex);
    // Read before the decode: a CPU thread takes the chunk's buffer (transferred, not copied), which leaves it empty here.
    const chunkBytes = chunk.length;
    const decoded = await this.adapters.cpu.decode(
      command.jobId,
      command.cpuLane,
      data.claimed.input,
      chunk,
      command.final,
    );
    const { byType, badByReason } = decoded.counters;
    this.progress.decoded(
      data.claimed.input.uri,
      totalCount(byType),
      chunkBytes,
      totalCount(badByReason),
      data.claimed.sizeBytes,
    );
    return { kind: 'chunkDecoded', taskId: command.taskId, ...decoded };
  }

  /** Encodes the next row group; the last one also writes the footer. */
  private async encode(command: CommandOf<'encodeRowGroup'>): Promise<Input> {
    const data = this.jobData(command.jobId);
    const bytes = await this.adapters.cpu.encode(command.jobId, command.cpuLane, command.rows, command.final);
    data.output.append(bytes);
    return { kind: 'rowGroupEncoded', taskId: command.taskId, bytes: bytes.length };
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
   * The job's upload, begun by its first part. A begin that failed (the sink could not start
   * one) is forgotten, so the part's retry begins again rather than
   * failing on the same rejection until the job gives up.
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
    return { kind: 'objectCompleted', taskId: command.taskId };
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
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.abandoned = true;
    this.shutdown.abort();
    for (const [jobId, data] of [...this.jobs]) {
      this.drop(jobId, 'the worker is stopping now');
      const lease = { jobId, attempt: data.claimed.attempt };
      this.background('ledger write', this.adapters.ledger.release(this.options.runId, lease));
    }
    for (const job of this.sizing.values()) {
      this.background(
        'ledger write',
        this.adapters.ledger.release(this.options.runId, { jobId: job.jobId, attempt: job.attempt }),
      );
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
    if (this.timer !== null) clearTimeout(this.timer);
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
