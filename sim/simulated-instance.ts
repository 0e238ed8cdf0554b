import type { InvariantChecks } from '../core/invariants.ts';
import type { Command, CommandOf } from '../core/commands.ts';
import { inputFault, remoteFault, type Failure } from '../core/failure.ts';
import type { Lease } from '../core/input-ref.ts';
import type { Input } from '../core/inputs.ts';
import type { MetricsSnapshot } from '../core/metrics-snapshot.ts';
import type { RecordCounters } from '../core/record-counters.ts';
import type { WorkerLimits } from '../core/limits.ts';
import type { PerStage, Stage } from '../core/stage.ts';
import { step } from '../core/step.ts';
import { createWorkerState, type WorkerState } from '../core/worker-state.ts';
import type { Checkers } from './checkers.ts';
import type { EventQueue } from './event-queue.ts';
import { MemoryTally } from './memory-tally.ts';
import { ratesOf, spanDecodeOf, type Models, type TransferModel } from './models.ts';
import type { NetworkLink, RateCeiling } from './network-models.ts';
import { chance, exponential, lognormal, uniform, type RandomStreams } from './random-streams.ts';
import type { RunStatistics } from './run-statistics.ts';
import type { SimulatedLedger } from './simulated-ledger.ts';
import type { SubsetTally } from './subset-tally.ts';

/** What the instances of one simulation share. */
export interface SimulationContext {
  readonly queue: EventQueue;
  readonly ledger: SimulatedLedger;
  readonly models: Models;
  readonly random: RandomStreams;
  readonly sourceCeiling: RateCeiling;
  readonly sinkCeiling: RateCeiling;
  /** Inputs that cannot be read at all, drawn once per job so every attempt sees the same file. */
  readonly badJobs: ReadonlySet<string>;
  readonly checkers: Checkers;
  readonly statistics: RunStatistics;
  readonly limits: WorkerLimits;
  readonly invariantChecks: InvariantChecks;
  /** The requests and picks of a subset run; null when jobs are whole files. */
  readonly subsetTally: SubsetTally | null;
  readonly onFinished: (instance: SimulatedInstance) => void;
  readonly onSnapshot: (instance: number, snapshot: MetricsSnapshot) => void;
  /** The core said `finished`; `tasksInFlight` of its tasks were still unanswered. */
  readonly onFinishedWithTasks: (instance: number, tasksInFlight: number) => void;
}

/** Bytes of a Parquet footer (schema, row-group and column statistics) added by the last encode. */
const footerBytes = 16 * 1024;

/** A chunk of a whole file decoded, in order or detached: its span, rows, counts and mean decode time. */
interface ChunkDecode {
  readonly startBytes: number;
  readonly endBytes: number;
  readonly rows: number;
  readonly rowBytes: number;
  readonly counters: RecordCounters;
  readonly decodeMs: number;
}

type TaskCommand = CommandOf<
  | 'sizeInput'
  | 'startUpload'
  | 'fetchChunk'
  | 'decodeChunk'
  | 'decodeDetached'
  | 'encodeRowGroup'
  | 'uploadPart'
  | 'completeObject'
  | 'commitJob'
>;

const stageOfCommand: Record<TaskCommand['kind'], Stage> = {
  sizeInput: 'fetch',
  startUpload: 'upload',
  fetchChunk: 'fetch',
  decodeChunk: 'decode',
  decodeDetached: 'decode',
  encodeRowGroup: 'encode',
  uploadPart: 'upload',
  completeObject: 'commit',
  commitJob: 'commit',
};

/**
 * One simulated instance: a worker core and the driver around it, as cmd/worker is around the
 * core in production. It turns the core's commands into events whose times and outcomes come
 * from the models, and feeds the answers back at those times. Every task command gets exactly
 * one answer, unless the instance crashes first: then its core is gone with everything it
 * knew, answers still on their way are dropped (the epoch tells them apart), and the ledger
 * reclaims its leases when they expire.
 */
export class SimulatedInstance {
  private state: WorkerState | null = null;
  /** Bumped by each crash; events of an earlier life are ignored. */
  private epoch = 0;
  private wakeAtMs: number | null = null;
  private lastIntegratedMs = 0;
  private readonly active: PerStage<number> = { fetch: 0, decode: 0, encode: 0, upload: 0, commit: 0 };
  private readonly taskStages = new Map<number, Stage>();
  /** Job id → [size, attempt] of jobs this life of the worker claimed. */
  private readonly heldJobs = new Map<string, readonly [number, number]>();
  /** Job id → the input's size, which the core learns only by its HEAD (`sizeInput`). */
  private readonly inputSizes = new Map<string, number>();
  /** The driver's own count of held bytes; a new one for each life of the worker. */
  private memory = new MemoryTally();
  /** `jobId#attempt` of leases the core was told it lost. */
  private readonly lostLeases = new Set<string>();
  finished = false;
  crashed = false;
  crashes = 0;

  constructor(
    readonly index: number,
    private readonly context: SimulationContext,
    readonly inbound: NetworkLink,
    readonly outbound: NetworkLink,
  ) {}

  get coreState(): WorkerState | null {
    return this.state;
  }

  /** Starts (or restarts) the worker with a fresh core. */
  start(): void {
    const seed = Math.floor(uniform(this.context.random.coreSeeds) * 2 ** 31);
    // The simulator is where the core is proven: unless the scenario says otherwise, every
    // step scans every job and task.
    const invariantChecks = this.context.invariantChecks;
    this.state = createWorkerState({ ...this.context.limits, seed }, { invariantChecks });
    this.crashed = false;
    this.lastIntegratedMs = this.context.queue.nowMs;
    this.runStep([]);
  }

  crash(): void {
    if (this.finished || this.crashed || this.state === null) return;
    this.integrate();
    this.epoch += 1;
    this.state = null;
    this.crashed = true;
    this.crashes += 1;
    this.wakeAtMs = null;
    this.taskStages.clear();
    this.heldJobs.clear();
    this.inputSizes.clear();
    this.lostLeases.clear();
    this.memory = new MemoryTally();
    for (const stage of Object.keys(this.active) as Stage[]) this.active[stage] = 0;
  }

  private integrate(): void {
    const nowMs = this.context.queue.nowMs;
    if (this.state !== null)
      this.context.statistics.integrate(this.active, this.state.readyCount, nowMs - this.lastIntegratedMs);
    this.lastIntegratedMs = nowMs;
  }

  private runStep(inputs: readonly Input[]): void {
    const state = this.state;
    if (state === null) return;
    const nowMs = this.context.queue.nowMs;
    // Integrate up to now with the counts as they were, before these answers change them.
    this.integrate();
    for (const input of inputs) this.noteDelivered(input);
    const result = step(state, nowMs, inputs);
    for (const command of result.commands) {
      this.memory.onCommand(command);
      this.execute(command, nowMs);
    }
    // A finished core steps no more (core/step.ts), so answers still coming leave its count frozen.
    if (!state.finished) this.context.checkers.afterStep(this.index, state, this.memory.heldBytes, nowMs);
    if (state.heldBytes > this.context.statistics.peakHeldBytes)
      this.context.statistics.peakHeldBytes = state.heldBytes;
    this.scheduleWake(result.wakeAtMs);
  }

  private scheduleWake(wakeAtMs: number | null): void {
    if (wakeAtMs === this.wakeAtMs) return;
    this.wakeAtMs = wakeAtMs;
    if (wakeAtMs === null) return;
    const epoch = this.epoch;
    this.context.queue.at(wakeAtMs, () => {
      if (epoch !== this.epoch || this.wakeAtMs !== wakeAtMs) return;
      this.wakeAtMs = null;
      this.runStep([{ kind: 'timer' }]);
    });
  }

  /** Delivers answers at `atMs`, to this life of the worker only. */
  private answerAt(atMs: number, inputs: readonly Input[]): void {
    const epoch = this.epoch;
    this.context.queue.at(atMs, () => {
      if (epoch !== this.epoch || this.state === null) return;
      this.runStep(inputs);
    });
  }

  private noteDelivered(input: Input): void {
    this.memory.onAnswer(input);
    if ('taskId' in input) {
      const stage = this.taskStages.get(input.taskId);
      this.taskStages.delete(input.taskId);
      if (stage !== undefined) this.active[stage] -= 1;
    } else if (input.kind === 'jobsClaimed') {
      for (const job of input.jobs) this.heldJobs.set(job.jobId, [this.inputSizes.get(job.jobId) ?? 0, job.attempt]);
    } else if (input.kind === 'leaseLost') {
      const held = this.heldJobs.get(input.jobId);
      if (held !== undefined) this.lostLeases.add(`${input.jobId}#${held[1]}`);
    }
  }

  private execute(command: Command, nowMs: number): void {
    const context = this.context;
    switch (command.kind) {
      case 'claimJobs': {
        const latencyMs = this.ledgerLatencyMs();
        if (this.ledgerCallFails()) {
          return this.answerAt(nowMs + latencyMs, [
            { kind: 'claimFailed', failure: remoteFault('ledger unavailable') },
          ]);
        }
        const claim = context.ledger.claim(this.index, command.count, nowMs, context.limits.leaseMs);
        // The crawls come from `warc.paths` manifests (crawl-presets.ts), which list paths only:
        // the ledger holds no size, and the core sizes each job with a HEAD.
        for (const job of claim.jobs) this.inputSizes.set(job.jobId, job.sizeBytes);
        const jobs = claim.jobs.map((job) => ({ ...job, sizeBytes: null }));
        return this.answerAt(nowMs + latencyMs, [{ kind: 'jobsClaimed', jobs, exhausted: claim.exhausted }]);
      }
      case 'heartbeat': {
        const latencyMs = this.ledgerLatencyMs();
        // A heartbeat lost on the way gets no answer: the leases simply are not renewed.
        if (this.ledgerCallFails()) return;
        const { renewed, lost } = context.ledger.heartbeat(command.leases, nowMs, context.limits.leaseMs);
        const inputs: Input[] = lost.map((jobId) => ({ kind: 'leaseLost', jobId }));
        inputs.push({ kind: 'leasesRenewed', jobIds: renewed, sentAtMs: command.sentAtMs });
        return this.answerAt(nowMs + latencyMs, inputs);
      }
      case 'failJob':
        if (!this.ledgerCallFails()) context.ledger.fail(command.lease, command.failure, nowMs);
        return;
      case 'releaseJob':
        if (!this.ledgerCallFails()) context.ledger.release(command.lease, nowMs);
        return;
      case 'jobEnded':
        this.heldJobs.delete(command.jobId);
        if (command.outcome === 'committed') context.statistics.onCommitted(nowMs);
        return;
      case 'emitMetrics':
        context.statistics.onSnapshot(command.snapshot);
        context.onSnapshot(this.index, command.snapshot);
        return;
      case 'finished':
        this.finished = true;
        context.onFinishedWithTasks(this.index, this.taskStages.size);
        context.onFinished(this);
        return;
      case 'dropJob':
      case 'placeDetached':
        return;
      default:
        return this.dispatchTask(command, nowMs);
    }
  }

  private dispatchTask(command: TaskCommand, nowMs: number): void {
    const stage = stageOfCommand[command.kind];
    this.taskStages.set(command.taskId, stage);
    this.active[stage] += 1;
    this.context.checkers.onDispatch(this.index, this.active, stage, nowMs);
    switch (command.kind) {
      case 'sizeInput': {
        const bytes = this.inputSizes.get(command.jobId) ?? 0;
        const sized: Input = { kind: 'inputSized', taskId: command.taskId, bytes };
        return this.request(command.taskId, this.context.models.source, this.context.sourceCeiling, nowMs, sized);
      }
      case 'startUpload': {
        const started: Input = { kind: 'uploadStarted', taskId: command.taskId };
        return this.request(command.taskId, this.context.models.sink, this.context.sinkCeiling, nowMs, started);
      }
      case 'fetchChunk':
        return this.fetch(command, nowMs);
      case 'decodeChunk':
        return this.decode(command, nowMs);
      case 'decodeDetached':
        return this.decodeDetached(command, nowMs);
      case 'encodeRowGroup':
        return this.encode(command, nowMs);
      case 'uploadPart':
        return this.upload(command, nowMs);
      case 'completeObject':
        return this.completeObject(command, nowMs);
      case 'commitJob':
        return this.commit(command, nowMs);
    }
  }

  private ledgerCallFails(): boolean {
    return chance(this.context.random.ledger, this.context.models.ledger.callFailureRate);
  }

  private ledgerLatencyMs(): number {
    const model = this.context.models.ledger;
    return lognormal(this.context.random.ledger, model.callLatencyMedianMs, model.callLatencySigma);
  }

  /**
   * A request to a remote: the ceiling and the fault roll decide whether it fails (after its
   * latency, or its timeout); otherwise it ends when its bytes have passed stream and NIC.
   * Every request draws the same numbers whatever its outcome, so streams stay aligned.
   */
  private transfer(
    taskId: number,
    model: TransferModel,
    ceiling: RateCeiling,
    link: NetworkLink,
    bytes: number,
    nowMs: number,
    success: Input,
  ): void {
    const latencyMs = this.latencyMs(model, link === this.inbound);
    if (this.failedRequest(taskId, model, ceiling, nowMs, latencyMs)) return;
    const aloneEndMs = nowMs + latencyMs + (bytes / model.streamBytesPerSecond) * 1000;
    // A subset's requests queue on the NIC from when they are sent (network-models.ts says why);
    // whole files from their first byte still, as the whole worker's ports do, whose makespans
    // the planner's are held to (test/sim/whole-worker-makespan.test.ts).
    const queuedAtMs = this.context.subsetTally === null ? nowMs + latencyMs : nowMs;
    this.answerAt(link.transferEndMs(nowMs + latencyMs, bytes, aloneEndMs, queuedAtMs), [success]);
  }

  /**
   * A request without a body (a HEAD of an input, a CreateMultipartUpload): a request's fixed
   * latency on its remote, under the same ceiling and faults as a transfer, and no bytes
   * through the NIC, so it does not queue behind the transfers on the link.
   */
  private request(taskId: number, model: TransferModel, ceiling: RateCeiling, nowMs: number, success: Input): void {
    const latencyMs = this.latencyMs(model, model === this.context.models.source);
    if (this.failedRequest(taskId, model, ceiling, nowMs, latencyMs)) return;
    this.answerAt(nowMs + latencyMs, [success]);
  }

  private latencyMs(model: TransferModel, inbound: boolean): number {
    const random = this.context.random;
    return lognormal(inbound ? random.fetch : random.upload, model.latencyMedianMs, model.latencySigma);
  }

  /** Answers the request with its failure when the ceiling or the fault roll says so; returns whether it did. */
  private failedRequest(
    taskId: number,
    model: TransferModel,
    ceiling: RateCeiling,
    nowMs: number,
    latencyMs: number,
  ): boolean {
    const roll = uniform(this.context.random.faults);
    let failure: Failure | null = null;
    let endMs = nowMs + latencyMs;
    if (!ceiling.admit(nowMs)) failure = remoteFault('503 SlowDown: request-rate ceiling', { throttled: true });
    else if (roll < model.slowDownRate) {
      ceiling.refusedAtRandom += 1;
      failure = remoteFault('503 SlowDown', { throttled: true });
    } else if (roll < model.slowDownRate + model.timeoutRate) {
      failure = remoteFault('request timed out');
      endMs = nowMs + model.timeoutMs;
    }
    if (failure !== null) this.answerAt(endMs, [{ kind: 'taskFailed', taskId, failure }]);
    return failure !== null;
  }

  private fetch(command: CommandOf<'fetchChunk'>, nowMs: number): void {
    const context = this.context;
    if (command.chunkIndex === 0 && context.badJobs.has(command.jobId)) {
      return this.answerAt(nowMs + context.models.source.latencyMedianMs, [
        { kind: 'taskFailed', taskId: command.taskId, failure: inputFault('not a WARC file') },
      ]);
    }
    const range = { offsetBytes: command.offsetBytes, lengthBytes: command.lengthBytes };
    if (context.subsetTally?.onRequest(command.jobId, command.chunkIndex, range) === false)
      context.checkers.onSubsetRequestChanged(this.index, command.jobId, command.chunkIndex, nowMs);
    const success: Input = { kind: 'chunkFetched', taskId: command.taskId, bytes: command.lengthBytes };
    this.transfer(
      command.taskId,
      context.models.source,
      context.sourceCeiling,
      this.inbound,
      command.lengthBytes,
      nowMs,
      success,
    );
  }

  private serviceMs(meanMs: number): number {
    return this.context.models.cpu.serviceTime === 'exponential'
      ? exponential(this.context.random.cpu, meanMs)
      : meanMs;
  }

  /**
   * A detached decode (core/split-decode.ts) of a file whose records never straddle a chunk's
   * end, so every boundary is true: the same rows and time as a decode in order, encoded in the
   * same task.
   */
  private decodeDetached(command: CommandOf<'decodeDetached'>, nowMs: number): void {
    const rates = ratesOf(this.context.models);
    const { startBytes, endBytes, rows, rowBytes, counters, decodeMs } = this.chunkDecode(
      command.jobId,
      command.chunkIndex,
    );
    const encodeMs = (rows / rates.encodeRowsPerSecondPerCore) * 1000;
    const encodedBytes = Math.round(rows * rates.parquetBytesPerRow);
    const answer: Input = {
      kind: 'detachedDecoded',
      taskId: command.taskId,
      startBytes,
      endBytes,
      rows,
      rowBytes,
      encodedBytes,
      counters,
      splittable: true,
      needsMore: false,
    };
    this.answerAt(nowMs + this.serviceMs(decodeMs + encodeMs), [answer]);
  }

  private decode(command: CommandOf<'decodeChunk'>, nowMs: number): void {
    const tally = this.context.subsetTally;
    if (tally?.picksByJob.has(command.jobId) === true) return this.decodePicks(command, tally, nowMs);
    const { rows, rowBytes, counters, decodeMs } = this.chunkDecode(command.jobId, command.chunkIndex);
    this.answerAt(nowMs + this.serviceMs(decodeMs), [
      { kind: 'chunkDecoded', taskId: command.taskId, rows, rowBytes, counters },
    ]);
  }

  /** What decoding a chunk of a whole file gives and costs, alike in order and detached. */
  private chunkDecode(jobId: string, chunkIndex: number): ChunkDecode {
    const { models, limits } = this.context;
    const sizeBytes = this.heldJobs.get(jobId)?.[0] ?? 0;
    const startBytes = Math.min(sizeBytes, chunkIndex * limits.chunkBytes);
    const endBytes = Math.min(sizeBytes, startBytes + limits.chunkBytes);
    const { rows, rowBytes, decodeMs } = spanDecodeOf(models, startBytes, endBytes);
    return {
      startBytes,
      endBytes,
      rows,
      rowBytes,
      decodeMs,
      counters: { byType: { response: rows }, badByReason: {} },
    };
  }

  /**
   * A subset's request: its picked captures, each decoded alone (the gaps between them are
   * dropped before the decoder, core/request-plan.ts `pickedBytes`), a row each.
   */
  private decodePicks(command: CommandOf<'decodeChunk'>, tally: SubsetTally, nowMs: number): void {
    const rates = ratesOf(this.context.models);
    const picked = tally.picksOf(command.jobId, command.chunkIndex);
    tally.onDecoded(nowMs, picked.count, tally.requestOf(command.jobId, command.chunkIndex)?.lengthBytes ?? 0);
    const rowBytes = Math.floor(picked.bytes * rates.rowBytesPerInputByte);
    const meanMs = (picked.bytes / rates.decodeBytesPerSecondPerCore) * 1000;
    const counters = { byType: { response: picked.count }, badByReason: {} };
    this.answerAt(nowMs + this.serviceMs(meanMs), [
      { kind: 'chunkDecoded', taskId: command.taskId, rows: picked.count, rowBytes, counters },
    ]);
  }

  private encode(command: CommandOf<'encodeRowGroup'>, nowMs: number): void {
    const rates = ratesOf(this.context.models);
    const meanMs = (command.rows / rates.encodeRowsPerSecondPerCore) * 1000;
    const bytes = Math.round(command.rows * rates.parquetBytesPerRow) + (command.final ? footerBytes : 0);
    this.answerAt(nowMs + this.serviceMs(meanMs), [{ kind: 'rowGroupEncoded', taskId: command.taskId, bytes }]);
  }

  private upload(command: CommandOf<'uploadPart'>, nowMs: number): void {
    const context = this.context;
    const success: Input = { kind: 'partUploaded', taskId: command.taskId };
    this.transfer(
      command.taskId,
      context.models.sink,
      context.sinkCeiling,
      this.outbound,
      command.lengthBytes,
      nowMs,
      success,
    );
  }

  /** A commit step may start only on a lease the worker was not told it lost and the ledger grants. */
  private checkCommitLease(lease: Lease, nowMs: number): void {
    const context = this.context;
    const toldLost = this.lostLeases.has(`${lease.jobId}#${lease.attempt}`);
    // A retried write of the attempt that completed the job (its answer was lost) is no commit on a lost lease.
    const granted = context.ledger.holds(lease, nowMs) || context.ledger.completedBy(lease);
    context.checkers.onCommitDispatch(this.index, lease, toldLost, granted, nowMs);
  }

  /**
   * The first step of a commit, CompleteMultipartUpload: it takes the commit latency and may
   * fail retryably. It happens at the end of its latency, on the remote side.
   */
  private completeObject(command: CommandOf<'completeObject'>, nowMs: number): void {
    const context = this.context;
    const attempt = this.heldJobs.get(command.jobId)?.[1] ?? -1;
    this.checkCommitLease({ jobId: command.jobId, attempt }, nowMs);
    const model = context.models.ledger;
    const endMs = nowMs + lognormal(context.random.ledger, model.commitLatencyMedianMs, model.commitLatencySigma);
    const failed = chance(context.random.faults, model.commitFailureRate);
    const answer: Input = failed
      ? {
          kind: 'taskFailed',
          taskId: command.taskId,
          failure: remoteFault('CompleteMultipartUpload: 500 InternalError'),
        }
      : { kind: 'objectCompleted', taskId: command.taskId };
    this.answerAt(endMs, [answer]);
  }

  /**
   * The second step, the fenced ledger write, a ledger call: it may fail before it lands, or
   * land and lose its answer (a connection dropped after COMMIT), when the worker retries it
   * and the ledger, idempotent for that attempt, answers "done". The write happens at the end
   * of its latency, on the ledger's side: a crash meanwhile loses the answer, not the write.
   */
  private commit(command: CommandOf<'commitJob'>, nowMs: number): void {
    const context = this.context;
    const lease = command.lease;
    this.checkCommitLease(lease, nowMs);
    const latencyMs = this.ledgerLatencyMs();
    const callFails = this.ledgerCallFails();
    const landsUnheard = callFails && chance(context.random.ledger, context.models.ledger.answerLostShare);
    const endMs = nowMs + latencyMs;
    const epoch = this.epoch;
    context.queue.at(endMs, () => {
      let inputs: Input[];
      if (callFails && !landsUnheard) {
        inputs = [
          {
            kind: 'taskFailed',
            taskId: command.taskId,
            failure: remoteFault('ledger connection lost before the write'),
          },
        ];
      } else if (context.ledger.complete(lease, endMs, command.summary.rows)) {
        inputs = landsUnheard
          ? [
              {
                kind: 'taskFailed',
                taskId: command.taskId,
                failure: remoteFault('ledger connection lost after COMMIT'),
              },
            ]
          : [{ kind: 'jobCommitted', taskId: command.taskId }];
        if (!landsUnheard) context.checkers.onCommittedAnswer(lease.jobId, endMs);
      } else {
        inputs = [
          { kind: 'leaseLost', jobId: lease.jobId },
          {
            kind: 'taskFailed',
            taskId: command.taskId,
            failure: { reason: 'commit refused: lease lost', fault: 'ours', retryable: false, throttled: false },
          },
        ];
      }
      if (epoch !== this.epoch || this.state === null) return;
      this.runStep(inputs);
    });
  }
}
