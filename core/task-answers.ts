import type { Command } from './commands.ts';
import { freeLane } from './cpu-lanes.ts';
import { assert, type Failure } from './failure.ts';
import type { Input } from './inputs.ts';
import {
  CommitStep,
  cutParts,
  endJob,
  holdBytes,
  maybeQueueCommit,
  maybeQueueDecode,
  maybeQueueEncode,
  noteDecodeOutput,
  queueFetchWindow,
  releaseBytes,
  releaseChunk,
  SizeTaskIndex,
  sizeJob,
  StartTaskIndex,
  uploadStarted,
} from './job-lifecycle.ts';
import { ChunkStatus, PartStatus, StepStatus, type JobState } from './job-state.ts';
import { noteNextChunkWaited } from './read-ahead.ts';
import { addRecordCounters, emptyRecordCounters } from './record-counters.ts';
import { onRemoteAnswer, type RemoteAnswer } from './remote-limit.ts';
import { scheduleBackoff } from './ready-queue.ts';
import { decideRetry, type TaskAttempts } from './retry-policy.ts';
import { isSplitting, onDetachedDecoded } from './split-decode.ts';
import type { TaskInFlight, WorkerState } from './worker-state.ts';

/** What a void detached decode stands for: nothing, as its answer is dropped. */
const voidAnswer = {
  startBytes: 0,
  endBytes: 0,
  rows: 0,
  rowBytes: 0,
  encodedBytes: 0,
  counters: emptyRecordCounters,
  splittable: false,
  needsMore: false,
};

type TaskAnswer = Extract<Input, { taskId: number }>;

/**
 * Applies the answer to a dispatched task. Answers for a job that has ended only free the
 * memory the task held: a dropped job's data is never used, and a lost lease never commits.
 */
export function applyTaskAnswer(state: WorkerState, answer: TaskAnswer, nowMs: number, commands: Command[]): void {
  const task = state.inFlight.get(answer.taskId);
  assert(task !== undefined, `answer ${answer.kind} for unknown task ${answer.taskId}`);
  state.inFlight.delete(answer.taskId);
  state.active[task.stage] -= 1;
  const job = task.job;
  if (task.stage === 'decode' || task.stage === 'encode') freeLane(state, task.cpuLane);
  job.inFlightBytes -= task.bytes;
  state.decodeOutputBytesReserved -= task.outputReservedBytes;
  if (job.ended) {
    job.heldBytes -= task.bytes;
    state.heldBytes -= task.bytes;
    return;
  }
  if (answer.kind === 'taskFailed' && job.leaseLostDuringCommit) return endJob(state, job, 'lost', commands);
  // A detached decode of a job that fell back is void, whatever it answers (split-decode.ts):
  // one that failed left nothing with the driver, one that answered leaves bytes to drop.
  if (task.detached && !isSplitting(job) && answer.kind === 'taskFailed') return;
  if (task.detached && !isSplitting(job)) return onDetachedDecoded(state, task, voidAnswer, nowMs, commands);
  if (answer.kind === 'taskFailed') return onTaskFailed(state, task, answer.failure, nowMs, commands);
  assert(answerMatchesStage(answer.kind, task), `answer ${answer.kind} for a ${task.stage} task`);
  switch (answer.kind) {
    case 'inputSized':
      return onInputSized(state, task, answer.bytes, nowMs);
    case 'uploadStarted':
      onRemoteAnswer(state.remotes.sink, state.limits, remoteAnswer(state, task, false));
      return uploadStarted(state, job, nowMs);
    case 'chunkFetched':
      return onChunkFetched(state, task, answer.bytes, nowMs);
    case 'chunkDecoded':
      return onChunkDecoded(state, task, answer, nowMs);
    case 'detachedDecoded':
      return onDetachedDecoded(state, task, answer, nowMs, commands);
    case 'rowGroupEncoded':
      return onRowGroupEncoded(state, task, answer.bytes, nowMs);
    case 'partUploaded':
      return onPartUploaded(state, task, nowMs);
    case 'objectCompleted':
      return onObjectCompleted(state, task, nowMs, commands);
    case 'jobCommitted':
      return endJob(state, job, 'committed', commands);
  }
}

const stageOfAnswer = {
  inputSized: 'fetch',
  uploadStarted: 'upload',
  chunkFetched: 'fetch',
  chunkDecoded: 'decode',
  detachedDecoded: 'decode',
  rowGroupEncoded: 'encode',
  partUploaded: 'upload',
  objectCompleted: 'commit',
  jobCommitted: 'commit',
} as const;

function answerMatchesStage(kind: keyof typeof stageOfAnswer, task: TaskInFlight): boolean {
  if (kind === 'objectCompleted') return task.stage === 'commit' && task.index === CommitStep.Object;
  if (kind === 'jobCommitted') return task.stage === 'commit' && task.index === CommitStep.Ledger;
  if (stageOfAnswer[kind] !== task.stage) return false;
  if (task.stage === 'fetch') return (kind === 'inputSized') === (task.index === SizeTaskIndex);
  if (task.stage === 'upload') return (kind === 'uploadStarted') === (task.index === StartTaskIndex);
  if (task.stage === 'decode') return (kind === 'detachedDecoded') === task.detached;
  return true;
}

/** The job's size is known: its chunks are queued. A size that is not a byte count is the source's bug. */
function onInputSized(state: WorkerState, task: TaskInFlight, bytes: number, nowMs: number): void {
  assert(Number.isSafeInteger(bytes) && bytes >= 0, `size of ${task.job.claimed.jobId} is not a byte count: ${bytes}`);
  onRemoteAnswer(state.remotes.source, state.limits, remoteAnswer(state, task, false));
  sizeJob(state, task.job, bytes, nowMs);
}

function onChunkFetched(state: WorkerState, task: TaskInFlight, bytes: number, nowMs: number): void {
  const job = task.job;
  job.chunkStatus[task.index] = ChunkStatus.Fetched;
  state.counters.bytesIn += bytes;
  // The bytes handed on, as `bytesIn`: a subset's request its picked bytes, its gaps dropped,
  // so that a job's bytes read, its size and the progress line's count speak of the same bytes.
  job.inputBytes += bytes;
  onRemoteAnswer(state.remotes.source, state.limits, remoteAnswer(state, task, false));
  maybeQueueDecode(state, job, nowMs);
}

function onChunkDecoded(
  state: WorkerState,
  task: TaskInFlight,
  answer: Extract<Input, { kind: 'chunkDecoded' }>,
  nowMs: number,
): void {
  const job = task.job;
  assert(task.index === job.nextChunkToDecode, `chunk ${task.index} of ${job.claimed.jobId} decoded out of order`);
  job.chunkStatus[task.index] = ChunkStatus.Decoded;
  releaseChunk(state, job, task.index, task.bytes);
  holdBytes(state, job, answer.rowBytes);
  noteDecodeOutput(state, task.bytes, answer.rowBytes);
  job.rowsBuffered += answer.rows;
  job.rowBytesBuffered += answer.rowBytes;
  job.counters = addRecordCounters(job.counters, answer.counters);
  state.counters.records = addRecordCounters(state.counters.records, answer.counters);
  job.nextChunkToDecode += 1;
  if (job.nextChunkToDecode === job.chunkCount) job.decodeDone = true;
  else if (job.chunkStatus[job.nextChunkToDecode] !== ChunkStatus.Fetched)
    noteNextChunkWaited(state.readAhead, state.fetchWindowChunks);
  queueFetchWindow(state, job, nowMs);
  maybeQueueDecode(state, job, nowMs);
  maybeQueueEncode(state, job, nowMs);
}

function onRowGroupEncoded(state: WorkerState, task: TaskInFlight, bytes: number, nowMs: number): void {
  const job = task.job;
  releaseBytes(state, job, task.bytes);
  holdBytes(state, job, bytes);
  job.encodedBytes += bytes;
  job.rows += task.rows;
  state.counters.rows += task.rows;
  job.nextRowGroup += 1;
  job.encodeBusy = false;
  // The encode that started after decoding finished took every row and wrote the footer.
  if (task.final) job.encodeDone = true;
  cutParts(state, job, nowMs);
  maybeQueueEncode(state, job, nowMs);
  maybeQueueCommit(state, job, nowMs);
}

function onPartUploaded(state: WorkerState, task: TaskInFlight, nowMs: number): void {
  const job = task.job;
  const part = job.parts[task.index - 1];
  assert(
    part !== undefined && part.status === PartStatus.Uploading,
    `part ${task.index} of ${job.claimed.jobId} was not uploading`,
  );
  part.status = PartStatus.Uploaded;
  releaseBytes(state, job, task.bytes);
  job.partsUploaded += 1;
  state.counters.bytesOut += task.bytes;
  onRemoteAnswer(state.remotes.sink, state.limits, remoteAnswer(state, task, false));
  maybeQueueCommit(state, job, nowMs);
}

/**
 * The object is published: the ledger write comes next (job-lifecycle.ts). A lease reported
 * lost while the object was completing is lost indeed (the ledger was not written), so the
 * job ends here; otherwise the lease is checked again before the write, as the check skipped
 * the job while its object completed.
 */
function onObjectCompleted(state: WorkerState, task: TaskInFlight, nowMs: number, commands: Command[]): void {
  const job = task.job;
  job.objectCompleted = true;
  job.commitRunning = false;
  job.commitQueued = false;
  if (job.leaseLostDuringCommit) return endJob(state, job, 'lost', commands);
  state.nextLeaseCheckAtMs = Math.min(state.nextLeaseCheckAtMs, job.leaseValidUntilMs - state.limits.leaseSafetyMs);
  maybeQueueCommit(state, job, nowMs);
}

/**
 * A failed task: fetches, uploads and commits retry in place (a retried chunk or part does
 * not restart its job); decode and encode failures end the job, since the decoder and encoder
 * hold per-job state that a half-done call may have changed.
 */
function onTaskFailed(
  state: WorkerState,
  task: TaskInFlight,
  failure: Failure,
  nowMs: number,
  commands: Command[],
): void {
  const job = task.job;
  state.counters.tasksFailed += 1;
  if (failure.throttled) {
    state.counters.throttles += 1;
    const remote = task.stage === 'fetch' ? state.remotes.source : state.remotes.sink;
    if (task.stage === 'fetch' || task.stage === 'upload')
      onRemoteAnswer(remote, state.limits, remoteAnswer(state, task, true));
  }
  const attempts = attemptsOf(job, task);
  if (attempts === undefined || (state.draining && nowMs >= state.drainDeadlineMs)) {
    return giveUp(state, job, task, failure, commands);
  }
  const decision = decideRetry(state.limits, attempts, failure, state.random);
  if (decision.kind === 'give-up') return giveUp(state, job, task, failure, commands);
  if (task.stage === 'fetch' && task.index === SizeTaskIndex && !retryEndsTrusted(state, job, nowMs + decision.delayMs))
    return giveUp(state, job, task, failure, commands);
  state.counters.retries += 1;
  markBackoff(job, task);
  scheduleBackoff(state, job, task.stage, task.index, nowMs + decision.delayMs);
}

/** A fetch's or upload's answer as its remote's limit counts it; its own slot is already free. */
function remoteAnswer(state: WorkerState, task: TaskInFlight, throttled: boolean): RemoteAnswer {
  const inFlight = state.active[task.stage] + 1;
  return { throttled, dispatchSeq: task.dispatchSeq, nextDispatchSeq: state.nextDispatchSeq, inFlight };
}

/**
 * The lease-trust rule of sizing: no retry starts that would end after the job's lease stops
 * being trusted. A job being sized is held and renewed like any other, so this bites only when
 * renewals fail; the job then fails with the HEAD's own failure (which the ledger retries
 * later) rather than running into the lease check and ending as lost with no reason recorded.
 */
function retryEndsTrusted(state: WorkerState, job: JobState, retryAtMs: number): boolean {
  return retryAtMs < job.leaseValidUntilMs - state.limits.leaseSafetyMs;
}

/** The attempt counters of a task that retries in place; undefined for decode and encode. */
function attemptsOf(job: JobState, task: TaskInFlight): TaskAttempts | undefined {
  if (task.stage === 'fetch' && task.index === SizeTaskIndex) return job.sizeAttempts;
  if (task.stage === 'upload' && task.index === StartTaskIndex) return job.startAttempts;
  switch (task.stage) {
    case 'fetch': {
      let attempts = job.chunkAttempts.get(task.index);
      if (attempts === undefined) {
        attempts = { failures: 0, throttles: 0 };
        job.chunkAttempts.set(task.index, attempts);
      }
      return attempts;
    }
    case 'upload':
      return job.parts[task.index - 1]?.attempts;
    case 'commit':
      return task.index === CommitStep.Ledger ? job.ledgerWriteAttempts : job.commitAttempts;
    default:
      return undefined;
  }
}

function markBackoff(job: JobState, task: TaskInFlight): void {
  if (task.stage === 'fetch' && task.index === SizeTaskIndex) job.sizeStatus = StepStatus.Backoff;
  else if (task.stage === 'upload' && task.index === StartTaskIndex) job.startStatus = StepStatus.Backoff;
  else if (task.stage === 'fetch') job.chunkStatus[task.index] = ChunkStatus.Backoff;
  else if (task.stage === 'upload') {
    const part = job.parts[task.index - 1];
    if (part !== undefined) part.status = PartStatus.Backoff;
  } else if (task.stage === 'commit') job.commitRunning = false;
}

function giveUp(state: WorkerState, job: JobState, task: TaskInFlight, failure: Failure, commands: Command[]): void {
  const described = describeFailure(task, failure);
  // A drain past its deadline hands the job back rather than failing it: it did nothing wrong.
  const outcome = state.draining && nowAfterDeadline(state) && failure.fault !== 'input' ? 'released' : 'failed';
  endJob(state, job, outcome, commands, outcome === 'failed' ? described : undefined);
}

/**
 * The failure a job ends with, naming the task. A ledger write that gave up leaves a published
 * object behind, whatever the fault: the job is failed retryably so the ledger brings it back
 * (job-lifecycle.ts), never failed for good from here.
 */
function describeFailure(task: TaskInFlight, failure: Failure): Failure {
  if (task.stage === 'commit' && task.index === CommitStep.Ledger) {
    const reason = `recording the job done in the ledger failed (its object is published): ${failure.reason}`;
    return { ...failure, retryable: true, reason };
  }
  if (task.stage === 'commit') return { ...failure, reason: `commit of the object failed: ${failure.reason}` };
  if (task.stage === 'fetch' && task.index === SizeTaskIndex)
    return { ...failure, reason: `sizing the input failed: ${failure.reason}` };
  if (task.stage === 'upload' && task.index === StartTaskIndex)
    return { ...failure, reason: `starting the upload failed: ${failure.reason}` };
  const where =
    task.stage === 'fetch' || task.stage === 'decode'
      ? `chunk ${task.index}`
      : task.stage === 'upload'
        ? `part ${task.index}`
        : `row group ${task.index}`;
  return { ...failure, reason: `${task.stage} of ${where} failed: ${failure.reason}` };
}

function nowAfterDeadline(state: WorkerState): boolean {
  return state.lastNowMs >= state.drainDeadlineMs;
}
