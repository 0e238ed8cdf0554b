import type { Command } from './commands.ts';
import { CommitStep, jobSummary, reserveChunk, SizeTaskIndex, StartTaskIndex } from './job-lifecycle.ts';
import { ChunkStatus, chunkRange, PartStatus, StepStatus, type JobState } from './job-state.ts';
import { decodeGrowthBytes, stalledOnMemory } from './capacity.ts';
import { occupyIdleLane, occupyLane } from './cpu-lanes.ts';
import { detachedStart, encodesDetached, takeResumeAt } from './split-decode.ts';
import { enqueueReady, takeReady } from './ready-queue.ts';
import { rateAllows, refillTokens, takeToken } from './request-rate.ts';
import { assert } from './failure.ts';
import type { Stage } from './stage.ts';
import { pickStage } from './weighted-pick.ts';
import type { ReadyEntry, WorkerState } from './worker-state.ts';

/**
 * Starts tasks by the policy until none can start; then, if the pipeline is stalled on
 * memory, applies the stall rule of capacity.ts (flush gathering rows, else one fetch alone).
 */
export function dispatchReadyTasks(state: WorkerState, nowMs: number, commands: Command[]): void {
  refillTokens(state.requestRates.source, nowMs);
  refillTokens(state.requestRates.sink, nowMs);
  dispatchByPolicy(state, nowMs, commands);
  if (!stalledOnMemory(state)) return;
  if (flushGatheringRows(state, nowMs)) {
    dispatchByPolicy(state, nowMs, commands);
    return;
  }
  // Nothing else can free memory: one decode goes over the budget, alone (see capacity.ts),
  // as it turns a chunk into rows that can drain; else one fetch, when the source's request
  // rate allows (else the wake-up at its next token comes back here).
  const stage = state.readyCount.decode > 0 ? 'decode' : 'fetch';
  if (stage === 'fetch' && !rateAllows(state.requestRates.source)) return;
  const entry = takeReady(state, stage);
  assert(entry !== undefined, `a memory stall with no ${stage} ready`);
  state.waitingSinceMs[stage] = nowMs;
  commands.push(startTask(state, entry));
  dispatchByPolicy(state, nowMs, commands);
}

/** Each pass starts one task and takes one slot of a stage's `MaxWorkers`: the caps bound the loop. */
function dispatchByPolicy(state: WorkerState, nowMs: number, commands: Command[]): void {
  const caps = state.limits.stageWorkersMax;
  const passesMax = caps.fetch + caps.decode + caps.encode + caps.upload + caps.commit;
  for (let pass = 0; pass < passesMax; pass++) {
    const stage = pickStage(state, nowMs);
    if (stage === null) return;
    const entry = takeReady(state, stage);
    assert(entry !== undefined, `stage ${stage} was picked with nothing ready`);
    state.waitingSinceMs[stage] = nowMs;
    commands.push(startTask(state, entry));
  }
}

/**
 * Encodes rows that are still gathering for a row group, in a smaller row group: it costs a
 * little compression, where a stall would cost the whole run. Returns whether any were queued.
 * Runs only on a stall, so its scan of the jobs is rare.
 */
function flushGatheringRows(state: WorkerState, nowMs: number): boolean {
  let queued = false;
  for (const job of state.jobs.values()) {
    if (job.rowsBuffered === 0 || job.encodeBusy || job.encodeDone) continue;
    job.encodeBusy = true;
    enqueueReady(state, job, 'encode', job.nextRowGroup, nowMs);
    queued = true;
  }
  return queued;
}

function startTask(state: WorkerState, entry: ReadyEntry): Command {
  switch (entry.stage) {
    case 'fetch':
      return entry.index === SizeTaskIndex ? startSizing(state, entry.job) : startFetch(state, entry.job, entry.index);
    case 'decode':
      return entry.detached
        ? startDetachedDecode(state, entry.job, entry.index)
        : startDecode(state, entry.job, entry.index);
    case 'encode':
      return startEncode(state, entry.job);
    case 'upload':
      return entry.index === StartTaskIndex
        ? startUploadStart(state, entry.job)
        : startPartUpload(state, entry.job, entry.index);
    case 'commit':
      return startCommit(state, entry.job);
  }
}

/** What a CPU task records beside its stage, job, index and bytes. */
interface CpuTaskFacts {
  readonly rows?: number;
  readonly final?: boolean;
  readonly outputReservedBytes?: number;
  readonly cpuLane: number;
  readonly detached?: boolean;
}

/** Records a task in flight; `bytes` is what it holds of the budget while it runs. */
function track(
  state: WorkerState,
  stage: Stage,
  job: JobState,
  index: number,
  bytes: number,
  cpu: CpuTaskFacts = { cpuLane: -1 },
): number {
  const taskId = state.nextTaskId++;
  const dispatchSeq = state.nextDispatchSeq++;
  state.inFlight.set(taskId, {
    taskId,
    stage,
    job,
    index,
    bytes,
    rows: cpu.rows ?? 0,
    final: cpu.final ?? false,
    outputReservedBytes: cpu.outputReservedBytes ?? 0,
    dispatchSeq,
    cpuLane: cpu.cpuLane,
    detached: cpu.detached ?? false,
  });
  state.active[stage] += 1;
  job.inFlightBytes += bytes;
  return taskId;
}

/** A HEAD of the input: a fetch-stage task that holds no memory. */
function startSizing(state: WorkerState, job: JobState): Command {
  assert(job.sizeStatus === StepStatus.Ready, `sizing of ${job.claimed.jobId} is not ready`);
  job.sizeStatus = StepStatus.Running;
  const taskId = track(state, 'fetch', job, SizeTaskIndex, 0);
  takeToken(state.requestRates.source);
  return { kind: 'sizeInput', taskId, jobId: job.claimed.jobId, input: job.claimed.input };
}

/** The start of the job's multipart upload: an upload-stage task that holds no memory. */
function startUploadStart(state: WorkerState, job: JobState): Command {
  assert(job.startStatus === StepStatus.Ready, `the upload start of ${job.claimed.jobId} is not ready`);
  job.startStatus = StepStatus.Running;
  const taskId = track(state, 'upload', job, StartTaskIndex, 0);
  takeToken(state.requestRates.sink);
  return { kind: 'startUpload', taskId, jobId: job.claimed.jobId, outputKey: job.claimed.outputKey };
}

function startFetch(state: WorkerState, job: JobState, index: number): Command {
  const range = chunkRange(job, state.limits.chunkBytes, index);
  if (job.chunkReserved[index] === 0) reserveChunk(state, job, index, range.lengthBytes);
  job.chunkStatus[index] = ChunkStatus.Fetching;
  const taskId = track(state, 'fetch', job, index, range.lengthBytes);
  takeToken(state.requestRates.source);
  return {
    kind: 'fetchChunk',
    taskId,
    jobId: job.claimed.jobId,
    input: job.claimed.input,
    chunkIndex: index,
    ...range,
  };
}

function startDecode(state: WorkerState, job: JobState, index: number): Command {
  const { lengthBytes } = chunkRange(job, state.limits.chunkBytes, index);
  const cpuLane = occupyLane(state, job);
  // The rows' expected growth beyond the chunk is reserved until the answer (capacity.ts).
  const growthBytes = decodeGrowthBytes(state, lengthBytes);
  state.decodeOutputBytesReserved += growthBytes;
  const taskId = track(state, 'decode', job, index, lengthBytes, { outputReservedBytes: growthBytes, cpuLane });
  return {
    kind: 'decodeChunk',
    taskId,
    jobId: job.claimed.jobId,
    cpuLane,
    chunkIndex: index,
    final: index === job.chunkCount - 1,
    resumeAt: takeResumeAt(job),
  };
}

/**
 * A detached decode (split-decode.ts) on any idle lane. It holds no bytes of its own: the
 * chunks it reads stay reserved until the chunk is accepted. Its rows are encoded in the same
 * task, so only the growth they may reach while it runs is reserved, as for any decode.
 */
function startDetachedDecode(state: WorkerState, job: JobState, index: number): Command {
  const split = job.split;
  assert(split !== null, `detached decode of ${job.claimed.jobId}, which is not split`);
  const startBytes = detachedStart(job, split, index);
  const { lengthBytes } = chunkRange(job, state.limits.chunkBytes, index);
  const cpuLane = occupyIdleLane(state, job.claimed.jobId);
  const growthBytes = decodeGrowthBytes(state, lengthBytes);
  state.decodeOutputBytesReserved += growthBytes;
  const final = index === job.chunkCount - 1;
  const facts = { outputReservedBytes: growthBytes, cpuLane, detached: true, final };
  const taskId = track(state, 'decode', job, index, 0, facts);
  const nextFinal = index + 1 === job.chunkCount - 1;
  const jobId = job.claimed.jobId;
  return { kind: 'decodeDetached', taskId, jobId, cpuLane, chunkIndex: index, startBytes, final, nextFinal };
}

/** An encode takes every row gathered so far; when decoding is done it is the last row group. */
function startEncode(state: WorkerState, job: JobState): Command {
  const rows = job.rowsBuffered;
  const cpuLane = occupyLane(state, job);
  const facts = { rows, final: job.decodeDone, cpuLane };
  const taskId = track(state, 'encode', job, job.nextRowGroup, job.rowBytesBuffered, facts);
  job.rowsBuffered = 0;
  job.rowBytesBuffered = 0;
  return {
    kind: 'encodeRowGroup',
    taskId,
    jobId: job.claimed.jobId,
    cpuLane,
    rowGroupIndex: job.nextRowGroup,
    rows,
    final: job.decodeDone,
    detached: encodesDetached(job),
  };
}

function startPartUpload(state: WorkerState, job: JobState, partNumber: number): Command {
  const part = job.parts[partNumber - 1];
  assert(
    part !== undefined && part.status === PartStatus.Ready,
    `part ${partNumber} of ${job.claimed.jobId} is not ready`,
  );
  part.status = PartStatus.Uploading;
  const taskId = track(state, 'upload', job, partNumber, part.lengthBytes);
  takeToken(state.requestRates.sink);
  return {
    kind: 'uploadPart',
    taskId,
    jobId: job.claimed.jobId,
    outputKey: job.claimed.outputKey,
    partNumber,
    offsetBytes: part.offsetBytes,
    lengthBytes: part.lengthBytes,
    final: part.final,
  };
}

/** The commit's next step (job-lifecycle.ts): complete the object, then record the job done. */
function startCommit(state: WorkerState, job: JobState): Command {
  assert(
    state.lastNowMs < job.leaseValidUntilMs - state.limits.leaseSafetyMs,
    `commit of ${job.claimed.jobId} on an expired lease`,
  );
  job.commitRunning = true;
  if (!job.objectCompleted) {
    const taskId = track(state, 'commit', job, CommitStep.Object, 0);
    return { kind: 'completeObject', taskId, jobId: job.claimed.jobId, outputKey: job.claimed.outputKey };
  }
  const taskId = track(state, 'commit', job, CommitStep.Ledger, 0);
  return {
    kind: 'commitJob',
    taskId,
    lease: { jobId: job.claimed.jobId, attempt: job.claimed.attempt },
    outputKey: job.claimed.outputKey,
    summary: jobSummary(job),
  };
}
