import { unpinLane } from './cpu-lanes.ts';
import type { Command, JobOutcome, JobSummary } from './commands.ts';
import type { Failure } from './failure.ts';
import type { LeasedJob } from './input-ref.ts';
import { ChunkStatus, newJobState, PartStatus, setSize, StepStatus, type JobState } from './job-state.ts';
import { enqueueReady, forgetQueuedWork } from './ready-queue.ts';
import { isSplitting, queueDetachedDecodes, splitStateFor, splitWindowChunks } from './split-decode.ts';
import type { WorkerState } from './worker-state.ts';

/**
 * Task indices of the one-off remote steps, beside the chunk indices (from 0) of the fetch
 * stage and the part numbers (from 1) of the upload stage, whose caps and remote limit they
 * share: a HEAD is a request to the source like a GET, a CreateMultipartUpload one to the
 * sink like a part, and a throttled one lowers that remote's limit the same way.
 */
export const SizeTaskIndex = -1;
export const StartTaskIndex = 0;

/**
 * Takes a claimed job in and queues its first chunks, or its sizing when the ledger holds it
 * without a size. A job being sized is held like any other: its lease is renewed by the
 * heartbeats and checked by the lease rule, and it counts against `jobsActiveMax`, which is
 * what bounds the HEADs a claim can start.
 */
export function admitJob(state: WorkerState, leased: LeasedJob, nowMs: number, leaseValidUntilMs: number): JobState {
  const job = newJobState(leased, state.nextJobSeq++, state.limits, leaseValidUntilMs);
  if (job.sizeStatus === StepStatus.None) job.split = splitStateFor(job, state.limits);
  state.jobs.set(leased.jobId, job);
  state.counters.jobsClaimed += 1;
  state.nextLeaseCheckAtMs = Math.min(state.nextLeaseCheckAtMs, leaseValidUntilMs - state.limits.leaseSafetyMs);
  if (job.sizeStatus === StepStatus.Ready) queueSizing(state, job, nowMs);
  else queueFetchWindow(state, job, nowMs);
  return job;
}

/** Queues the job's HEAD; it needs no memory, so it goes before new fetches (`reserved`). */
export function queueSizing(state: WorkerState, job: JobState, nowMs: number): void {
  job.sizeStatus = StepStatus.Ready;
  enqueueReady(state, job, 'fetch', SizeTaskIndex, nowMs, true);
}

/** The job's size is known: its chunks exist now, and the first ones are queued. */
export function sizeJob(state: WorkerState, job: JobState, sizeBytes: number, nowMs: number): void {
  setSize(job, state.limits, sizeBytes);
  job.split = splitStateFor(job, state.limits);
  job.sizeStatus = StepStatus.Done;
  queueFetchWindow(state, job, nowMs);
}

export function queueUploadStart(state: WorkerState, job: JobState, nowMs: number): void {
  job.startStatus = StepStatus.Ready;
  enqueueReady(state, job, 'upload', StartTaskIndex, nowMs);
}

/** The upload is started: the parts cut meanwhile may go. */
export function uploadStarted(state: WorkerState, job: JobState, nowMs: number): void {
  job.startStatus = StepStatus.Done;
  job.parts.forEach((part, at) => {
    if (part.status !== PartStatus.Cut) return;
    part.status = PartStatus.Ready;
    enqueueReady(state, job, 'upload', at + 1, nowMs);
  });
}

/**
 * Queues chunks for fetching up to the job's read-ahead window past the next chunk to decode
 * (for a split job, the next chunk to accept: split-decode.ts).
 */
export function queueFetchWindow(state: WorkerState, job: JobState, nowMs: number): void {
  const window = isSplitting(job) ? splitWindowChunks(state) : state.readAhead.chunks;
  const windowEnd = Math.min(job.chunkCount, job.nextChunkToDecode + window);
  while (job.nextChunkToQueue < windowEnd) {
    job.chunkStatus[job.nextChunkToQueue] = ChunkStatus.Ready;
    enqueueReady(state, job, 'fetch', job.nextChunkToQueue, nowMs);
    job.nextChunkToQueue += 1;
  }
}

/**
 * Queues the decode of the next chunk in order, if it is fetched and no decode of the job runs;
 * for a split job, every detached decode that can start.
 */
export function maybeQueueDecode(state: WorkerState, job: JobState, nowMs: number): void {
  if (job.split !== null && job.split.mode === 'split') return queueDetachedDecodes(state, job, job.split, nowMs);
  const index = job.nextChunkToDecode;
  if (index >= job.chunkCount || job.chunkStatus[index] !== ChunkStatus.Fetched) return;
  job.chunkStatus[index] = ChunkStatus.Decoding;
  enqueueReady(state, job, 'decode', index, nowMs);
}

/**
 * Queues the next row group once enough rows (or row bytes) have gathered, or the last one once decoding is
 * done. One encode per job at a time: the encoder writes row groups in order.
 */
export function maybeQueueEncode(state: WorkerState, job: JobState, nowMs: number): void {
  if (job.encodeBusy || job.encodeDone) return;
  const gathered = job.rowsBuffered >= state.limits.rowGroupRows || job.rowBytesBuffered >= state.limits.rowGroupBytes;
  if (!gathered && !job.decodeDone) return;
  job.encodeBusy = true;
  enqueueReady(state, job, 'encode', job.nextRowGroup, nowMs);
}

/**
 * Cuts the encoded bytes into parts: all uncut bytes as one part as soon as
 * `partTargetBytes` have gathered, and the rest as the last part when encoding is done.
 * Every part but the last is at least `partTargetBytes` ≥ `partBytesMin`, so S3 accepts it;
 * part sizes grow with the input (see job-state.ts), and the last `partsMax` slot is kept for
 * the final part, so a job never needs more parts than S3 allows.
 */
export function cutParts(state: WorkerState, job: JobState, nowMs: number): void {
  const uncut = job.encodedBytes - job.encodedBytesCut;
  if (job.encodeDone) {
    if (uncut > 0 || job.parts.length === 0) addPart(state, job, uncut, true, nowMs);
    return;
  }
  if (uncut >= job.partTargetBytes && job.parts.length < state.limits.partsMax - 1)
    addPart(state, job, uncut, false, nowMs);
}

/**
 * The first part tells whether the object needs its upload started: one that is not the last,
 * or is at least `partBytesMin`, goes into a multipart upload, and it and every later part
 * wait for the start; a small single part is written whole when the object completes.
 */
function addPart(state: WorkerState, job: JobState, lengthBytes: number, final: boolean, nowMs: number): void {
  if (job.parts.length === 0 && (!final || lengthBytes >= state.limits.partBytesMin))
    queueUploadStart(state, job, nowMs);
  const waits = job.startStatus !== StepStatus.None && job.startStatus !== StepStatus.Done;
  job.parts.push({
    status: waits ? PartStatus.Cut : PartStatus.Ready,
    offsetBytes: job.encodedBytesCut,
    lengthBytes,
    final,
    attempts: { failures: 0, throttles: 0 },
  });
  job.encodedBytesCut += lengthBytes;
  if (!waits) enqueueReady(state, job, 'upload', job.parts.length, nowMs);
}

/**
 * A commit is two steps, each a task of the commit stage that retries alone with the core's
 * backoff: first the object is completed (visible, whole, under its final key), then the job
 * is recorded done in the ledger, fenced by the lease. A failed ledger write is tried again
 * without touching the object; the ledger's complete is idempotent for the attempt that did
 * it, so a write that landed but whose answer was lost hears "done" on its retry.
 *
 * The lease between and during the tries of the ledger write: each try is made only on a
 * lease still trusted, like any task (the lease check covers the backoff, and heartbeats go
 * on renewing it); a lease that lapses, or is reported lost, meanwhile ends the job as lost,
 * not failed. Tries that run out fail the job retryably, never for good from this attempt:
 * the ledger brings it back after its delay. Either way the published object stays: its key
 * depends only on the input, so the attempt that does the job next writes the same rows over
 * it and records it then; taking it down instead could remove a write that in fact landed.
 */
export const CommitStep = {
  /** Task index of completing the object. */
  Object: 0,
  /** Task index of the ledger write. */
  Ledger: 1,
} as const;

/** Queues the next step of the commit once every part of a fully encoded object is uploaded. */
export function maybeQueueCommit(state: WorkerState, job: JobState, nowMs: number): void {
  if (!job.encodeDone || job.commitQueued || job.partsUploaded < job.parts.length) return;
  job.commitQueued = true;
  enqueueReady(state, job, 'commit', job.objectCompleted ? CommitStep.Ledger : CommitStep.Object, nowMs);
}

/** Adds bytes to what the job holds in the budget. */
export function holdBytes(state: WorkerState, job: JobState, bytes: number): void {
  job.heldBytes += bytes;
  state.heldBytes += bytes;
}

export function releaseBytes(state: WorkerState, job: JobState, bytes: number): void {
  job.heldBytes -= bytes;
  state.heldBytes -= bytes;
}

/** Reserves a chunk's bytes at its first fetch; they stay reserved through retries (capacity.ts). */
export function reserveChunk(state: WorkerState, job: JobState, index: number, bytes: number): void {
  job.chunkReserved[index] = 1;
  job.chunkBytesReserved += bytes;
  state.chunkBytesReserved += bytes;
  holdBytes(state, job, bytes);
}

/** The chunk is decoded: its bytes are free, and its rows are held instead. */
export function releaseChunk(state: WorkerState, job: JobState, index: number, bytes: number): void {
  job.chunkReserved[index] = 0;
  job.chunkBytesReserved -= bytes;
  state.chunkBytesReserved -= bytes;
  releaseBytes(state, job, bytes);
}

/**
 * A decode answered `rowBytes` for a chunk of `chunkBytes`: the largest ratio answered is the
 * figure admission plans with from then on (capacity.ts), so a driver's figure below the data's
 * overshoots the budget only with the decodes running when the larger ratio first shows.
 */
export function noteDecodeOutput(state: WorkerState, chunkBytes: number, rowBytes: number): void {
  if (chunkBytes <= 0) return;
  state.decodeOutputRatioSeen = Math.max(state.decodeOutputRatioSeen, rowBytes / chunkBytes);
}

export function jobSummary(job: JobState): JobSummary {
  return {
    jobId: job.claimed.jobId,
    inputBytes: job.inputBytes,
    rows: job.rows,
    outputBytes: job.encodedBytes,
    parts: job.parts.length,
    counters: job.counters,
  };
}

/**
 * Ends a job here, once: frees what it holds (bytes held by its tasks in flight are freed as
 * their answers come), tells the driver to drop its data and the ledger how it ended.
 */
export function endJob(
  state: WorkerState,
  job: JobState,
  outcome: JobOutcome,
  commands: Command[],
  failure?: Failure,
): void {
  if (job.ended) return;
  job.ended = true;
  state.jobs.delete(job.claimed.jobId);
  unpinLane(state, job);
  forgetQueuedWork(state, job);
  state.heldBytes -= job.heldBytes - job.inFlightBytes;
  job.heldBytes = job.inFlightBytes;
  // Bytes its tasks in flight hold are no longer a reservation: they are freed as answers come.
  state.chunkBytesReserved -= job.chunkBytesReserved;
  job.chunkBytesReserved = 0;
  const summary = jobSummary(job);
  const lease = { jobId: job.claimed.jobId, attempt: job.claimed.attempt };
  if (outcome !== 'committed')
    commands.push({ kind: 'dropJob', jobId: lease.jobId, reason: failure?.reason ?? outcome });
  if (outcome === 'failed' && failure) commands.push({ kind: 'failJob', lease, failure, summary });
  if (outcome === 'released') commands.push({ kind: 'releaseJob', lease });
  const uri = job.claimed.input.uri;
  commands.push(
    failure
      ? { kind: 'jobEnded', jobId: lease.jobId, uri, outcome, summary, failure }
      : { kind: 'jobEnded', jobId: lease.jobId, uri, outcome, summary },
  );
  countOutcome(state, outcome);
  // With no job left, the ledger may now say the run is exhausted: ask at once, not after claimIdleMs.
  if (state.jobs.size === 0) state.claimNotBeforeMs = Math.min(state.claimNotBeforeMs, state.lastNowMs);
}

function countOutcome(state: WorkerState, outcome: JobOutcome): void {
  const counters = state.counters;
  if (outcome === 'committed') counters.jobsCommitted += 1;
  else if (outcome === 'failed') counters.jobsFailed += 1;
  else if (outcome === 'released') counters.jobsReleased += 1;
  else counters.jobsLost += 1;
}
