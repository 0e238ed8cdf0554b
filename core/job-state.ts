import { at } from './checked-access.ts';
import type { ClaimedJob, LeasedJob } from './input-ref.ts';
import type { WorkerLimits } from './limits.ts';
import { emptyRecordCounters, type RecordCounters } from './record-counters.ts';
import type { TaskAttempts } from './retry-policy.ts';
import { coalesceGapBytesOf, pickedBytesOf, planRequests } from './request-plan.ts';
import type { ByteRange } from './source.ts';
import type { SplitState } from './split-decode.ts';
import { perStage, type PerStage } from './stage.ts';

/** Where one chunk of a job stands; stored in a byte array, one entry per chunk. */
export const ChunkStatus = {
  /** Beyond the job's read-ahead window. */
  Unqueued: 0,
  Ready: 1,
  /** Waiting for its retry delay to pass. */
  Backoff: 2,
  Fetching: 3,
  Fetched: 4,
  Decoding: 5,
  Decoded: 6,
} as const;

/** Where one part of the output stands. */
export const PartStatus = {
  /** Cut, waiting for the job's upload to start (see `StepStatus`). */
  Cut: 0,
  Ready: 1,
  Backoff: 2,
  Uploading: 3,
  Uploaded: 4,
} as const;
export type PartStatus = (typeof PartStatus)[keyof typeof PartStatus];

/**
 * Where a job's one-off remote step stands: sizing its input (a HEAD on the source) and
 * starting its upload (CreateMultipartUpload on the sink). `None`: not needed (a job claimed
 * with its size; an object written whole), or not known to be needed yet.
 */
export const StepStatus = {
  None: 0,
  Ready: 1,
  Backoff: 2,
  Running: 3,
  Done: 4,
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

export interface PartState {
  status: PartStatus;
  readonly offsetBytes: number;
  readonly lengthBytes: number;
  readonly final: boolean;
  readonly attempts: TaskAttempts;
}

/** Everything the core knows of one job this worker holds. */
export interface JobState {
  /** The job as claimed; until it is sized (`sizeStatus`), its `sizeBytes` is 0 and it has no chunks. */
  claimed: ClaimedJob;
  /** Claim order: lower is older, and older jobs go first within a stage. */
  readonly seq: number;
  chunkCount: number;
  /** A subset's requests (request-plan.ts), one a chunk; null for a whole file, cut in even chunks. */
  readonly requests: readonly ByteRange[] | null;
  /** Part size for this job: grows for large inputs so a job never needs more than `partsMax` parts. */
  partTargetBytes: number;
  ended: boolean;
  /** Sizing of a job claimed without a size; `None` for one claimed with it. */
  sizeStatus: StepStatus;
  readonly sizeAttempts: TaskAttempts;
  /** Starting the upload: `Ready` once the first part shows the object needs a multipart upload. */
  startStatus: StepStatus;
  readonly startAttempts: TaskAttempts;

  chunkStatus: Uint8Array;
  /** Bit per chunk: memory is reserved for it (from first dispatch until decoded, through retries). */
  chunkReserved: Uint8Array;
  readonly chunkAttempts: Map<number, TaskAttempts>;
  /** Chunks below this index have been queued for fetching at least once. */
  nextChunkToQueue: number;
  nextChunkToDecode: number;

  /** Rows decoded and not yet handed to an encode, and their estimated size. */
  rowsBuffered: number;
  rowBytesBuffered: number;
  decodeDone: boolean;
  nextRowGroup: number;
  /** An encode is queued or running: a job's row groups are encoded one at a time, in order. */
  encodeBusy: boolean;
  encodeDone: boolean;

  /** Length of the encoded object so far, and how much of it is already cut into parts. */
  encodedBytes: number;
  encodedBytesCut: number;
  readonly parts: PartState[];
  partsUploaded: number;

  commitQueued: boolean;
  /** A step of the commit (completing the object, or the ledger write) is in flight. */
  commitRunning: boolean;
  /** The ledger reported the lease lost while a commit step was in flight; that step's answer decides. */
  leaseLostDuringCommit: boolean;
  /** The object is complete under its final key: what is left of the commit is the ledger write. */
  objectCompleted: boolean;
  /** Attempts of completing the object, and of the ledger write; each step retries alone. */
  readonly commitAttempts: TaskAttempts;
  readonly ledgerWriteAttempts: TaskAttempts;

  /** The lease is trusted until this time (a renewal's send time + leaseMs; never the ledger's clock). */
  leaseValidUntilMs: number;

  /** Bytes this job holds in the memory budget, and the part of them held by tasks in flight. */
  heldBytes: number;
  inFlightBytes: number;
  /** The part of `heldBytes` reserved for its chunks (bits set in `chunkReserved`). */
  chunkBytesReserved: number;
  /** The CPU lane its decoder, rows and encoder live on, from its first CPU task; -1 before. */
  cpuLane: number;
  /** Split decoding of a gzip file (split-decode.ts); null for a job decoded in order on its lane. */
  split: SplitState | null;
  /** Ready-queue entries of this job per stage, to fix the global counts when it is dropped. */
  readonly readyCount: PerStage<number>;
  backoffCount: number;

  inputBytes: number;
  rows: number;
  counters: RecordCounters;
}

export function chunkCountOf(sizeBytes: number, chunkBytes: number): number {
  // An empty input still gets one (empty) chunk, so its decoder can report it as empty.
  return Math.max(1, Math.ceil(sizeBytes / chunkBytes));
}

/** Byte range of chunk `index` of a job. */
export function chunkRange(
  job: JobState,
  chunkBytes: number,
  index: number,
): { offsetBytes: number; lengthBytes: number } {
  if (job.requests !== null) return at(job.requests, index);
  const offsetBytes = index * chunkBytes;
  return { offsetBytes, lengthBytes: Math.max(0, Math.min(chunkBytes, job.claimed.sizeBytes - offsetBytes)) };
}

/**
 * The output of a job is much smaller than its input (index rows are about 1/50 of the WARC
 * bytes), so sizing parts for the input's size keeps every job under `partsMax` parts.
 */
function partTargetBytesFor(limits: WorkerLimits, sizeBytes: number): number {
  return Math.max(limits.partBytes, Math.ceil(sizeBytes / (limits.partsMax - 1)));
}

/** Whether the job's size is known: claimed with it, or sized since. */
export function isSized(job: JobState): boolean {
  return job.sizeStatus === StepStatus.None || job.sizeStatus === StepStatus.Done;
}

/** Gives a job its size: its chunks and part size follow from it. */
export function setSize(job: JobState, limits: WorkerLimits, sizeBytes: number): void {
  const chunkCount = chunkCountOf(sizeBytes, limits.chunkBytes);
  job.claimed = { ...job.claimed, sizeBytes };
  job.chunkCount = chunkCount;
  job.partTargetBytes = partTargetBytesFor(limits, sizeBytes);
  job.chunkStatus = new Uint8Array(chunkCount);
  job.chunkReserved = new Uint8Array(chunkCount);
}

/**
 * A subset's requests. A subset of no pick still gets one empty request, as an empty file gets
 * one empty chunk, so that its decoder can say it found nothing.
 */
function subsetRequests(picks: readonly ByteRange[], limits: WorkerLimits): readonly ByteRange[] {
  const gapBytesMax = limits.coalesceGapBytes ?? coalesceGapBytesOf(limits);
  const planned = planRequests(picks, { chunkBytes: limits.chunkBytes, gapBytesMax });
  return planned.length === 0 ? [{ offsetBytes: 0, lengthBytes: 0 }] : planned;
}

/**
 * A job claimed without a size has no chunks until a `sizeInput` task sizes it; a subset needs
 * no sizing: its requests come from its picks, its output follows the bytes picked, and its
 * size is the bytes it picks (`pickedBytesOf`), whatever size the ledger holds.
 */
export function newJobState(leased: LeasedJob, seq: number, limits: WorkerLimits, leaseValidUntilMs: number): JobState {
  const picks = leased.input.picks;
  const requests = picks === undefined ? null : subsetRequests(picks, limits);
  const sized = requests !== null || leased.sizeBytes !== null;
  const sizeBytes = picks === undefined ? (leased.sizeBytes ?? 0) : pickedBytesOf(picks);
  const chunkCount = requests !== null ? requests.length : sized ? chunkCountOf(sizeBytes, limits.chunkBytes) : 0;
  const outputFollowsBytes =
    requests === null ? sizeBytes : requests.reduce((sum, range) => sum + range.lengthBytes, 0);
  return {
    claimed: { ...leased, sizeBytes },
    seq,
    chunkCount,
    requests,
    partTargetBytes: partTargetBytesFor(limits, outputFollowsBytes),
    ended: false,
    sizeStatus: sized ? StepStatus.None : StepStatus.Ready,
    sizeAttempts: { failures: 0, throttles: 0 },
    startStatus: StepStatus.None,
    startAttempts: { failures: 0, throttles: 0 },
    chunkStatus: new Uint8Array(chunkCount),
    chunkReserved: new Uint8Array(chunkCount),
    chunkAttempts: new Map(),
    nextChunkToQueue: 0,
    nextChunkToDecode: 0,
    rowsBuffered: 0,
    rowBytesBuffered: 0,
    decodeDone: false,
    nextRowGroup: 0,
    encodeBusy: false,
    encodeDone: false,
    encodedBytes: 0,
    encodedBytesCut: 0,
    parts: [],
    partsUploaded: 0,
    commitQueued: false,
    commitRunning: false,
    leaseLostDuringCommit: false,
    objectCompleted: false,
    commitAttempts: { failures: 0, throttles: 0 },
    ledgerWriteAttempts: { failures: 0, throttles: 0 },
    leaseValidUntilMs,
    heldBytes: 0,
    inFlightBytes: 0,
    chunkBytesReserved: 0,
    cpuLane: -1,
    split: null,
    readyCount: perStage(() => 0),
    backoffCount: 0,
    inputBytes: 0,
    rows: 0,
    counters: emptyRecordCounters,
  };
}
