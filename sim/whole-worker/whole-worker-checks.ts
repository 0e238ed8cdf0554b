/**
 * The checkers of a whole-worker simulation. During the run, on every step of every worker:
 * the checkers the planner's simulation runs (sim/checkers.ts: stage, CPU and stream caps,
 * held memory counted by the driver against the core's count and its bound, no commit on a
 * lease the worker was told it lost), and, at the ledger, no job completed by two attempts.
 * At the end, through the ports only: every job ended; a done job's object is published and
 * whole (its rows add up to its input's); a job failed for good published nothing; only bad
 * inputs failed; no upload is left open by a worker that did not crash.
 */
import type { Command } from '../../core/commands.ts';
import type { InputRef, Lease } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import type { PerStage, Stage } from '../../core/stage.ts';
import type { WorkerState } from '../../core/worker-state.ts';
import { Checkers } from '../checkers.ts';
import { MemoryTally } from '../memory-tally.ts';
import type { Models } from '../models.ts';
import type { SimulatedLedgerPort } from '../simulated-ledger-port.ts';
import type { SimulatedSink } from '../simulated-sink.ts';
import { rowsInObject, rowsOfInput } from './model-cpu.ts';

const stageOfCommand: Partial<Record<Command['kind'], Stage>> = {
  // A HEAD and a CreateMultipartUpload are tasks of their stage and count against its caps, as in the core.
  sizeInput: 'fetch',
  startUpload: 'upload',
  fetchChunk: 'fetch',
  decodeChunk: 'decode',
  encodeRowGroup: 'encode',
  uploadPart: 'upload',
  completeObject: 'commit',
  commitJob: 'commit',
};

/** What the checkers count of one life of a worker, from the commands and answers of its steps. */
export class LifeTally {
  private readonly active: PerStage<number> = { fetch: 0, decode: 0, encode: 0, upload: 0, commit: 0 };
  private readonly taskStages = new Map<number, Stage>();
  private readonly memory = new MemoryTally();
  private readonly attempts = new Map<string, number>();
  private readonly toldLost = new Set<string>();

  constructor(
    private readonly instance: number,
    private readonly checkers: Checkers,
    private readonly onHead: () => void,
  ) {}

  onStep(state: WorkerState, inputs: readonly Input[], commands: readonly Command[], nowMs: number): void {
    for (const input of inputs) this.onInput(input);
    for (const command of commands) this.onCommand(command, nowMs);
    // A finished core steps no more (core/step.ts), so answers still coming leave its count frozen.
    if (!state.finished) this.checkers.afterStep(this.instance, state, this.memory.heldBytes, nowMs);
  }

  private onInput(input: Input): void {
    this.memory.onAnswer(input);
    if ('taskId' in input) {
      const stage = this.taskStages.get(input.taskId);
      this.taskStages.delete(input.taskId);
      if (stage !== undefined) this.active[stage] -= 1;
    } else if (input.kind === 'jobsClaimed') {
      for (const job of input.jobs) this.attempts.set(job.jobId, job.attempt);
    } else if (input.kind === 'leaseLost') {
      const attempt = this.attempts.get(input.jobId);
      if (attempt !== undefined) this.toldLost.add(`${input.jobId}#${attempt}`);
    }
  }

  private onCommand(command: Command, nowMs: number): void {
    this.memory.onCommand(command);
    if (command.kind === 'sizeInput') this.onHead();
    const stage = stageOfCommand[command.kind];
    if (stage === undefined || !('taskId' in command)) return;
    this.taskStages.set(command.taskId, stage);
    this.active[stage] += 1;
    this.checkers.onDispatch(this.instance, this.active, stage, nowMs);
    if (command.kind === 'commitJob') {
      const lease = command.lease;
      // Whether the ledger still grants it, its fenced write decides (onLedgerCompleted checks the outcome).
      this.checkers.onCommitDispatch(
        this.instance,
        lease,
        this.toldLost.has(`${lease.jobId}#${lease.attempt}`),
        true,
        nowMs,
      );
    }
  }
}

export interface EndOfRun {
  readonly runId: string;
  readonly ledger: SimulatedLedgerPort;
  readonly sink: SimulatedSink;
  readonly inputs: readonly InputRef[];
  readonly badInputs: ReadonlySet<string>;
  readonly outputKeyOf: (input: InputRef) => string;
  readonly models: Models;
  readonly finished: boolean;
  readonly why: string;
}

export class WholeWorkerChecks {
  readonly checkers: Checkers;
  private readonly own: string[] = [];
  private readonly completedBy = new Map<string, number>();
  private readonly uploads = new Map<string, string>();
  private readonly crashedLives = new Set<string>();
  /** `sizeInput` tasks dispatched by every life: a run that enqueued unsized inputs must have made some. */
  headsDispatched = 0;

  constructor(limits: WorkerLimits) {
    this.checkers = new Checkers(limits);
  }

  get violations(): string[] {
    return [...this.checkers.violations, ...this.own];
  }

  newLife(instance: number): LifeTally {
    return new LifeTally(instance, this.checkers, () => (this.headsDispatched += 1));
  }

  onCrash(life: string): void {
    this.crashedLives.add(life);
  }

  /** Safety: the ledger accepts one attempt's completion of a job, however often that attempt retries it. */
  onLedgerCompleted(lease: Lease, nowMs: number): void {
    const earlier = this.completedBy.get(lease.jobId);
    if (earlier === undefined) this.completedBy.set(lease.jobId, lease.attempt);
    else if (earlier !== lease.attempt)
      this.own.push(`t=${nowMs}ms: ${lease.jobId} completed by attempt ${earlier} and by attempt ${lease.attempt}`);
  }

  onUploadBegun(uploadId: string, life: string): void {
    this.uploads.set(uploadId, life);
  }

  onUploadEnded(uploadId: string): void {
    this.uploads.delete(uploadId);
  }

  async atEnd(end: EndOfRun): Promise<void> {
    if (!end.finished) this.own.push(`the run did not finish: ${end.why}`);
    for (const [index, input] of end.inputs.entries()) await this.checkJob(end, `job-${index}`, input);
    for (const [uploadId, life] of this.uploads) {
      if (!this.crashedLives.has(life)) this.own.push(`upload ${uploadId} of ${life} was left open`);
    }
  }

  private async checkJob(end: EndOfRun, jobId: string, input: InputRef): Promise<void> {
    const status = await end.ledger.jobStatus(end.runId, jobId);
    const object = end.sink.readObject(end.outputKeyOf(input));
    const bad = end.badInputs.has(input.uri);
    const name = `${jobId} (${input.uri}${bad ? ', a bad input' : ''})`;
    if (status?.state === 'done') {
      if (bad) this.own.push(`${name} is done`);
      if (object === null) return void this.own.push(`${name} is done but its object is not published`);
      const rows = rowsInObject(object);
      const expected = rowsOfInput(input.sizeBytes ?? 0, end.models);
      if (rows !== expected) this.own.push(`${name}: its object holds ${String(rows)}, not ${expected} rows`);
    } else if (status?.state === 'failed') {
      if (object !== null) this.own.push(`${name} failed for good (${status.lastError}) but its object is published`);
      else if (!bad) this.own.push(`${name} failed for good (${status.lastError}) though only bad inputs fail`);
    } else {
      this.own.push(`${name} never ended: ${status?.state ?? 'unknown'}`);
    }
  }
}
