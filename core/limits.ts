import { assert } from './failure.ts';
import type { ThrottleRule } from './remote-limit.ts';
import type { PerStage, Policy, Remote } from './stage.ts';

const mebibyte = 1024 * 1024;

/**
 * The request rate one worker sends an HTTPS source unless told otherwise
 * (`--source-requests-per-second`): CommonCrawl serves a few thousand requests a second to
 * all its users and asks each to be polite. Twenty is the rate the HTTP client has always
 * held a worker to; the simulator shows when it binds (a c6gn.4xlarge could fetch 50–190
 * chunks a second). An S3 source has none.
 */
export const httpSourceRequestsPerSecond = 20;

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
  /**
   * Time from sending a ranged GET to its first byte, and the bytes a second one stream
   * delivers: the costs by which picked ranges of a subset share a request (request-plan.ts).
   */
  readonly requestFixedCostMs: number;
  readonly streamBytesPerSecond: number;
  /** The longest gap one request of a subset bridges; null derives it from the two costs above. */
  readonly coalesceGapBytes: number | null;
  /** Chunks of one job fetched or being fetched but not yet decoded: bounds a job's read-ahead. */
  readonly fetchAheadChunksMax: number;
  /**
   * The read-ahead of an in-order job before any decode has waited on the source (read-ahead.ts):
   * null for the whole window, as a remote source needs; `localReadAheadStartChunks` for files
   * on local disk.
   */
  readonly readAheadStartChunks: number | null;
  /** Rows gathered before a row group is encoded (the last row group may be smaller). */
  readonly rowGroupRows: number;
  /**
   * Decodes the chunks of one gzip file apart, on any idle CPU lane, and accepts their rows in
   * order (split-decode.ts). Off by default: a driver turns it on once it answers
   * `decodeDetached` (the node runtime with two threads or more, the whole-worker simulation).
   */
  readonly splitDecode: boolean;
  /**
   * Estimated row bytes gathered before a row group is encoded, whichever of this and
   * `rowGroupRows` comes first: rows that carry payloads (the content schema) are cut by bytes.
   */
  readonly rowGroupBytes: number;
  /**
   * Row bytes a decode is expected to produce per input byte, as the driver states it for its
   * schema: the index's rows are about 1/50 of their chunk, the content schema's several times
   * it (`contentDecodeOutputRatio`). Above 1, a decode reserves the growth before it starts
   * (capacity.ts); once decodes answer, the core plans with the largest ratio they answered.
   */
  readonly decodeOutputRatio: number;
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
  /** The adaptive concurrency of each remote (remote-limit.ts) lives in [remoteConcurrencyFloor, its stage cap]. */
  readonly remoteConcurrencyFloor: number;
  /** What a cut multiplies the limit by. */
  readonly remoteDecreaseFactor: number;
  /** Answers over which throttles are counted; a cut opens a new window. */
  readonly remoteWindowAnswers: number;
  /** Throttles in one window below which the limit is never cut, whatever their share. */
  readonly remoteThrottlesToCutMin: number;
  /** A window's first answers are judged as if there were this many (a burst of this many still cuts). */
  readonly remoteCutAnswersMin: number;
  /** Standard deviations above the remote's noise floor a window's throttle share must be to cut. */
  readonly remoteNoiseDeviations: number;
  /** A window's throttle share that may always cut (when no noise is heard), and one that always does. */
  readonly remoteCutShareMin: number;
  readonly remoteCutShareMax: number;
  /** Windows sent at a limit at most this fraction of the last cut's level teach the noise floor. */
  readonly remoteNoiseLevelFraction: number;
  /** The noise floor assumed before any such window: this share, weighted as this many answers. */
  readonly remoteNoisePriorShare: number;
  readonly remoteNoisePriorAnswers: number;
  /** Answers the noise floor is learnt from; past this the older half is forgotten. */
  readonly remoteNoiseAnswersMax: number;
  /** Rounds (each as many successes as the level of the last cut) to climb back to that level. */
  readonly remoteRecoveryRounds: number;
  /** The level recovery heads back to and lingers at, as a fraction of the last cut's level. */
  readonly remoteRecoveryTargetFraction: number;
  /** The slowest growth after a cut that met a ceiling, in slots a round (a round: as many successes as the limit). */
  readonly remoteProbeSlotsPerRound: number;
  /** The slowest growth after any other cut, in slots a round. */
  readonly remoteRecoverySlotsPerRound: number;
  /** `windowed`, the default, tells congestion from noise; `aimd` cuts on every burst (for comparison). */
  readonly throttleRule: ThrottleRule;
  /**
   * Requests a second this worker may send each remote (request-rate.ts), whatever its
   * concurrency limit allows; null for none. The driver sets the source's from
   * `--source-requests-per-second`.
   */
  readonly remoteRequestsPerSecondMax: Readonly<Record<Remote, number | null>>;
  /** Seconds of that rate a worker that sent nothing for a while may send at once. */
  readonly remoteRequestBurstSeconds: number;
  readonly metricsIntervalMs: number;
  /** An eligible task that waited this long is picked before any that did not (no starvation). */
  readonly starvationMs: number;
  /** How strongly downstream stages gain weight as memory fills (see weighted-pick.ts). */
  readonly downstreamGain: number;
  readonly policy: Policy;
  /** Seed of the generator for retry jitter. */
  readonly seed: number;
}

/**
 * The read-ahead a run of local files starts with: the chunk decoding and one more read
 * meanwhile. A 32 MiB chunk comes off the page cache in about 10 ms and decodes in 100 to
 * 400, so more would only make fresh memory (read-ahead.ts); a slow disk grows it.
 */
export const localReadAheadStartChunks = 2;

export const defaultLimits: WorkerLimits = {
  stageWorkersMax: { fetch: 32, decode: 2, encode: 2, upload: 16, commit: 4 },
  cpuSlotsMax: 2,
  networkStreamsMax: 40,
  memoryBudgetBytes: 1024 * mebibyte,
  chunkBytes: 32 * mebibyte,
  // A ranged GET of CommonCrawl's from inside us-east-1 answers its first byte in 40–80 ms
  // (S3 documents 100–200 ms for small objects across the internet), and a stream flows at
  // 10–25 MiB/s: 60 ms and 16 MiB/s bridge gaps under about 1 MiB.
  requestFixedCostMs: 60,
  streamBytesPerSecond: 16 * mebibyte,
  coalesceGapBytes: null,
  fetchAheadChunksMax: 8,
  readAheadStartChunks: null,
  rowGroupRows: 20_000,
  splitDecode: false,
  // Index rows estimate about 1.8 KB each, 36 MB a row group of 20,000: the rows cut them first.
  rowGroupBytes: 64 * mebibyte,
  // The index's rows: URL, headers and digests as strings, about 1/50 of the WARC bytes (sim/models.ts).
  decodeOutputRatio: 1 / 50,
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
  // Halving, as TCP Reno and the AWS SDKs' adaptive mode do: a sustained burst reaches the
  // floor in a few windows, and the cubic recovery makes up for the depth of the cut.
  remoteDecreaseFactor: 0.5,
  // S3 and CloudFront answer some 503s at any load, in ones and twos; a ceiling refuses more
  // the more is sent. A window of 100 answers hears a remote refusing a worker within about a
  // second of its requests (a c6gn.4xlarge fetches 50–190 chunks a second), even a remote it
  // sends little, such as the sink. It cuts when its throttles are at least two and above the
  // learnt noise floor by four standard deviations (a window's first 20 answers judged as 20,
  // or two 503s among the first few would cut a remote with 1% of noise every few windows):
  // with no noise heard that is 2 of up to 100 answers (the 1% floor), so a ceiling is heard
  // at a refusal or two past it; at 1% of noise, 5 or 6 of 100; at 5%, 14. The share is capped
  // at 30%, under half a window, so a burst as long as a window always cuts.
  remoteWindowAnswers: 100,
  remoteThrottlesToCutMin: 2,
  remoteCutAnswersMin: 20,
  remoteNoiseDeviations: 4,
  remoteCutShareMin: 0.01,
  remoteCutShareMax: 0.3,
  // The window after a cut (at half the level of the cut) and the next, until the limit is
  // back at three quarters of that level: a ceiling refused at the level, not there.
  remoteNoiseLevelFraction: 0.75,
  // Before any such window, a healthy remote is taken to answer 1% of 503s, worth two
  // windows: a few windows after the first cuts outweigh it; 10,000 answers of memory.
  remoteNoisePriorShare: 0.01,
  remoteNoisePriorAnswers: 200,
  remoteNoiseAnswersMax: 10_000,
  // Sixteen rounds back to nine tenths of the level of the cut: more than half the way in the
  // first four, then a long, slow approach below where the remote refused, at least half a
  // slot a round, a tenth after a ceiling; then as fast beyond it after noise, but only at
  // that tenth after a ceiling. The slow approach is what keeps a fleet under a shared
  // ceiling, as every member grows at once: 50 instances at CommonCrawl's ceiling
  // (test/bench/throttling.ts) sent 1.6% of their requests over it growing at least a whole
  // slot a round (the additive rule's pace), 0.47% as they are now (AIMD: 0.58%). Half a slot,
  // not a tenth, after other cuts: a remote sent little (the sink: a few parts a file) or cut
  // to the floor gets too few answers to climb at a tenth.
  remoteRecoveryRounds: 16,
  remoteRecoveryTargetFraction: 0.9,
  remoteProbeSlotsPerRound: 0.1,
  remoteRecoverySlotsPerRound: 0.5,
  throttleRule: 'windowed',
  // None by default: an S3 source or sink scales with its prefixes and says so with 503s.
  remoteRequestsPerSecondMax: { source: null, sink: null },
  // One second, as the HTTP client's bucket allowed (a burst of 20 at 20 a second).
  remoteRequestBurstSeconds: 1,
  metricsIntervalMs: 15_000,
  starvationMs: 2_000,
  downstreamGain: 4,
  policy: 'weighted',
  seed: 1,
};

/**
 * `rowGroupBytes` of the content schema, and the payload bytes its encoder puts in one row
 * group. The encoder (adapters/parquet/flat-row-group.ts) copies each payload once into its
 * page, compresses the page, and the row group's pieces are joined once: with the rows
 * themselves, about three times the row group's payload is live while it encodes, 24 MB at
 * 8 MiB, within a CPU slot's reserve for content (cmd/worker/memory-plan.ts). (parquetjs's own
 * page writer held about five times; at 16 MiB with it, peak RSS exporting 4 MB payloads at a
 * 400 MiB budget was 580 MB, past the budget + 150 MB.) Readers skip row groups by the index columns'
 * statistics; 8 MiB of HTML is 1,000-2,000 pages, rows enough for that to pay.
 */
export const contentRowGroupBytes = 8 * mebibyte;

/**
 * `decodeOutputRatio` of the content schema: a content row holds its decoded payload, and
 * CommonCrawl-like pages compress 4-6x in the WARC; `--calibrate` on a content run of a 100 MB
 * CommonCrawl-like file measured 4.5 row bytes per input byte (sim/models.ts). It is the
 * core's figure until the first decodes answer the data's own (capacity.ts).
 */
export const contentDecodeOutputRatio = 4.5;

/** Asserts the relations the core relies on; a violation is a configuration bug. */
export function validateLimits(limits: WorkerLimits): void {
  for (const [stage, cap] of Object.entries(limits.stageWorkersMax)) {
    assert(Number.isInteger(cap) && cap >= 1, `stageWorkersMax.${stage} must be a positive integer`);
  }
  assert(limits.cpuSlotsMax >= 1, 'cpuSlotsMax must be at least 1');
  assert(limits.networkStreamsMax >= 2, 'networkStreamsMax must leave room for a fetch and an upload');
  assert(limits.chunkBytes >= 1, 'chunkBytes must be positive');
  assert(limits.memoryBudgetBytes >= 1, 'memoryBudgetBytes must be positive');
  assert(
    limits.requestFixedCostMs >= 0 && limits.streamBytesPerSecond > 0,
    'requestFixedCostMs must not be negative and streamBytesPerSecond must be positive',
  );
  assert(
    limits.coalesceGapBytes === null || (Number.isInteger(limits.coalesceGapBytes) && limits.coalesceGapBytes >= 0),
    'coalesceGapBytes must be a byte count or null',
  );
  assert(limits.fetchAheadChunksMax >= 1, 'fetchAheadChunksMax must be at least 1');
  assert(
    limits.readAheadStartChunks === null ||
      (Number.isInteger(limits.readAheadStartChunks) && limits.readAheadStartChunks >= 1),
    'readAheadStartChunks must be a positive integer or null',
  );
  assert(limits.rowGroupRows >= 1, 'rowGroupRows must be at least 1');
  assert(limits.rowGroupBytes >= 1, 'rowGroupBytes must be at least 1');
  assert(
    Number.isFinite(limits.decodeOutputRatio) && limits.decodeOutputRatio > 0,
    'decodeOutputRatio must be positive',
  );
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
    Number.isInteger(limits.remoteWindowAnswers) && limits.remoteWindowAnswers >= 1,
    'remoteWindowAnswers must be a positive integer',
  );
  // A burst as long as a window straddles at most two windows, one of which holds at least
  // half of it: that half must be enough to cut, in count and in share, whatever the alignment.
  assert(
    limits.remoteCutShareMin > 0 &&
      limits.remoteCutShareMin <= limits.remoteCutShareMax &&
      limits.remoteCutShareMax < 0.5,
    'remoteCutShareMin and remoteCutShareMax must be in (0, 0.5), in order, or a burst of a window could pass uncut',
  );
  assert(limits.remoteNoiseDeviations >= 0, 'remoteNoiseDeviations must not be negative');
  assert(
    limits.remoteNoiseLevelFraction > limits.remoteDecreaseFactor && limits.remoteNoiseLevelFraction < 1,
    'remoteNoiseLevelFraction must be in (remoteDecreaseFactor, 1): the window after a cut must teach the noise floor',
  );
  assert(
    limits.remoteNoisePriorShare >= 0 && limits.remoteNoisePriorShare < 1 && limits.remoteNoisePriorAnswers >= 1,
    'remoteNoisePriorShare must be in [0, 1) and remoteNoisePriorAnswers at least 1',
  );
  assert(
    limits.remoteNoiseAnswersMax >= limits.remoteWindowAnswers,
    'remoteNoiseAnswersMax must hold at least one window',
  );
  assert(
    Number.isInteger(limits.remoteThrottlesToCutMin) &&
      limits.remoteThrottlesToCutMin >= 2 &&
      limits.remoteThrottlesToCutMin <= Math.floor(limits.remoteWindowAnswers / 2),
    'remoteThrottlesToCutMin must be in [2, remoteWindowAnswers / 2]: one random 503 must not cut, a burst must',
  );
  assert(
    Number.isInteger(limits.remoteCutAnswersMin) &&
      limits.remoteCutAnswersMin >= 1 &&
      limits.remoteCutAnswersMin <= Math.floor(limits.remoteWindowAnswers / 2),
    'remoteCutAnswersMin must be in [1, remoteWindowAnswers / 2], or a burst of half a window could pass uncut',
  );
  assert(
    limits.remoteProbeSlotsPerRound > 0 && limits.remoteRecoverySlotsPerRound > 0,
    'remoteProbeSlotsPerRound and remoteRecoverySlotsPerRound must be positive',
  );
  assert(limits.remoteRecoveryRounds > 0, 'remoteRecoveryRounds must be positive');
  assert(
    limits.remoteRecoveryTargetFraction > limits.remoteDecreaseFactor && limits.remoteRecoveryTargetFraction <= 1,
    'remoteRecoveryTargetFraction must be in (remoteDecreaseFactor, 1]',
  );
  for (const [remote, perSecond] of Object.entries(limits.remoteRequestsPerSecondMax)) {
    assert(
      perSecond === null || (Number.isFinite(perSecond) && perSecond > 0),
      `remoteRequestsPerSecondMax.${remote} must be positive or null`,
    );
  }
  assert(
    Number.isFinite(limits.remoteRequestBurstSeconds) && limits.remoteRequestBurstSeconds > 0,
    'remoteRequestBurstSeconds must be positive',
  );
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
 * cores, a window of 8 feeds 4 jobs (4 cores busy at most), a window of 2 feeds 16. A chunk
 * whose rows outgrow it takes what its rows will (`decodeOutputRatio`).
 */
export function fetchWindowChunks(limits: WorkerLimits): number {
  const chunkFootprintBytes = limits.chunkBytes * Math.max(1, limits.decodeOutputRatio);
  const chunksInBudget = Math.floor(limits.memoryBudgetBytes / chunkFootprintBytes);
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
