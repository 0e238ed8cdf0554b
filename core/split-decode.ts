import type { Command } from './commands.ts';
import type { ResumePoint } from './decoder.ts';
import { assert } from './failure.ts';
import type { Input } from './inputs.ts';
import { ChunkStatus, chunkRange, type JobState } from './job-state.ts';
import {
  cutParts,
  holdBytes,
  maybeQueueCommit,
  maybeQueueDecode,
  maybeQueueEncode,
  noteDecodeOutput,
  queueFetchWindow,
  releaseBytes,
  releaseChunk,
} from './job-lifecycle.ts';
import type { WorkerLimits } from './limits.ts';
import { addRecordCounters, totalCount } from './record-counters.ts';
import { enqueueReady } from './ready-queue.ts';
import type { TaskInFlight, WorkerState } from './worker-state.ts';

/**
 * Split decoding: the chunks of one gzip file decode apart, on any idle CPU lane, and their
 * rows are accepted in chunk order. A gzip file whose records are one member each (as
 * CommonCrawl's, and most writers') can be entered at any record's member: a detached decode
 * of chunk i starts at the first verified member boundary at or after the chunk's start (chunk
 * 0 at 0), reads every record that starts before the chunk's end, the last one into chunk
 * i + 1's bytes, and encodes its rows into row groups that stand alone (core/encoder.ts).
 *
 * The rule:
 * - Every chunk decodes as soon as it and the next chunk are fetched (the last chunk needs only
 *   itself); nothing is accepted before chunk 0, which must answer `splittable`.
 * - Chunk i is accepted when chunk i − 1 is, and chunk i − 1's end offset is chunk i's start
 *   offset. The scan for a boundary can be fooled by a payload that holds a gzip member of
 *   `WARC/` (a false boundary): chunk i then starts inside a record that chunk i − 1 read whole,
 *   the offsets differ, and chunk i is decoded again from chunk i − 1's end offset, its rows
 *   and bytes dropped. Chunk i − 1 read from a true boundary, so by induction from chunk 0 the
 *   accepted chunks tile the file, each record read once.
 * - `needsMore` (a record longer than a chunk), an answer that is not `splittable` (records
 *   not one member each, or damage, after which a decoder that started mid-file might resync
 *   elsewhere than one that read from the start), or chunk 0 not `splittable`, or an answer
 *   that counts damage or a chunk 0 that read no record (`judgedApart`: the whole file's
 *   rules), sends the job back to decoding in order on its pinned lane, from the accepted
 *   chunks' end offset: what is redone is the first chunk not accepted (and the decodes of
 *   later chunks, whose answers are dropped); the accepted rows stay exported, none twice.
 *
 * Memory: a chunk stays reserved until it is accepted, since a rejected chunk i − 1 or i is
 * decoded again from these bytes. Encoded bytes of answers waiting for an earlier chunk are
 * held in the budget from their answer. So a split job holds at most its read-ahead window of
 * chunks (at least two: chunk i and i + 1), the growth reserved by its decodes in flight (one
 * a lane), and the encoded bytes of the answered chunks of its window.
 */
export interface SplitState {
  /** `split` while chunks decode detached; `sequential` once the job fell back. */
  mode: 'split' | 'sequential';
  /** Chunks accepted, a prefix of the job's chunks. */
  accepted: number;
  /** Input offset just past the last accepted record. */
  acceptedEndBytes: number;
  /** Per chunk: 0 no detached decode queued, 1 queued or running, 2 answered. */
  readonly decodeStatus: Uint8Array;
  /** Answers waiting for their turn, by chunk index. */
  readonly answers: Map<number, DetachedAnswer>;
  /** Start offsets of chunks decoded again after a false boundary. */
  readonly restartAt: Map<number, number>;
  /** Detached decodes queued and not yet started, to take out of the counts on a fall back. */
  queued: number;
  /** Where the first decode in order starts after a fall back, with the accepted chunks' counts; null once sent. */
  resume: ResumePoint | null;
  /** Some row groups of the object were encoded apart: every later one is too. */
  detachedObject: boolean;
}

type DetachedAnswer = Omit<Extract<Input, { kind: 'detachedDecoded' }>, 'kind' | 'taskId'>;

const DecodeStatus = { None: 0, Queued: 1, Answered: 2 } as const;

/** Whether the job's chunks decode apart now. */
export function isSplitting(job: JobState): boolean {
  return job.split !== null && job.split.mode === 'split';
}

/**
 * A sized job is tried in split mode when split decoding is on, it is a whole file (a subset's
 * requests are not chunks of a file), its name says gzip (`.gz`), and it has two chunks or
 * more. The name decides because the core sees no bytes; a `.gz` that is not one member a
 * record answers chunk 0 not `splittable` and falls back, at the cost of decoding chunk 0 twice.
 */
export function splitStateFor(job: JobState, limits: WorkerLimits): SplitState | null {
  const gzipName = job.claimed.input.uri.toLowerCase().endsWith('.gz');
  if (!limits.splitDecode || job.requests !== null || !gzipName || job.chunkCount < 2) return null;
  return {
    mode: 'split',
    accepted: 0,
    acceptedEndBytes: 0,
    decodeStatus: new Uint8Array(job.chunkCount),
    answers: new Map(),
    restartAt: new Map(),
    queued: 0,
    resume: null,
    detachedObject: false,
  };
}

/**
 * The read-ahead of a split job. Its decodes run on every lane, so it takes every lane's share
 * (`readAhead` is one lane's: the budget's window, or less for local files, read-ahead.ts),
 * within `fetchAheadChunksMax`, and at least one chunk a lane and one more, as chunk i's
 * decode reads chunk i + 1. One lane's share alone
 * left the lanes without chunks to decode: a content export on two lanes with a 1 GiB budget
 * (480 MiB of data after the threads' reserve) got a window of 1, raised to 2, so only the first
 * chunk not accepted could decode, and the second lane sat idle (traced on the 300 MB file: one
 * lane decoded chunks 0-7 one after another). The capacity checks still gate each fetch and each
 * decode's growth, so a wider window never holds more than the budget.
 */
export function splitWindowChunks(state: WorkerState): number {
  const lanes = state.limits.cpuSlotsMax;
  const lanesShare = Math.min(state.limits.fetchAheadChunksMax, state.readAhead.chunks * lanes);
  return Math.max(lanes + 1, lanesShare);
}

/**
 * Queues the detached decode of every chunk of the window whose bytes and next chunk's bytes
 * are fetched. Chunks after 0 start before chunk 0 is accepted: were chunk 0 decoded alone
 * first, a file of n chunks would spend one chunk's decode of n on one core (measured: chunk 0
 * of 3 alone for 1.6 s of a 4.2 s decode). Their answers wait for chunk 0's, and are dropped
 * if it is not `splittable`: the work lost is a boundary scan that finds nothing in a file not
 * one member a record, or a chunk's decode per lane otherwise.
 */
export function queueDetachedDecodes(state: WorkerState, job: JobState, split: SplitState, nowMs: number): void {
  const last = Math.min(job.chunkCount, job.nextChunkToQueue);
  // Bounded by the read-ahead window: chunks past `nextChunkToQueue` are not fetched.
  for (let index = split.accepted; index < last; index++) {
    if (split.decodeStatus[index] !== DecodeStatus.None || !bytesReady(job, index)) continue;
    split.decodeStatus[index] = DecodeStatus.Queued;
    split.queued += 1;
    enqueueReady(state, job, 'decode', index, nowMs, false, true);
  }
}

function bytesReady(job: JobState, index: number): boolean {
  const fetched = (at: number): boolean => job.chunkStatus[at] === ChunkStatus.Fetched;
  return fetched(index) && (index === job.chunkCount - 1 || fetched(index + 1));
}

/** A detached decode starts: where it starts, as the rule says. */
export function detachedStart(job: JobState, split: SplitState, index: number): number | null {
  assert(split.decodeStatus[index] === DecodeStatus.Queued, `chunk ${index} of ${job.claimed.jobId} is not queued`);
  split.queued -= 1;
  return index === 0 ? 0 : (split.restartAt.get(index) ?? null);
}

/** A detached decode answered: it waits for its turn, then the chunks that can be are accepted. */
export function onDetachedDecoded(
  state: WorkerState,
  task: TaskInFlight,
  answer: DetachedAnswer,
  nowMs: number,
  commands: Command[],
): void {
  const job = task.job;
  const split = job.split;
  // The job fell back meanwhile: this chunk is decoded in order again, its answer is void.
  if (split === null || split.mode !== 'split') {
    commands.push({ kind: 'placeDetached', jobId: job.claimed.jobId, chunkIndex: task.index, place: false });
    return;
  }
  assert(split.decodeStatus[task.index] === DecodeStatus.Queued, `chunk ${task.index} answered twice`);
  split.decodeStatus[task.index] = DecodeStatus.Answered;
  split.answers.set(task.index, answer);
  holdBytes(state, job, answer.encodedBytes);
  noteDecodeOutput(state, chunkRange(job, state.limits.chunkBytes, task.index).lengthBytes, answer.rowBytes);
  acceptInOrder(state, job, split, commands);
  if (isSplitting(job)) queueDetachedDecodes(state, job, split, nowMs);
  else maybeQueueDecode(state, job, nowMs);
  queueFetchWindow(state, job, nowMs);
  cutParts(state, job, nowMs);
  maybeQueueEncode(state, job, nowMs);
  maybeQueueCommit(state, job, nowMs);
}

/** Accepts answered chunks in order while their offsets meet; bounded by the job's chunks. */
function acceptInOrder(state: WorkerState, job: JobState, split: SplitState, commands: Command[]): void {
  while (split.accepted < job.chunkCount) {
    const index = split.accepted;
    const answer = split.answers.get(index);
    if (answer === undefined) return;
    split.answers.delete(index);
    if (answer.startBytes !== split.acceptedEndBytes) {
      // A false boundary: the chunk is decoded again from where its predecessor ended. Checked
      // first: a decode from inside a record reads damage after the stored member and answers
      // not splittable, which says nothing of the file (it sent every fooled file to one lane).
      dropAnswer(state, job, index, answer, commands);
      split.decodeStatus[index] = DecodeStatus.None;
      split.restartAt.set(index, split.acceptedEndBytes);
      return;
    }
    if (answer.needsMore || !answer.splittable || !judgedApart(index, answer)) {
      dropAnswer(state, job, index, answer, commands);
      return fallBack(state, job, split, commands);
    }
    accept(state, job, split, index, answer, commands);
  }
  job.decodeDone = true;
}

/**
 * The whole file's rules (a file with no WARC record fails; so does one that gives no row
 * because every record was bad) are the decoder in order's (core/decoder.ts `ResumePoint`): a
 * decode apart reads part of the file and applies neither. Both need what an accepted chunk
 * must not hold, so a file split whole meets neither: damage (a chunk that read any is decoded
 * in order, given the accepted chunks' counts), or a file whose chunk 0 read no record. The
 * decoder apart answers such a chunk not splittable already (`splittable` says no damage, and
 * chunk 0's records must tile it from 0); checked here too, since a chunk accepted with damage
 * left a file whose every record was bad committed empty, judged by no one.
 */
function judgedApart(index: number, answer: DetachedAnswer): boolean {
  if (totalCount(answer.counters.badByReason) > 0) return false;
  return index > 0 || totalCount(answer.counters.byType) > 0;
}

function accept(
  state: WorkerState,
  job: JobState,
  split: SplitState,
  index: number,
  answer: DetachedAnswer,
  commands: Command[],
): void {
  const { lengthBytes } = chunkRange(job, state.limits.chunkBytes, index);
  commands.push({ kind: 'placeDetached', jobId: job.claimed.jobId, chunkIndex: index, place: true });
  job.chunkStatus[index] = ChunkStatus.Decoded;
  releaseChunk(state, job, index, lengthBytes);
  // The encoded bytes stay held: they are the object's now, freed as parts upload.
  job.encodedBytes += answer.encodedBytes;
  job.rows += answer.rows;
  state.counters.rows += answer.rows;
  job.counters = addRecordCounters(job.counters, answer.counters);
  state.counters.records = addRecordCounters(state.counters.records, answer.counters);
  split.accepted = index + 1;
  split.acceptedEndBytes = answer.endBytes;
  split.detachedObject = true;
  job.nextChunkToDecode = split.accepted;
  job.nextRowGroup += 1;
}

function dropAnswer(
  state: WorkerState,
  job: JobState,
  index: number,
  answer: DetachedAnswer,
  commands: Command[],
): void {
  releaseBytes(state, job, answer.encodedBytes);
  commands.push({ kind: 'placeDetached', jobId: job.claimed.jobId, chunkIndex: index, place: false });
}

/**
 * Back to decoding in order, from the accepted chunks' end: the answers waiting are dropped,
 * the detached decodes queued leave the counts (their entries are discarded, ready-queue.ts),
 * and those running are void when they answer. The chunks not accepted are still reserved and
 * fetched (or being fetched), so the decodes in order find them where they expect them.
 */
function fallBack(state: WorkerState, job: JobState, split: SplitState, commands: Command[]): void {
  split.mode = 'sequential';
  for (const [index, answer] of split.answers) dropAnswer(state, job, index, answer, commands);
  split.answers.clear();
  state.readyCount.decode -= split.queued;
  job.readyCount.decode -= split.queued;
  split.queued = 0;
  split.resume =
    split.accepted > 0 ? { atBytes: split.acceptedEndBytes, rowsBefore: job.rows, countersBefore: job.counters } : null;
  job.nextChunkToDecode = split.accepted;
  split.decodeStatus.fill(DecodeStatus.None, split.accepted);
}

/** The first decode in order after a fall back starts at the accepted chunks' end; later ones at their chunk. */
export function takeResumeAt(job: JobState): ResumePoint | null {
  const split = job.split;
  if (split === null || split.resume === null) return null;
  const resume = split.resume;
  split.resume = null;
  return resume;
}

/** Whether the job's encodes must encode apart and build the footer from every row group placed. */
export function encodesDetached(job: JobState): boolean {
  return job.split !== null && job.split.detachedObject;
}
