import { remoteLimit, type RemoteLimit } from './remote-limit.ts';
import { requestRate, type RequestRate } from './request-rate.ts';
import { BinaryHeap } from './binary-heap.ts';
import type { InvariantChecks } from './invariants.ts';
import type { JobState } from './job-state.ts';
import { fetchWindowChunks, validateLimits, type WorkerLimits } from './limits.ts';
import { newReadAhead, type ReadAhead } from './read-ahead.ts';
import { emptyRecordCounters, type RecordCounters } from './record-counters.ts';
import { seededRandom, type SeededRandom } from './seeded-random.ts';
import { perStage, type PerStage, type Policy, type Remote, type Stage } from './stage.ts';

/**
 * A task that can run now. `index` is the chunk index (fetch, decode), the row group (encode),
 * the part number (upload), or 0 (commit).
 */
export interface ReadyEntry {
  readonly job: JobState;
  readonly stage: Stage;
  readonly index: number;
  /** Arrival order in the ready queues, for FIFO and tie-breaking. */
  readonly readySeq: number;
  /** Retried fetches already hold their memory and a sizing needs none, so they go before new fetches (capacity.ts). */
  readonly reserved: boolean;
  /** A detached decode (split-decode.ts): it runs on any idle lane, and is void once its job falls back. */
  readonly detached: boolean;
}

/** A task waiting for its retry delay. */
export interface BackoffEntry {
  readonly job: JobState;
  readonly stage: Stage;
  readonly index: number;
  readonly readyAtMs: number;
  readonly seq: number;
}

/** A dispatched task, until its answer arrives. */
export interface TaskInFlight {
  readonly taskId: number;
  readonly stage: Stage;
  readonly job: JobState;
  readonly index: number;
  /** Bytes of the budget that this task holds while it runs. */
  readonly bytes: number;
  /** Rows an encode task takes; 0 for other stages. */
  readonly rows: number;
  /** A decode of the last chunk, or an encode that writes the footer. */
  readonly final: boolean;
  /**
   * Bytes a decode reserves for the rows it may add beyond its chunk (capacity.ts), freed by
   * its answer; 0 for other tasks and for decodes that shrink data.
   */
  readonly outputReservedBytes: number;
  /** Dispatch order: a remote's limit tells answers to requests sent before its last cut by it. */
  readonly dispatchSeq: number;
  /** The CPU lane a decode or encode occupies; -1 for other stages. */
  readonly cpuLane: number;
  /** A detached decode (split-decode.ts): void, answer or failure, once its job fell back. */
  readonly detached: boolean;
}

/** Counters since the worker started; the metrics snapshot reports them. */
export interface WorkerCounters {
  jobsClaimed: number;
  jobsCommitted: number;
  jobsFailed: number;
  jobsReleased: number;
  jobsLost: number;
  tasksFailed: number;
  retries: number;
  throttles: number;
  bytesIn: number;
  bytesOut: number;
  rows: number;
  records: RecordCounters;
}

export interface WorkerState {
  readonly limits: WorkerLimits;
  /** The most one job may read ahead, in chunks (see `fetchWindowChunks` in limits.ts). */
  readonly fetchWindowChunks: number;
  /** What an in-order job reads ahead now, grown when decodes wait on the source (read-ahead.ts). */
  readonly readAhead: ReadAhead;
  readonly random: SeededRandom;
  readonly jobs: Map<string, JobState>;
  readonly inFlight: Map<number, TaskInFlight>;
  /**
   * Ready queues. Decode and encode keep one heap per CPU lane and a last one for jobs not
   * pinned yet (cpu-lanes.ts); the other stages one heap each (ready-queue.ts).
   */
  readonly ready: PerStage<BinaryHeap<ReadyEntry>[]>;
  readonly readyCount: PerStage<number>;
  readonly active: PerStage<number>;
  /** Since when each stage has had ready work without a dispatch; for the starvation rule. */
  readonly waitingSinceMs: PerStage<number>;
  readonly backoff: BinaryHeap<BackoffEntry>;
  /** Backoff entries of jobs still held (the heap may also hold entries of ended jobs). */
  backoffCount: number;
  readonly remotes: Record<Remote, RemoteLimit>;
  /** Each remote's request-rate ceiling for this worker (request-rate.ts). */
  readonly requestRates: Record<Remote, RequestRate>;
  heldBytes: number;
  /**
   * The part of `heldBytes` reserved by fetches for chunks of jobs still held, from first
   * dispatch until decoded: the memory the core admits itself (capacity.ts), so its bound
   * holds whatever sizes the driver reports for rows and encoded bytes.
   */
  chunkBytesReserved: number;
  /**
   * Room the decodes in flight reserve for the rows they may add beyond their chunks: not held
   * yet, so outside `heldBytes`, but counted against the budget by admission (capacity.ts).
   */
  decodeOutputBytesReserved: number;
  /** The largest row bytes per input byte a decode has answered so far (capacity.ts). */
  decodeOutputRatioSeen: number;

  nextTaskId: number;
  nextJobSeq: number;
  nextReadySeq: number;
  nextDispatchSeq: number;
  nextBackoffSeq: number;
  /** Round-robin policy: the stage dispatched last. */
  roundRobinCursor: number;
  /** Per CPU lane (thread): whether a task runs on it, and how many jobs are pinned to it. */
  readonly laneBusy: boolean[];
  readonly lanePinned: number[];
  /** Lanes marked busy, kept beside `laneBusy` so the invariant check is O(1). */
  busyLaneCount: number;

  started: boolean;
  lastNowMs: number;
  /** The ledger said the run has nothing left to hand out, and no claim since gave a job. */
  exhausted: boolean;
  claimInFlight: boolean;
  claimSentAtMs: number;
  claimNotBeforeMs: number;
  draining: boolean;
  drainDeadlineMs: number;
  finished: boolean;
  nextHeartbeatAtMs: number;
  nextMetricsAtMs: number;
  nextLeaseCheckAtMs: number;

  readonly counters: WorkerCounters;
  /** How much `step` checks of this state's invariants at its end (invariants.ts). */
  readonly invariantChecks: InvariantChecks;
}

export interface WorkerStateOptions {
  /** `counters` (the default) costs O(1) a step; `full` also scans every job and task. */
  readonly invariantChecks?: InvariantChecks;
}

/**
 * Heap order of a stage's ready queue under a policy. Under every policy, fetches that
 * already hold their memory (retries) go first: the memory rule in capacity.ts relies on it.
 */
function readyOrder(policy: Policy, stage: Stage): (a: ReadyEntry, b: ReadyEntry) => boolean {
  const byArrival = (a: ReadyEntry, b: ReadyEntry): boolean => a.readySeq < b.readySeq;
  const oldestJobFirst = (a: ReadyEntry, b: ReadyEntry): boolean =>
    a.job.seq !== b.job.seq ? a.job.seq < b.job.seq : a.index !== b.index ? a.index < b.index : a.readySeq < b.readySeq;
  const order = policy === 'weighted' ? oldestJobFirst : byArrival;
  if (stage !== 'fetch') return order;
  return (a, b) => (a.reserved !== b.reserved ? a.reserved : order(a, b));
}

export function createWorkerState(limits: WorkerLimits, options: WorkerStateOptions = {}): WorkerState {
  validateLimits(limits);
  return {
    limits,
    fetchWindowChunks: fetchWindowChunks(limits),
    readAhead: newReadAhead(limits, fetchWindowChunks(limits)),
    random: seededRandom(limits.seed),
    jobs: new Map(),
    inFlight: new Map(),
    ready: perStage((stage) => {
      const heaps = stage === 'decode' || stage === 'encode' ? limits.cpuSlotsMax + 1 : 1;
      return Array.from({ length: heaps }, () => new BinaryHeap(readyOrder(limits.policy, stage)));
    }),
    readyCount: perStage(() => 0),
    active: perStage(() => 0),
    waitingSinceMs: perStage(() => 0),
    backoff: new BinaryHeap((a, b) => (a.readyAtMs !== b.readyAtMs ? a.readyAtMs < b.readyAtMs : a.seq < b.seq)),
    remotes: {
      source: remoteLimit(limits.remoteConcurrencyFloor, limits.stageWorkersMax.fetch),
      sink: remoteLimit(limits.remoteConcurrencyFloor, limits.stageWorkersMax.upload),
    },
    requestRates: {
      source: requestRate(limits.remoteRequestsPerSecondMax.source, limits.remoteRequestBurstSeconds),
      sink: requestRate(limits.remoteRequestsPerSecondMax.sink, limits.remoteRequestBurstSeconds),
    },
    backoffCount: 0,
    heldBytes: 0,
    chunkBytesReserved: 0,
    decodeOutputBytesReserved: 0,
    decodeOutputRatioSeen: 0,
    nextTaskId: 1,
    nextJobSeq: 0,
    nextReadySeq: 0,
    nextDispatchSeq: 0,
    nextBackoffSeq: 0,
    roundRobinCursor: 0,
    laneBusy: Array.from({ length: limits.cpuSlotsMax }, () => false),
    lanePinned: Array.from({ length: limits.cpuSlotsMax }, () => 0),
    busyLaneCount: 0,
    started: false,
    lastNowMs: -Infinity,
    exhausted: false,
    claimInFlight: false,
    claimSentAtMs: 0,
    claimNotBeforeMs: 0,
    draining: false,
    drainDeadlineMs: Infinity,
    finished: false,
    nextHeartbeatAtMs: Infinity,
    nextMetricsAtMs: Infinity,
    nextLeaseCheckAtMs: Infinity,
    counters: {
      jobsClaimed: 0,
      jobsCommitted: 0,
      jobsFailed: 0,
      jobsReleased: 0,
      jobsLost: 0,
      tasksFailed: 0,
      retries: 0,
      throttles: 0,
      bytesIn: 0,
      bytesOut: 0,
      rows: 0,
      records: emptyRecordCounters,
    },
    invariantChecks: options.invariantChecks ?? 'counters',
  };
}

/** Tasks of the CPU stages running now (they share `cpuSlotsMax` threads). */
export function cpuActive(state: WorkerState): number {
  return state.active.decode + state.active.encode;
}

/** Network streams open now (fetches and uploads share `networkStreamsMax`). */
export function networkActive(state: WorkerState): number {
  return state.active.fetch + state.active.upload;
}
