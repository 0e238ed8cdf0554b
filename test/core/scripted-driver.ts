/**
 * A small driver for testing the core: virtual time, a fake ledger, and task answers whose
 * durations and failures come from a seeded generator. It plays the part the simulator and
 * the node runtime play in production, with nothing else in the way, and records every step
 * so properties can be checked on the trace.
 */
import { BinaryHeap } from '../../core/binary-heap.ts';
import type { Command, CommandOf } from '../../core/commands.ts';
import type { Failure } from '../../core/failure.ts';
import type { LeasedJob } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import { nextUnit, seededRandom, type SeededRandom } from '../../core/seeded-random.ts';
import type { PerStage, Stage } from '../../core/stage.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type WorkerState } from '../../core/worker-state.ts';

export interface FaultRates {
  /** Probability that a fetch (or upload, commit) fails with a retryable remote error. */
  readonly retryable: number;
  /** Probability that a fetch or upload is throttled (503 SlowDown). */
  readonly throttled: number;
  /** Probability that a task fails for good (a bad input, a missing object). */
  readonly permanent: number;
  /** Probability that a heartbeat gets no answer. */
  readonly heartbeatLost: number;
  /** Probability, per heartbeat, that another worker takes one of our leases. */
  readonly leaseStolen: number;
  /** Probability that a commit's ledger write lands but its answer is lost (a connection dropped after COMMIT). */
  readonly commitAnswerLost: number;
}

export const noFaults: FaultRates = {
  retryable: 0,
  throttled: 0,
  permanent: 0,
  heartbeatLost: 0,
  leaseStolen: 0,
  commitAnswerLost: 0,
};

export interface Scenario {
  readonly limits: WorkerLimits;
  readonly jobSizesBytes: readonly number[];
  readonly seed: number;
  /** Task durations are uniform in [min, max] milliseconds. */
  readonly durationMs: PerStage<readonly [number, number]>;
  readonly faults: FaultRates;
  /** Rows per input byte, row bytes per input byte (≤ 1 keeps memory from growing), encoded bytes per row byte. */
  readonly rowsPerByte: number;
  readonly rowBytesPerByte: number;
  readonly encodedPerRowByte: number;
  readonly shutdownAtMs?: number | undefined;
  readonly stepsMax?: number;
  /** The ledger hands jobs out without their size (a manifest's), so the core sizes each with a HEAD. */
  readonly unsized?: boolean;
  /**
   * Scripted answers of the one-off tasks: the failure of try number `tries` (from 1) of a
   * job's HEAD or upload start in its current attempt, or null for success; after the fault rates.
   */
  readonly oneOffFailure?: (kind: 'sizeInput' | 'startUpload', jobId: string, tries: number) => Failure | null;
  /** Scripted heartbeat answers: false to lose the answer to heartbeat number `beat` (from 1); after the fault rates. */
  readonly heartbeatAnswered?: (beat: number) => boolean;
  /** Scripted steals: true to have another worker take every lease heartbeat number `beat` (from 1) names, before it is answered. */
  readonly leasesStolenAt?: (beat: number) => boolean;
}

export interface StepRecord {
  readonly nowMs: number;
  readonly inputs: readonly Input[];
  readonly commands: readonly Command[];
  readonly wakeAtMs: number | null;
}

export interface RunResult {
  readonly state: WorkerState;
  readonly trace: StepRecord[];
  readonly finished: boolean;
  readonly endMs: number;
  /** Leases as the fake ledger granted them: job id → attempt → claim send time. */
  readonly ledger: FakeLedger;
}

interface PendingAnswer {
  readonly atMs: number;
  readonly seq: number;
  readonly input: Input;
}

/** The ledger of one worker's run: a queue, leases with attempts, and their expiry. */
export class FakeLedger {
  readonly queue: string[] = [];
  readonly sizes = new Map<string, number>();
  readonly attempts = new Map<string, number>();
  readonly leases = new Map<string, { attempt: number; expiresAtMs: number }>();
  /** Completions recorded per job; a retry of the attempt that did it answers done and adds none. */
  readonly committed = new Map<string, number>();
  /** The attempt that completed each job. */
  readonly completedBy = new Map<string, number>();
  /** Objects completed per job (each attempt that got that far completes its own). */
  readonly objectsCompleted = new Map<string, number>();
  readonly failed = new Set<string>();
  readonly commitRefused: string[] = [];
  /** Jobs whose failJob came from an attempt that no longer held the lease, in order. */
  readonly failRefused: string[] = [];
  /** When each HEAD of a job was sent, by `jobId#attempt`. */
  readonly headsAtMs = new Map<string, number[]>();
  /** When each start of a job's upload was sent, by `jobId#attempt`. */
  readonly startsAtMs = new Map<string, number[]>();

  constructor(
    sizes: readonly number[],
    private readonly unsized = false,
  ) {
    sizes.forEach((size, index) => {
      const jobId = `job-${index}`;
      this.queue.push(jobId);
      this.sizes.set(jobId, size);
    });
  }

  claim(count: number, nowMs: number, leaseMs: number): { jobs: LeasedJob[]; exhausted: boolean } {
    this.reclaimExpired(nowMs);
    const jobs: LeasedJob[] = [];
    while (jobs.length < count && this.queue.length > 0) {
      const jobId = this.queue.shift() as string;
      const attempt = (this.attempts.get(jobId) ?? 0) + 1;
      this.attempts.set(jobId, attempt);
      this.leases.set(jobId, { attempt, expiresAtMs: nowMs + leaseMs });
      const sizeBytes = this.unsized ? null : (this.sizes.get(jobId) as number);
      const input = {
        uri: `file:///${jobId}.warc.gz`,
        filename: `${jobId}.warc.gz`,
        crawl: null,
        subset: null,
        segment: null,
      };
      jobs.push({ jobId, input, sizeBytes, attempt, outputKey: `${jobId}.parquet` });
    }
    return { jobs, exhausted: jobs.length === 0 && this.queue.length === 0 && this.leases.size === 0 };
  }

  holds(jobId: string, attempt: number, nowMs: number): boolean {
    const lease = this.leases.get(jobId);
    return lease !== undefined && lease.attempt === attempt && lease.expiresAtMs > nowMs;
  }

  reclaimExpired(nowMs: number): void {
    for (const [jobId, lease] of [...this.leases]) {
      if (lease.expiresAtMs <= nowMs) {
        this.leases.delete(jobId);
        this.queue.push(jobId);
      }
    }
  }

  /**
   * Retryable failures come back up to three attempts; then, like permanent ones, they are dead.
   * Fenced as the real ledgers are (`fencedLease` in postgres-ledger-statements.ts, `fencedChange`
   * in core/ledger-machine.ts): only the attempt that still holds the lease can fail the job. A
   * worker fails a job it believes it holds when the heartbeat that would have told it otherwise
   * went unanswered; an unfenced fail would queue a stolen job a second time, and the two
   * attempts claimed from those entries would each commit it.
   */
  fail(jobId: string, attempt: number, retryable: boolean, nowMs: number): boolean {
    if (!this.holds(jobId, attempt, nowMs)) {
      this.failRefused.push(jobId);
      return false;
    }
    this.leases.delete(jobId);
    if (retryable && (this.attempts.get(jobId) ?? 0) < 3) this.queue.push(jobId);
    else this.failed.add(jobId);
    return true;
  }

  /** The fenced, idempotent completion: true when `attempt` holds the lease or already completed the job. */
  complete(jobId: string, attempt: number, nowMs: number): boolean {
    if (this.completedBy.get(jobId) === attempt) return true;
    if (!this.holds(jobId, attempt, nowMs)) return false;
    this.leases.delete(jobId);
    this.completedBy.set(jobId, attempt);
    this.committed.set(jobId, (this.committed.get(jobId) ?? 0) + 1);
    return true;
  }

  /** Another worker takes the job: only a lease still held can be taken (a job done, or taken already, is not). */
  steal(jobId: string, attempt: number, nowMs: number): void {
    if (!this.holds(jobId, attempt, nowMs)) return;
    this.leases.delete(jobId);
    this.queue.push(jobId);
  }
}

const stageDurationKey: Record<string, Stage> = {
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

export function runScenario(scenario: Scenario, observe?: (state: WorkerState, record: StepRecord) => void): RunResult {
  const state = createWorkerState(scenario.limits, { invariantChecks: 'full' });
  const driver = new ScriptedDriver(scenario, state);
  return driver.run(observe);
}

class ScriptedDriver {
  private readonly random: SeededRandom;
  private readonly pending = new BinaryHeap<PendingAnswer>((a, b) =>
    a.atMs !== b.atMs ? a.atMs < b.atMs : a.seq < b.seq,
  );
  private nextSeq = 0;
  private heartbeats = 0;
  readonly ledger: FakeLedger;

  constructor(
    private readonly scenario: Scenario,
    private readonly state: WorkerState,
  ) {
    this.random = seededRandom(scenario.seed);
    this.ledger = new FakeLedger(scenario.jobSizesBytes, scenario.unsized);
  }

  run(observe?: (state: WorkerState, record: StepRecord) => void): RunResult {
    const trace: StepRecord[] = [];
    let nowMs = 0;
    let inputs: Input[] = [];
    let shutdownSent = this.scenario.shutdownAtMs === undefined;
    const stepsMax = this.scenario.stepsMax ?? 200_000;
    for (let steps = 0; steps < stepsMax; steps++) {
      const result = step(this.state, nowMs, inputs);
      const record = { nowMs, inputs, commands: result.commands, wakeAtMs: result.wakeAtMs };
      trace.push(record);
      observe?.(this.state, record);
      for (const command of result.commands) this.execute(command, nowMs);
      if (this.state.finished) return { state: this.state, trace, finished: true, endMs: nowMs, ledger: this.ledger };
      let nextMs = Math.min(this.pending.peek()?.atMs ?? Infinity, result.wakeAtMs ?? Infinity);
      if (!shutdownSent) nextMs = Math.min(nextMs, this.scenario.shutdownAtMs as number);
      if (!Number.isFinite(nextMs)) break;
      nowMs = Math.max(nowMs, nextMs);
      inputs = [];
      for (let top = this.pending.peek(); top !== undefined && top.atMs <= nowMs; top = this.pending.peek()) {
        inputs.push((this.pending.pop() as PendingAnswer).input);
      }
      if (!shutdownSent && nowMs >= (this.scenario.shutdownAtMs as number)) {
        inputs.push({ kind: 'shutdownRequested' });
        shutdownSent = true;
      }
      if (inputs.length === 0) inputs.push({ kind: 'timer' });
    }
    return { state: this.state, trace, finished: false, endMs: nowMs, ledger: this.ledger };
  }

  private answer(atMs: number, input: Input): void {
    this.pending.push({ atMs, seq: this.nextSeq++, input });
  }

  private duration(stage: Stage): number {
    const [min, max] = this.scenario.durationMs[stage];
    return min + Math.floor(nextUnit(this.random) * (max - min + 1));
  }

  /** A failure for a task, or null; remote stages can be throttled, all can fail. */
  private failureFor(stage: Stage): Failure | null {
    const faults = this.scenario.faults;
    const roll = nextUnit(this.random);
    const remote = stage === 'fetch' || stage === 'upload';
    if (remote && roll < faults.throttled)
      return { reason: '503 SlowDown', fault: 'remote', retryable: true, throttled: true };
    if (stage !== 'decode' && stage !== 'encode' && roll < faults.throttled + faults.retryable) {
      return { reason: 'connection reset', fault: 'remote', retryable: true, throttled: false };
    }
    if (roll > 1 - faults.permanent) return { reason: 'not found', fault: 'input', retryable: false, throttled: false };
    return null;
  }

  private execute(command: Command, nowMs: number): void {
    switch (command.kind) {
      case 'claimJobs': {
        const claim = this.ledger.claim(command.count, nowMs + 1, this.scenario.limits.leaseMs);
        this.answer(nowMs + 1, { kind: 'jobsClaimed', jobs: claim.jobs, exhausted: claim.exhausted });
        return;
      }
      case 'heartbeat':
        return this.onHeartbeat(command, nowMs);
      case 'failJob':
        this.ledger.fail(command.lease.jobId, command.lease.attempt, command.failure.retryable, nowMs);
        return;
      case 'releaseJob':
        if (this.ledger.holds(command.lease.jobId, command.lease.attempt, nowMs)) {
          this.ledger.leases.delete(command.lease.jobId);
          this.ledger.queue.push(command.lease.jobId);
        }
        return;
      case 'dropJob':
      case 'jobEnded':
      case 'emitMetrics':
      case 'finished':
      case 'placeDetached':
        return;
      default:
        return this.executeTask(command, nowMs);
    }
  }

  private onHeartbeat(command: CommandOf<'heartbeat'>, nowMs: number): void {
    const faults = this.scenario.faults;
    this.heartbeats += 1;
    if (command.leases.length > 0 && nextUnit(this.random) < faults.leaseStolen) {
      const victim = command.leases[Math.floor(nextUnit(this.random) * command.leases.length)];
      if (victim !== undefined) this.ledger.steal(victim.jobId, victim.attempt, nowMs);
    }
    if (this.scenario.leasesStolenAt?.(this.heartbeats) === true)
      for (const lease of command.leases) this.ledger.steal(lease.jobId, lease.attempt, nowMs);
    if (nextUnit(this.random) < faults.heartbeatLost) return;
    if (this.scenario.heartbeatAnswered?.(this.heartbeats) === false) return;
    const renewed: string[] = [];
    for (const lease of command.leases) {
      if (this.ledger.holds(lease.jobId, lease.attempt, nowMs)) {
        (this.ledger.leases.get(lease.jobId) as { expiresAtMs: number }).expiresAtMs =
          nowMs + this.scenario.limits.leaseMs;
        renewed.push(lease.jobId);
      } else {
        this.answer(nowMs + 1, { kind: 'leaseLost', jobId: lease.jobId });
      }
    }
    this.answer(nowMs + 1, { kind: 'leasesRenewed', jobIds: renewed, sentAtMs: command.sentAtMs });
  }

  /** A detached decode of a file whose records end on chunk boundaries: every boundary is true. */
  private detachedAnswer(command: CommandOf<'decodeDetached'>): Input {
    const chunkBytes = this.scenario.limits.chunkBytes;
    const sizeBytes = this.ledger.sizes.get(command.jobId) ?? 0;
    const startBytes = Math.min(sizeBytes, command.startBytes ?? command.chunkIndex * chunkBytes);
    const endBytes = Math.min(sizeBytes, (command.chunkIndex + 1) * chunkBytes);
    const lengthBytes = endBytes - startBytes;
    const rows = Math.floor(lengthBytes * this.scenario.rowsPerByte);
    const rowBytes = Math.floor(lengthBytes * this.scenario.rowBytesPerByte);
    const encodedBytes = Math.floor(rowBytes * this.scenario.encodedPerRowByte);
    const counters = { byType: { response: rows }, badByReason: {} };
    return {
      kind: 'detachedDecoded',
      taskId: command.taskId,
      ...{ startBytes, endBytes, rows, rowBytes, encodedBytes, counters, splittable: true, needsMore: false },
    };
  }

  private executeTask(
    command: Exclude<
      Command,
      {
        kind:
          | 'claimJobs'
          | 'heartbeat'
          | 'failJob'
          | 'releaseJob'
          | 'dropJob'
          | 'jobEnded'
          | 'emitMetrics'
          | 'finished'
          | 'placeDetached';
      }
    >,
    nowMs: number,
  ): void {
    const stage = stageDurationKey[command.kind] as Stage;
    const atMs = nowMs + this.duration(stage);
    let failure = this.failureFor(stage);
    if (command.kind === 'sizeInput' || command.kind === 'startUpload') {
      const sent = command.kind === 'sizeInput' ? this.ledger.headsAtMs : this.ledger.startsAtMs;
      const key = `${command.jobId}#${this.ledger.attempts.get(command.jobId) ?? 0}`;
      const times = sent.get(key) ?? [];
      times.push(nowMs);
      sent.set(key, times);
      failure ??= this.scenario.oneOffFailure?.(command.kind, command.jobId, times.length) ?? null;
    }
    if (failure !== null) return this.answer(atMs, { kind: 'taskFailed', taskId: command.taskId, failure });
    switch (command.kind) {
      case 'sizeInput':
        return this.answer(atMs, {
          kind: 'inputSized',
          taskId: command.taskId,
          bytes: this.ledger.sizes.get(command.jobId) as number,
        });
      case 'startUpload':
        return this.answer(atMs, { kind: 'uploadStarted', taskId: command.taskId });
      case 'fetchChunk':
        return this.answer(atMs, { kind: 'chunkFetched', taskId: command.taskId, bytes: command.lengthBytes });
      case 'decodeChunk': {
        const task = this.state.inFlight.get(command.taskId);
        const lengthBytes = task?.bytes ?? 0;
        const rowBytes = Math.floor(lengthBytes * this.scenario.rowBytesPerByte);
        const rows = Math.floor(lengthBytes * this.scenario.rowsPerByte);
        const counters = { byType: { response: rows }, badByReason: {} };
        return this.answer(atMs, { kind: 'chunkDecoded', taskId: command.taskId, rows, rowBytes, counters });
      }
      case 'decodeDetached':
        return this.answer(atMs, this.detachedAnswer(command));
      case 'encodeRowGroup': {
        const task = this.state.inFlight.get(command.taskId);
        const bytes = Math.floor((task?.bytes ?? 0) * this.scenario.encodedPerRowByte);
        return this.answer(atMs, { kind: 'rowGroupEncoded', taskId: command.taskId, bytes });
      }
      case 'uploadPart':
        return this.answer(atMs, { kind: 'partUploaded', taskId: command.taskId });
      case 'completeObject':
        this.ledger.objectsCompleted.set(command.jobId, (this.ledger.objectsCompleted.get(command.jobId) ?? 0) + 1);
        return this.answer(atMs, { kind: 'objectCompleted', taskId: command.taskId });
      case 'commitJob': {
        const answerLost = nextUnit(this.random) < this.scenario.faults.commitAnswerLost;
        if (!this.ledger.complete(command.lease.jobId, command.lease.attempt, atMs)) {
          this.ledger.commitRefused.push(command.lease.jobId);
          this.answer(atMs, { kind: 'leaseLost', jobId: command.lease.jobId });
          return this.answer(atMs, {
            kind: 'taskFailed',
            taskId: command.taskId,
            failure: { reason: 'lease lost', fault: 'ours', retryable: false, throttled: false },
          });
        }
        if (answerLost)
          return this.answer(atMs, {
            kind: 'taskFailed',
            taskId: command.taskId,
            failure: { reason: 'connection lost after COMMIT', fault: 'remote', retryable: true, throttled: false },
          });
        return this.answer(atMs, { kind: 'jobCommitted', taskId: command.taskId });
      }
    }
  }
}
