import { decodeOutputRatio } from '../core/capacity.ts';
import type { Lease } from '../core/input-ref.ts';
import type { WorkerLimits } from '../core/limits.ts';
import type { PerStage, Stage } from '../core/stage.ts';
import type { WorkerState } from '../core/worker-state.ts';
import type { SimulatedLedger } from './simulated-ledger.ts';

/** Violations kept word for word; beyond this many only the count grows. */
const violationsKeptMax = 20;

/** The held-bytes bound core/capacity.ts promises a worker in `state`, in its parts. */
export interface MemoryBound {
  /** max(budget, jobsActiveMax × part size + one chunk): the stall rule's, before any decode grows data. */
  readonly stallBytes: number;
  /** What one decode started alone over the budget (the stall rule) may grow: (ratio − 1) × chunk. */
  readonly loneDecodeGrowthBytes: number;
  /**
   * What decodes may produce past their reservation after the data outgrew the ratio they were
   * planned with: a lane runs one decode at a time, each planned at least at the largest ratio
   * answered before it, so a lane's decodes together exceed theirs by at most
   * (ratio − max(1, lowest ratio planned with)) × chunk; `cpuSlotsMax` lanes.
   */
  readonly outgrownBytes: number;
  readonly totalBytes: number;
}

/**
 * The bound of core/capacity.ts's memory rule, with the ratio the core plans with now
 * (`decodeOutputRatio`: the largest any decode answered, else the driver's figure) and the
 * lowest it planned with before. Index data (ratio < 1) grows nothing: the bound is the stall
 * rule's alone. Content data (4.5) allows one lone decode's growth; data that outgrow the
 * figure allow each lane's decodes their excess. A core that starts decodes whose growth does
 * not fit the budget while others hold it goes past this.
 */
export function memoryBoundOf(state: WorkerState, lowestRatio: number): MemoryBound {
  const limits = state.limits;
  let partBytes = limits.partBytes;
  for (const job of state.jobs.values()) partBytes = Math.max(partBytes, job.partTargetBytes);
  const stallBytes = Math.max(limits.memoryBudgetBytes, limits.jobsActiveMax * partBytes + limits.chunkBytes);
  const ratio = decodeOutputRatio(state);
  const loneDecodeGrowthBytes = Math.ceil(Math.max(0, ratio - 1) * limits.chunkBytes);
  // A decode planned at ratio f holds max(1, f) × chunk until it answers (its chunk and its reserved growth).
  const plannedBytesPerByte = Math.max(1, lowestRatio);
  const outgrownBytes = limits.cpuSlotsMax * Math.ceil(Math.max(0, ratio - plannedBytesPerByte) * limits.chunkBytes);
  return {
    stallBytes,
    loneDecodeGrowthBytes,
    outgrownBytes,
    totalBytes: stallBytes + loneDecodeGrowthBytes + outgrownBytes,
  };
}

/**
 * The checkers every simulation runs. Safety: no stage runs more tasks than its cap, CPU
 * threads and network streams are not oversubscribed, held memory stays within the bound
 * core/capacity.ts documents (with the growth it lets decodes reserve: `memoryBoundOf`), no commit starts on a lease the worker was told it lost or the
 * ledger no longer grants, each job is committed at most once, and no job is lost. Liveness:
 * every job ends within `jobEndBoundMs` of its first claim, and the run ends within
 * `runBoundMs`. The driver counts running tasks itself, from commands and answers, so a
 * miscount in the core cannot hide a broken cap.
 */
export class Checkers {
  readonly violations: string[] = [];
  violationCount = 0;
  /** Jobs whose success answer was delivered to a worker. */
  private readonly committedAnswers = new Map<string, number>();
  /** Per instance, the lowest decode output ratio its core planned with at any step (every life of it). */
  private readonly lowestRatios = new Map<number, number>();

  constructor(private readonly limits: WorkerLimits) {}

  private report(message: string): void {
    this.violationCount += 1;
    if (this.violations.length < violationsKeptMax) this.violations.push(message);
  }

  /** A task of `stage` was just dispatched; `active` counts it. */
  onDispatch(instance: number, active: PerStage<number>, stage: Stage, nowMs: number): void {
    const limits = this.limits;
    if (active[stage] > limits.stageWorkersMax[stage]) {
      this.report(
        `t=${nowMs}ms instance ${instance}: ${active[stage]} ${stage} tasks run, cap ${limits.stageWorkersMax[stage]}`,
      );
    }
    if (active.decode + active.encode > limits.cpuSlotsMax) {
      this.report(
        `t=${nowMs}ms instance ${instance}: ${active.decode + active.encode} CPU tasks on ${limits.cpuSlotsMax} threads`,
      );
    }
    if (active.fetch + active.upload > limits.networkStreamsMax) {
      this.report(
        `t=${nowMs}ms instance ${instance}: ${active.fetch + active.upload} network streams, cap ${limits.networkStreamsMax}`,
      );
    }
  }

  /**
   * Memory after a step, by the driver's own tally (memory-tally.ts): equal to what the core
   * believes it holds, and within the budget or within the bound core/capacity.ts promises
   * (`memoryBoundOf`).
   */
  afterStep(instance: number, state: WorkerState, tallyBytes: number, nowMs: number): void {
    const limits = state.limits;
    if (tallyBytes !== state.heldBytes) {
      this.report(
        `t=${nowMs}ms instance ${instance}: the core counts ${state.heldBytes} bytes held, the driver ${tallyBytes}`,
      );
    }
    if (tallyBytes < 0) this.report(`t=${nowMs}ms instance ${instance}: held bytes went negative (${tallyBytes})`);
    const lowestRatio = Math.min(this.lowestRatios.get(instance) ?? Infinity, decodeOutputRatio(state));
    this.lowestRatios.set(instance, lowestRatio);
    if (tallyBytes <= limits.memoryBudgetBytes) return;
    const bound = memoryBoundOf(state, lowestRatio);
    if (tallyBytes > bound.totalBytes) {
      this.report(
        `t=${nowMs}ms instance ${instance}: ${tallyBytes} bytes held, bound ${bound.totalBytes} ` +
          `(${bound.stallBytes} + a lone decode's growth ${bound.loneDecodeGrowthBytes}` +
          ` + decodes past an outgrown ratio ${bound.outgrownBytes})`,
      );
    }
  }

  /** A commit is dispatched: its lease must not be one the worker was told it lost, and the ledger must still grant it. */
  onCommitDispatch(instance: number, lease: Lease, toldLost: boolean, ledgerHolds: boolean, nowMs: number): void {
    if (toldLost)
      this.report(
        `t=${nowMs}ms instance ${instance}: commit of ${lease.jobId} attempt ${lease.attempt} after it was told the lease was lost`,
      );
    else if (!ledgerHolds)
      this.report(
        `t=${nowMs}ms instance ${instance}: commit of ${lease.jobId} attempt ${lease.attempt} on a lease the ledger no longer grants`,
      );
  }

  onCommittedAnswer(jobId: string, nowMs: number): void {
    const count = (this.committedAnswers.get(jobId) ?? 0) + 1;
    this.committedAnswers.set(jobId, count);
    if (count > 1) this.report(`t=${nowMs}ms: ${jobId} committed ${count} times`);
  }

  /** A subset's chunk was asked with another range than before: the core's plan of a job must not change. */
  onSubsetRequestChanged(instance: number, jobId: string, chunkIndex: number, nowMs: number): void {
    this.report(`t=${nowMs}ms instance ${instance}: ${jobId} chunk ${chunkIndex} asked with another range than before`);
  }

  /** After the run: every job ended (done or dead), once, and within the bounds. */
  atEnd(
    ledger: SimulatedLedger,
    options: {
      readonly endMs: number;
      readonly finished: boolean;
      readonly why: string;
      readonly jobEndBoundMs: number;
      readonly runBoundMs: number;
    },
  ): void {
    if (!options.finished) this.report(`the run did not finish (${options.why}) at t=${options.endMs}ms`);
    if (options.endMs > options.runBoundMs)
      this.report(`the run took ${options.endMs}ms, bound ${options.runBoundMs}ms`);
    let lost = 0;
    for (const job of ledger.jobs) {
      if (job.completions > 1) this.report(`${job.jobId} was completed ${job.completions} times in the ledger`);
      if (job.status !== 'done' && job.status !== 'dead') {
        lost += 1;
        if (lost <= 3) this.report(`${job.jobId} never ended: ${job.status} after ${job.attempts} attempts`);
        continue;
      }
      if (job.status === 'done' && job.picks !== null && job.exportedRows !== job.picks.length)
        this.report(`${job.jobId} exported ${job.exportedRows} rows of ${job.picks.length} picked captures`);
      const tookMs = job.endedAtMs - Math.max(0, job.firstClaimAtMs);
      if (tookMs > options.jobEndBoundMs)
        this.report(`${job.jobId} took ${tookMs}ms to end, bound ${options.jobEndBoundMs}ms`);
    }
    if (lost > 3) this.report(`${lost} jobs never ended in all`);
  }
}
