import { assert } from './failure.ts';
import type { PerStage, Policy } from './stage.ts';

const mebibyte = 1024 * 1024;

/**
 * Every limit the worker obeys, named in one place, units last. Relations between them are
 * asserted by `validateLimits`, which the core calls when a worker state is created.
 */
export interface WorkerLimits {
  /** `MaxWorkers` of each stage: tasks of that stage running at once. */
  readonly stageWorkersMax: PerStage<number>;
  /** Threads for the CPU stages (decode and encode share them). */
  readonly cpuSlotsMax: number;
  /** Network streams shared by fetches and uploads, so one cannot take the whole NIC. */
  readonly networkStreamsMax: number;
  /** Bytes held between stages: fetched chunks, rows, encoded bytes. */
  readonly memoryBudgetBytes: number;
  /** Size of one ranged GET. */
  readonly chunkBytes: number;
  /** Chunks of one job fetched or being fetched but not yet decoded: bounds a job's read-ahead. */
  readonly fetchAheadChunksMax: number;
  /** Rows gathered before a row group is encoded (the last row group may be smaller). */
  readonly rowGroupRows: number;
  /**
   * Estimated row bytes gathered before a row group is encoded, whichever of this and
   * `rowGroupRows` comes first: rows that carry payloads (the content schema) are cut by bytes.
   */
  readonly rowGroupBytes: number;
  /** Encoded bytes gathered before a part is uploaded (the last part may be smaller). */
  readonly partBytes: number;
  /** S3's smallest part but the last. */
  readonly partBytesMin: number;
  /** S3's part count limit per object. */
  readonly partsMax: number;
  /** Jobs this worker holds at once. */
  readonly jobsActiveMax: number;
  /** Jobs asked for in one claim. */
  readonly claimBatchMax: number;
  /** Wait before asking the ledger again after it had nothing, or after a claim failed. */
  readonly claimIdleMs: number;
  readonly leaseMs: number;
  readonly heartbeatIntervalMs: number;
  /** A lease is treated as lost this long before it would expire, for clock skew and transit. */
  readonly leaseSafetyMs: number;
  /** Time a job may be drained after shutdown is requested before it is released. */
  readonly drainTimeoutMs: number;
  /** Attempts of one task (a chunk fetch, a part upload, a commit) before its job fails. */
  readonly taskAttemptsMax: number;
  /** Throttled retries of one task before its job fails; higher, because throttling passes. */
  readonly throttledAttemptsMax: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
  /** AIMD concurrency of each remote lives in [remoteConcurrencyFloor, its stage cap]. */
  readonly remoteConcurrencyFloor: number;
  /** Multiplicative decrease on throttling. */
  readonly remoteDecreaseFactor: number;
  readonly metricsIntervalMs: number;
  /** An eligible task that waited this long is picked before any that did not (no starvation). */
  readonly starvationMs: number;
  /** How strongly downstream stages gain weight as memory fills (see weighted-pick.ts). */
  readonly downstreamGain: number;
  readonly policy: Policy;
  /** Seed of the generator for retry jitter. */
  readonly seed: number;
}

export const defaultLimits: WorkerLimits = {
  stageWorkersMax: { fetch: 32, decode: 2, encode: 2, upload: 16, commit: 4 },
  cpuSlotsMax: 2,
  networkStreamsMax: 40,
  memoryBudgetBytes: 1024 * mebibyte,
  chunkBytes: 32 * mebibyte,
  fetchAheadChunksMax: 8,
  rowGroupRows: 20_000,
  // Index rows estimate about 1.8 KB each, 36 MB a row group of 20,000: the rows cut them first.
  rowGroupBytes: 64 * mebibyte,
  partBytes: 8 * mebibyte,
  partBytesMin: 5 * mebibyte,
  partsMax: 10_000,
  jobsActiveMax: 16,
  claimBatchMax: 8,
  claimIdleMs: 5_000,
  leaseMs: 300_000,
  heartbeatIntervalMs: 60_000,
  leaseSafetyMs: 30_000,
  drainTimeoutMs: 30_000,
  taskAttemptsMax: 5,
  throttledAttemptsMax: 20,
  retryBaseMs: 500,
  retryCapMs: 30_000,
  remoteConcurrencyFloor: 1,
  remoteDecreaseFactor: 0.5,
  metricsIntervalMs: 15_000,
  starvationMs: 2_000,
  downstreamGain: 4,
  policy: 'weighted',
  seed: 1,
};

/**
 * `rowGroupBytes` of the content schema, and the payload bytes its encoder puts in one row
 * group. parquetjs copies a BYTE_ARRAY value into its page (encodeValues_BYTE_ARRAY), joins the
 * page, compresses it and joins the column chunk: about five times the row group's payload is
 * live while it encodes, 40 MB at 8 MiB, within a CPU slot's reserve for content
 * (cmd/worker/memory-plan.ts). At 16 MiB, peak RSS exporting 4 MB payloads at a 400 MiB budget
 * was 580 MB, past the budget + 150 MB. Readers skip row groups by the index columns'
 * statistics; 8 MiB of HTML is 1,000-2,000 pages, rows enough for that to pay.
 */
export const contentRowGroupBytes = 8 * mebibyte;

/** Asserts the relations the core relies on; a violation is a configuration bug. */
export function validateLimits(limits: WorkerLimits): void {
  for (const [stage, cap] of Object.entries(limits.stageWorkersMax)) {
    assert(Number.isInteger(cap) && cap >= 1, `stageWorkersMax.${stage} must be a positive integer`);
  }
  assert(limits.cpuSlotsMax >= 1, 'cpuSlotsMax must be at least 1');
  assert(limits.networkStreamsMax >= 2, 'networkStreamsMax must leave room for a fetch and an upload');
  assert(limits.chunkBytes >= 1, 'chunkBytes must be positive');
  assert(limits.memoryBudgetBytes >= 1, 'memoryBudgetBytes must be positive');
  assert(limits.fetchAheadChunksMax >= 1, 'fetchAheadChunksMax must be at least 1');
  assert(limits.rowGroupRows >= 1, 'rowGroupRows must be at least 1');
  assert(limits.rowGroupBytes >= 1, 'rowGroupBytes must be at least 1');
  assert(limits.partBytes >= limits.partBytesMin, 'partBytes must be at least partBytesMin (S3 rejects smaller parts)');
  assert(limits.partsMax >= 1, 'partsMax must be at least 1');
  assert(limits.jobsActiveMax >= 1 && limits.claimBatchMax >= 1, 'jobsActiveMax and claimBatchMax must be at least 1');
  assert(
    limits.heartbeatIntervalMs * 2 + limits.leaseSafetyMs < limits.leaseMs,
    'two heartbeats and the safety margin must fit in one lease, or one slow heartbeat loses it',
  );
  assert(limits.taskAttemptsMax >= 1 && limits.throttledAttemptsMax >= 1, 'attempt limits must be at least 1');
  assert(limits.retryBaseMs >= 1 && limits.retryBaseMs <= limits.retryCapMs, 'retryBaseMs must be in [1, retryCapMs]');
  assert(limits.remoteConcurrencyFloor >= 1, 'remoteConcurrencyFloor must be at least 1');
  assert(
    limits.remoteConcurrencyFloor <= limits.stageWorkersMax.fetch &&
      limits.remoteConcurrencyFloor <= limits.stageWorkersMax.upload,
    'remoteConcurrencyFloor must not exceed the fetch and upload caps',
  );
  assert(limits.remoteDecreaseFactor > 0 && limits.remoteDecreaseFactor < 1, 'remoteDecreaseFactor must be in (0, 1)');
  assert(
    limits.metricsIntervalMs >= 1 && limits.claimIdleMs >= 1 && limits.starvationMs >= 1,
    'intervals must be positive',
  );
  assert(limits.drainTimeoutMs >= 0, 'drainTimeoutMs must not be negative');
  assert(limits.downstreamGain >= 0, 'downstreamGain must not be negative');
}

/**
 * Chunks one job may read ahead: `fetchAheadChunksMax`, cut so that the memory budget spreads
 * over at least one job per CPU slot. A job decodes one chunk at a time, so a budget spent on
 * the read-ahead of a few jobs leaves cores idle: with a 1 GiB budget of 32 MiB chunks and 16
 * cores, a window of 8 feeds 4 jobs (4 cores busy at most), a window of 2 feeds 16.
 */
export function fetchWindowChunks(limits: WorkerLimits): number {
  const chunksInBudget = Math.floor(limits.memoryBudgetBytes / limits.chunkBytes);
  return Math.max(1, Math.min(limits.fetchAheadChunksMax, Math.floor(chunksInBudget / limits.cpuSlotsMax)));
}

/** Limits with some fields replaced; the stage caps merge per stage. */
export function withLimits(
  overrides: Partial<Omit<WorkerLimits, 'stageWorkersMax'>> & { stageWorkersMax?: Partial<PerStage<number>> },
): WorkerLimits {
  return {
    ...defaultLimits,
    ...overrides,
    stageWorkersMax: { ...defaultLimits.stageWorkersMax, ...overrides.stageWorkersMax },
  };
}
