/**
 * The core checks its own invariants at the end of every `step`. Each test drives a worker
 * into the middle of a run (fetches and a decode in flight, chunks queued, rows gathering),
 * breaks one rule by mutating its state on purpose, and sees the next `step` throw an
 * InvariantError naming the rule with the numbers that broke it. The counters mode (the node
 * runtime's default) checks counters against each other in O(1); the full mode (tests and the
 * simulator) also scans every job and task.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from '../../core/commands.ts';
import { InvariantError } from '../../core/failure.ts';
import type { ClaimedJob, LeasedJob } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import type { InvariantChecks } from '../../core/invariants.ts';
import { SizeTaskIndex } from '../../core/job-lifecycle.ts';
import { ChunkStatus, PartStatus, StepStatus, type JobState } from '../../core/job-state.ts';
import { enqueueReady } from '../../core/ready-queue.ts';
import { withLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type TaskInFlight, type WorkerState } from '../../core/worker-state.ts';

const chunkBytes = 1024;

function claimed(jobId: string, sizeBytes: number): ClaimedJob {
  const input = { uri: `${jobId}.warc.gz`, filename: `${jobId}.warc.gz`, crawl: null, subset: null, segment: null };
  return { jobId, input, sizeBytes, attempt: 1, outputKey: `${jobId}.parquet` };
}

/** The answer a healthy driver gives to a fetch or a decode; null for other commands. */
function answerTo(command: Command): Input | null {
  if (command.kind === 'fetchChunk')
    return { kind: 'chunkFetched', taskId: command.taskId, bytes: command.lengthBytes };
  if (command.kind === 'decodeChunk') {
    const counters = { byType: { response: 1 }, badByReason: {} };
    return { kind: 'chunkDecoded', taskId: command.taskId, rows: 1, rowBytes: 10, counters };
  }
  return null;
}

/**
 * A worker two jobs into a run: it answered the first wave of fetches, so decodes run or wait
 * for their lane, more fetches are in flight, and rows gather. Its own steps kept every rule.
 */
function midRun(invariantChecks: InvariantChecks): { state: WorkerState; nowMs: number } {
  const limits = withLimits({
    chunkBytes,
    memoryBudgetBytes: 64 * chunkBytes,
    fetchAheadChunksMax: 4,
    stageWorkersMax: { fetch: 4, decode: 1, encode: 1, upload: 2, commit: 1 },
    cpuSlotsMax: 1,
    networkStreamsMax: 6,
    rowGroupRows: 100,
  });
  const state = createWorkerState(limits, { invariantChecks });
  step(state, 0, []);
  let inputs: Input[] = [
    { kind: 'jobsClaimed', jobs: [claimed('a', 10 * chunkBytes), claimed('b', 10 * chunkBytes)], exhausted: true },
  ];
  let nowMs = 1;
  for (; nowMs <= 3; nowMs++) {
    const { commands } = step(state, nowMs, inputs);
    inputs = commands.map(answerTo).filter((input): input is Input => input !== null);
  }
  return { state, nowMs };
}

function jobOf(state: WorkerState, jobId: string): JobState {
  const job = state.jobs.get(jobId);
  if (job === undefined) throw new Error(`no job ${jobId}`);
  return job;
}

function taskOf(state: WorkerState, stage: TaskInFlight['stage']): TaskInFlight {
  const task = [...state.inFlight.values()].find((candidate) => candidate.stage === stage);
  if (task === undefined) throw new Error(`no ${stage} task in flight`);
  return task;
}

/** The error the next step throws, or null when it throws none. */
function nextStepError(state: WorkerState, nowMs: number): InvariantError | null {
  try {
    step(state, nowMs, [{ kind: 'timer' }]);
    return null;
  } catch (error) {
    if (error instanceof InvariantError) return error;
    throw error;
  }
}

describe('the state a run leaves between steps', () => {
  it.each(['counters', 'full'] as const)('keeps every invariant (%s checks)', (checks) => {
    const { state, nowMs } = midRun(checks);
    expect(state.active.fetch).toBeGreaterThan(0);
    expect(state.active.decode).toBe(1);
    expect(state.readyCount.decode + state.readyCount.fetch).toBeGreaterThan(0);
    expect(nextStepError(state, nowMs)).toBeNull();
  });

  it('runs the counters checks unless told otherwise (the node runtime)', () => {
    expect(createWorkerState(withLimits({})).invariantChecks).toBe('counters');
  });
});

describe('the counters checks (every step, O(1))', () => {
  it.each(['counters', 'full'] as const)('held bytes never negative (%s)', (checks) => {
    const { state, nowMs } = midRun(checks);
    const heldBytes = state.heldBytes;
    state.heldBytes -= heldBytes + 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('held bytes within the memory bound');
    expect(error?.values.heldBytes).toBe(-1);
    expect(error?.message).toMatch(/^invariant broken: held bytes within the memory bound: .*heldBytes=-1/);
  });

  it('chunks reserved by fetches within the memory budget', () => {
    const { state, nowMs } = midRun('counters');
    state.chunkBytesReserved = state.limits.memoryBudgetBytes + 1;
    state.heldBytes = state.chunkBytesReserved;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('held bytes within the memory bound');
    expect(error?.values).toMatchObject({ chunkBytesReserved: 64 * chunkBytes + 1, reservedMaxBytes: 64 * chunkBytes });
  });

  it('a stage runs no more tasks than its MaxWorkers', () => {
    const { state, nowMs } = midRun('counters');
    state.active.upload = state.limits.stageWorkersMax.upload + 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('active tasks within every cap');
    expect(error?.values).toMatchObject({ stage: 'upload', active: 3, cap: 2 });
  });

  it('CPU tasks within the CPU threads', () => {
    const { state, nowMs } = midRun('counters');
    // Within each stage's cap (1 decode, 1 encode), over the one shared thread.
    state.active.encode = 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('active tasks within every cap');
    expect(error?.values).toMatchObject({ pool: 'cpu', active: 2, cap: 1 });
  });

  it('network streams within their pool', () => {
    const { state, nowMs } = midRun('counters');
    state.active.upload = state.limits.networkStreamsMax - state.active.fetch + 1;
    state.limits.stageWorkersMax.upload = state.active.upload;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('active tasks within every cap');
    expect(error?.values).toMatchObject({ pool: 'network', cap: 6 });
  });

  it('jobs held within jobsActiveMax', () => {
    const { state, nowMs } = midRun('counters');
    const mutable = state.limits as { jobsActiveMax: number };
    mutable.jobsActiveMax = 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('active tasks within every cap');
    expect(error?.values).toMatchObject({ pool: 'jobs', active: 2, cap: 1 });
  });

  it('tasks in flight equal the sum of active tasks', () => {
    const { state, nowMs } = midRun('counters');
    state.inFlight.delete(taskOf(state, 'fetch').taskId);
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('tasks in flight equal the active tasks');
    expect(error?.values.inFlight).toBe((error?.values.active as number) - 1);
  });

  it('busy CPU lanes equal the CPU tasks running', () => {
    const { state, nowMs } = midRun('counters');
    state.busyLaneCount += 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('busy CPU lanes equal the CPU tasks');
    expect(error?.values).toMatchObject({ busyLaneCount: 2, cpuActive: 1 });
  });

  it('every job claimed is held or ended once', () => {
    const { state, nowMs } = midRun('counters');
    // A job counted as committed while it is still held is in two states.
    state.counters.jobsCommitted += 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every job in exactly one state');
    expect(error?.values).toMatchObject({ jobsClaimed: 2, held: 2, committed: 1 });
  });

  it('queue counts never negative', () => {
    const { state, nowMs } = midRun('counters');
    state.backoffCount = -1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('queue counts in range');
    expect(error?.values).toMatchObject({ backoffCount: -1 });
  });

  it('AIMD limits between their floor and ceiling', () => {
    const { state, nowMs } = midRun('counters');
    state.remotes.sink.limit = 0;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('remote limits in range');
    expect(error?.values).toMatchObject({ remote: 'sink', limit: 0 });
  });
});

describe('the full checks (tests and the simulator)', () => {
  it('a task in two places at once: in flight and queued', () => {
    const { state, nowMs } = midRun('full');
    const task = taskOf(state, 'fetch');
    // Queued again with every count kept, so only a scan of the queues can tell.
    const readySeq = state.nextReadySeq++;
    (state.ready.fetch[0] as { push(entry: unknown): void }).push({
      job: task.job,
      stage: 'fetch',
      index: task.index,
      readySeq,
      reserved: true,
    });
    state.readyCount.fetch += 1;
    task.job.readyCount.fetch += 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every task in exactly one place');
    expect(error?.values).toMatchObject({ jobId: task.job.claimed.jobId, task: `fetch ${task.index}` });
    // The counters agree with each other: the counters mode cannot see it.
    const counted = midRun('counters');
    const countedTask = taskOf(counted.state, 'fetch');
    (counted.state.ready.fetch[0] as { push(entry: unknown): void }).push({
      job: countedTask.job,
      stage: 'fetch',
      index: countedTask.index,
      readySeq: counted.state.nextReadySeq++,
      reserved: true,
    });
    counted.state.readyCount.fetch += 1;
    countedTask.job.readyCount.fetch += 1;
    expect(() => step(counted.state, counted.nowMs, [])).not.toThrow(InvariantError);
  });

  it('a job counted as queued with no entry in any queue', () => {
    const { state, nowMs } = midRun('full');
    const job = jobOf(state, 'b');
    // A decode, since the one CPU thread is busy: the step does not try to take it.
    job.readyCount.decode += 1;
    state.readyCount.decode += 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('queue counts add up');
    expect(error?.values).toMatchObject({ jobId: 'b', stage: 'decode' });
    expect((error?.values.counted as number) - (error?.values.queued as number)).toBe(1);
  });

  it("a chunk's status that disagrees with where its task is", () => {
    const { state, nowMs } = midRun('full');
    const task = taskOf(state, 'fetch');
    task.job.chunkStatus[task.index] = ChunkStatus.Fetched;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every job in exactly one state');
    expect(error?.values).toMatchObject({ jobId: task.job.claimed.jobId, chunk: task.index, place: 'inFlight' });
  });

  it('a job held and ended at once', () => {
    const { state, nowMs } = midRun('full');
    jobOf(state, 'a').ended = true;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every job in exactly one state');
    expect(error?.values).toMatchObject({ jobId: 'a', ended: true });
  });

  it("a job's held bytes that are not what its chunks, rows and parts hold", () => {
    const { state, nowMs } = midRun('full');
    const job = jobOf(state, 'a');
    job.heldBytes += 7;
    state.heldBytes += 7;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('held bytes add up');
    expect(error?.values).toMatchObject({ jobId: 'a' });
    expect((error?.values.heldBytes as number) - (error?.values.expectedBytes as number)).toBe(7);
  });

  it('growth reserved for decodes that is not what the decodes in flight reserved', () => {
    const { state, nowMs } = midRun('full');
    state.decodeOutputBytesReserved += 5;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('held bytes add up');
    expect(error?.values).toMatchObject({ decodeOutputBytesReserved: 5, inFlightOutputReservedBytes: 0 });
  });

  it('bytes in flight that are not the sum of the tasks in flight', () => {
    const { state, nowMs } = midRun('full');
    const job = taskOf(state, 'fetch').job;
    job.inFlightBytes += 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('tasks in flight equal the active tasks');
    expect(error?.values).toMatchObject({ jobId: job.claimed.jobId });
  });

  it('a CPU lane marked busy with no task on it', () => {
    const { state, nowMs } = midRun('full');
    const lane = taskOf(state, 'decode').job.cpuLane;
    // The busy count still matches the CPU tasks, so only a scan of the lanes can tell.
    state.lanePinned[lane] = (state.lanePinned[lane] ?? 0) + 1;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('CPU lanes add up');
    expect(error?.values).toMatchObject({ pinned: 2, pinnedJobs: 1 });
  });
});

describe('the one-off tasks: sizing an input, starting an upload (full checks)', () => {
  /** A worker whose job `u` came without a size: its HEAD is in flight, and fills the fetch stage. */
  function sizing(): { state: WorkerState; nowMs: number; job: JobState } {
    const limits = withLimits({ chunkBytes, stageWorkersMax: { fetch: 1 }, remoteConcurrencyFloor: 1 });
    const state = createWorkerState(limits, { invariantChecks: 'full' });
    step(state, 0, []);
    const unsized: LeasedJob = { ...claimed('u', 0), sizeBytes: null };
    const { commands } = step(state, 1, [{ kind: 'jobsClaimed', jobs: [unsized], exhausted: true }]);
    expect(commands.map((command) => command.kind)).toContain('sizeInput');
    return { state, nowMs: 2, job: jobOf(state, 'u') };
  }

  it('keeps every invariant while a HEAD is in flight', () => {
    const { state, nowMs, job } = sizing();
    expect(job.sizeStatus).toBe(StepStatus.Running);
    expect(job.chunkCount).toBe(0);
    expect(nextStepError(state, nowMs)).toBeNull();
  });

  it('a sizing task whose job says it is sized', () => {
    const { state, nowMs, job } = sizing();
    job.sizeStatus = StepStatus.Done;
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every job in exactly one state');
    expect(error?.values).toMatchObject({ jobId: 'u', step: 'sizing', place: 'inFlight' });
  });

  it('two HEADs of one job at once', () => {
    const { state, nowMs, job } = sizing();
    enqueueReady(state, job, 'fetch', SizeTaskIndex, nowMs, true);
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every task in exactly one place');
    expect(error?.values).toMatchObject({ jobId: 'u', first: 'ready', second: 'inFlight' });
  });

  it('a job not sized that has chunks', () => {
    const { state, nowMs, job } = sizing();
    job.chunkCount = 1;
    job.chunkStatus = new Uint8Array(1);
    job.chunkReserved = new Uint8Array(1);
    const error = nextStepError(state, nowMs);
    expect(error?.invariant).toBe('every job in exactly one state');
    expect(error?.values).toMatchObject({ jobId: 'u', chunkCount: 1 });
  });

  it('a part held back for a start the upload does not need', () => {
    const { state, nowMs, job } = sizing();
    step(state, nowMs, [{ kind: 'inputSized', taskId: taskOf(state, 'fetch').taskId, bytes: 0 }]);
    job.parts.push({
      status: PartStatus.Cut,
      offsetBytes: 0,
      lengthBytes: 0,
      final: true,
      attempts: { failures: 0, throttles: 0 },
    });
    const error = nextStepError(state, nowMs + 1);
    expect(error?.invariant).toBe('every job in exactly one state');
    expect(error?.values).toMatchObject({ jobId: 'u', part: 1, startStatus: StepStatus.None });
  });
});
