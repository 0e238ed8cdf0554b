import { InvariantError, type InvariantValues } from './failure.ts';
import { CommitStep, SizeTaskIndex, StartTaskIndex } from './job-lifecycle.ts';
import { ChunkStatus, chunkRange, isSized, PartStatus, StepStatus, type JobState } from './job-state.ts';
import { perStage, remotes, stages, type PerStage, type Stage } from './stage.ts';
import { isSplitting } from './split-decode.ts';
import { cpuActive, networkActive, type WorkerState } from './worker-state.ts';

/**
 * The rules the core's state keeps between steps, checked at the end of every `step`: a rule
 * that does not hold is a bug, and the step throws an InvariantError naming it with the
 * numbers that broke it, before a wrong command can reach the world.
 *
 * Two depths. `counters` checks counters the core keeps as the state changes against each
 * other and against the limits, in O(1): cheap enough for every step in production. `full`
 * also scans every job and task and recounts what those counters summarise; tests and the
 * simulator run it. Each rule is one function, written against the rules as they stand
 * (capacity.ts, cpu-lanes.ts, job-lifecycle.ts): a change to a rule changes its function.
 */
export type InvariantChecks = 'counters' | 'full';

export const Invariant = {
  HeldBytes: 'held bytes within the memory bound',
  Caps: 'active tasks within every cap',
  InFlight: 'tasks in flight equal the active tasks',
  BusyLanes: 'busy CPU lanes equal the CPU tasks',
  JobStates: 'every job in exactly one state',
  QueueCounts: 'queue counts in range',
  RemoteLimits: 'remote limits in range',
  ReadAhead: 'read-ahead within its window',
  TaskPlaces: 'every task in exactly one place',
  QueueSums: 'queue counts add up',
  HeldBytesSums: 'held bytes add up',
  Lanes: 'CPU lanes add up',
} as const;
type InvariantName = (typeof Invariant)[keyof typeof Invariant];

function broken(invariant: InvariantName, detail: string, values: InvariantValues): never {
  throw new InvariantError(invariant, detail, values);
}

export function checkInvariants(state: WorkerState): void {
  heldBytesWithinBound(state);
  activeWithinCaps(state);
  inFlightEqualsActive(state);
  busyLanesEqualCpuTasks(state);
  everyJobCountedOnce(state);
  queueCountsInRange(state);
  remoteLimitsInRange(state);
  readAheadInRange(state);
  if (state.invariantChecks !== 'full') return;
  heldJobsHeldOnce(state);
  const census = everyTaskInOnePlace(state);
  queueCountsAddUp(state, census);
  inFlightAddsUp(state, census);
  jobStatesMatchPlaces(state, census);
  heldBytesAddUp(state, census);
  cpuLanesAddUp(state);
}

// ---- Counters against each other and the limits: O(1), every step. ----

/**
 * Held bytes are never negative. What the driver reports for rows and encoded bytes is its
 * own, so the bound the core answers for is on what it admits itself: chunks reserved by
 * fetches stay within the budget, or are one chunk alone when a stall lets one over it
 * (capacity.ts).
 */
function heldBytesWithinBound(state: WorkerState): void {
  const { heldBytes, chunkBytesReserved, decodeOutputBytesReserved } = state;
  const reservedMaxBytes = Math.max(state.limits.memoryBudgetBytes, state.limits.chunkBytes);
  if (heldBytes >= 0 && chunkBytesReserved >= 0 && chunkBytesReserved <= heldBytes && decodeOutputBytesReserved >= 0) {
    if (chunkBytesReserved <= reservedMaxBytes) return;
  }
  broken(
    Invariant.HeldBytes,
    'held bytes or decode reservations negative, or chunks reserved beyond them or the budget',
    {
      heldBytes,
      chunkBytesReserved,
      decodeOutputBytesReserved,
      reservedMaxBytes,
    },
  );
}

/** Each stage within its `MaxWorkers`, the CPU and network pools within theirs, jobs within `jobsActiveMax`. */
function activeWithinCaps(state: WorkerState): void {
  const limits = state.limits;
  for (const stage of stages) {
    const active = state.active[stage];
    const cap = limits.stageWorkersMax[stage];
    if (active < 0 || active > cap)
      broken(Invariant.Caps, `${stage} tasks beyond their MaxWorkers`, { stage, active, cap });
  }
  const cpu = cpuActive(state);
  if (cpu > limits.cpuSlotsMax)
    broken(Invariant.Caps, 'CPU tasks beyond the CPU threads', { pool: 'cpu', active: cpu, cap: limits.cpuSlotsMax });
  const network = networkActive(state);
  if (network > limits.networkStreamsMax) {
    const values = { pool: 'network', active: network, cap: limits.networkStreamsMax };
    broken(Invariant.Caps, 'network streams beyond their cap', values);
  }
  if (state.jobs.size > limits.jobsActiveMax) {
    const values = { pool: 'jobs', active: state.jobs.size, cap: limits.jobsActiveMax };
    broken(Invariant.Caps, 'more jobs held than jobsActiveMax', values);
  }
}

function inFlightEqualsActive(state: WorkerState): void {
  const active = state.active;
  const sum = active.fetch + active.decode + active.encode + active.upload + active.commit;
  if (state.inFlight.size !== sum)
    broken(Invariant.InFlight, 'tasks in flight are not the sum of the active tasks', {
      inFlight: state.inFlight.size,
      active: sum,
    });
}

/** A CPU task runs on a lane of its own (cpu-lanes.ts). */
function busyLanesEqualCpuTasks(state: WorkerState): void {
  const cpu = cpuActive(state);
  if (state.busyLaneCount !== cpu)
    broken(Invariant.BusyLanes, 'busy lanes are not the CPU tasks running', {
      busyLaneCount: state.busyLaneCount,
      cpuActive: cpu,
    });
}

/** Every job claimed is held, or ended once with one outcome. */
function everyJobCountedOnce(state: WorkerState): void {
  const { jobsClaimed, jobsCommitted, jobsFailed, jobsReleased, jobsLost } = state.counters;
  const held = state.jobs.size;
  if (jobsClaimed === held + jobsCommitted + jobsFailed + jobsReleased + jobsLost) return;
  broken(Invariant.JobStates, 'jobs claimed are not those held plus those ended', {
    jobsClaimed,
    held,
    committed: jobsCommitted,
    failed: jobsFailed,
    released: jobsReleased,
    lost: jobsLost,
  });
}

/** Counts of queued tasks are never negative; the backoff heap holds at least the entries counted. */
function queueCountsInRange(state: WorkerState): void {
  for (const stage of stages) {
    const readyCount = state.readyCount[stage];
    if (readyCount < 0) broken(Invariant.QueueCounts, `${stage} ready count negative`, { stage, readyCount });
  }
  const backoffCount = state.backoffCount;
  if (backoffCount < 0 || backoffCount > state.backoff.size)
    broken(Invariant.QueueCounts, 'backoff count outside the heap', {
      backoffCount,
      backoffEntries: state.backoff.size,
    });
}

function remoteLimitsInRange(state: WorkerState): void {
  for (const remote of remotes) {
    const { limit, floor, ceiling } = state.remotes[remote];
    if (!(limit >= floor && limit <= ceiling))
      broken(Invariant.RemoteLimits, `${remote} limit outside its range`, { remote, limit, floor, ceiling });
  }
}

/** The read-ahead stays between one chunk and the budget's window (read-ahead.ts). */
function readAheadInRange(state: WorkerState): void {
  const { chunks } = state.readAhead;
  const windowMax = state.fetchWindowChunks;
  if (!(Number.isInteger(chunks) && chunks >= 1 && chunks <= windowMax))
    broken(Invariant.ReadAhead, 'read-ahead outside [1, fetchWindowChunks]', { chunks, windowMax });
}

// ---- Full scans: every job and task, recounted. Tests and the simulator. ----

/** Jobs held are keyed by their id and not ended; a job ended is no longer held. */
function heldJobsHeldOnce(state: WorkerState): void {
  for (const [key, job] of state.jobs) {
    const jobId = job.claimed.jobId;
    if (key !== jobId || job.ended)
      broken(Invariant.JobStates, `job ${jobId} is held under ${key}, ended ${job.ended}`, {
        jobId,
        key,
        ended: job.ended,
      });
  }
}

type Place = 'ready' | 'backoff' | 'inFlight';

interface TaskPlace {
  readonly place: Place;
  readonly index: number;
}

/** What the queues and the tasks in flight hold of one job. */
interface JobCensus {
  /** Where each fetch and upload is, by chunk index and part number. */
  readonly fetches: (Place | undefined)[];
  readonly uploads: (Place | undefined)[];
  /** A job sizes its input and starts its upload once, one task at a time. */
  sizing: TaskPlace | undefined;
  start: TaskPlace | undefined;
  /** A job runs one decode, one encode and one commit step at a time. */
  decode: TaskPlace | undefined;
  encode: TaskPlace | undefined;
  commit: TaskPlace | undefined;
  /** Its tasks found, in every place. */
  tasks: number;
  readonly queued: PerStage<number>;
  backedOff: number;
  inFlightBytes: number;
  /** Row bytes taken by its encode in flight. */
  encodingBytes: number;
  /** Detached decodes (split-decode.ts) by chunk: a split job may run several at once. */
  readonly detached: Place[];
}

interface Census {
  readonly jobs: Map<JobState, JobCensus>;
  readonly inFlight: PerStage<number>;
  /** Growth reserved by the decodes in flight (capacity.ts). */
  outputReservedBytes: number;
}

function censusOf(census: Census, job: JobState): JobCensus {
  let entry = census.jobs.get(job);
  if (entry === undefined) {
    entry = {
      fetches: [],
      uploads: [],
      sizing: undefined,
      start: undefined,
      decode: undefined,
      encode: undefined,
      commit: undefined,
      tasks: 0,
      queued: { fetch: 0, decode: 0, encode: 0, upload: 0, commit: 0 },
      backedOff: 0,
      inFlightBytes: 0,
      encodingBytes: 0,
      detached: [],
    };
    census.jobs.set(job, entry);
  }
  return entry;
}

/** Records where a task of a held job is; returns the place it was found in before, if any. */
function recordPlace(
  entry: JobCensus,
  stage: Stage,
  index: number,
  where: Place,
  detached: boolean,
): Place | undefined {
  entry.tasks += 1;
  if (detached) {
    const earlier = entry.detached[index];
    entry.detached[index] = where;
    return earlier;
  }
  const oneOff =
    stage === 'fetch' && index === SizeTaskIndex
      ? 'sizing'
      : stage === 'upload' && index === StartTaskIndex
        ? 'start'
        : null;
  if (oneOff !== null) {
    const earlier = entry[oneOff]?.place;
    entry[oneOff] = { place: where, index };
    return earlier;
  }
  if (stage === 'fetch' || stage === 'upload') {
    const byIndex = stage === 'fetch' ? entry.fetches : entry.uploads;
    const earlier = byIndex[index];
    byIndex[index] = where;
    return earlier;
  }
  const earlier = entry[stage]?.place;
  entry[stage] = { place: where, index };
  return earlier;
}

/**
 * Each task of a held job is in one place only: queued, backing off, or in flight. Entries of
 * ended jobs are discarded lazily (ready-queue.ts) and do not count; their tasks in flight
 * count only for the bytes they hold.
 */
function everyTaskInOnePlace(state: WorkerState): Census {
  const census: Census = { jobs: new Map(), inFlight: perStage(() => 0), outputReservedBytes: 0 };
  const place = (job: JobState, stage: Stage, index: number, where: Place, detached = false): JobCensus => {
    const entry = censusOf(census, job);
    if (job.ended) return entry;
    const earlier = recordPlace(entry, stage, index, where, detached);
    if (earlier !== undefined) {
      const jobId = job.claimed.jobId;
      const task = stage === 'fetch' || stage === 'upload' ? `${stage} ${index}` : stage;
      broken(Invariant.TaskPlaces, `${task} of ${jobId} is ${earlier} and ${where}`, {
        jobId,
        task,
        first: earlier,
        second: where,
      });
    }
    return entry;
  };
  for (const stage of stages) {
    for (const heap of state.ready[stage]) {
      for (const queued of heap.toArray()) {
        // A detached decode of a job that fell back is void, discarded when it reaches the top.
        const live = !queued.job.ended && !(queued.detached && !isSplitting(queued.job));
        if (live) place(queued.job, stage, queued.index, 'ready', queued.detached).queued[stage] += 1;
      }
    }
  }
  for (const waiting of state.backoff.toArray()) {
    if (!waiting.job.ended) place(waiting.job, waiting.stage, waiting.index, 'backoff').backedOff += 1;
  }
  for (const task of state.inFlight.values()) {
    const entry = place(task.job, task.stage, task.index, 'inFlight', task.detached);
    census.inFlight[task.stage] += 1;
    entry.inFlightBytes += task.bytes;
    census.outputReservedBytes += task.outputReservedBytes;
    if (task.stage === 'encode') entry.encodingBytes += task.bytes;
  }
  for (const job of census.jobs.keys()) {
    const jobId = job.claimed.jobId;
    if (!job.ended && state.jobs.get(jobId) !== job)
      broken(Invariant.JobStates, `${jobId} has tasks but is neither held nor ended`, { jobId });
  }
  return census;
}

/** The ready and backoff counts of each job, and the global ones, are what the queues hold. */
function queueCountsAddUp(state: WorkerState, census: Census): void {
  const readySum = perStage(() => 0);
  let backoffSum = 0;
  for (const job of state.jobs.values()) {
    const counted = census.jobs.get(job);
    const queued = counted?.queued ?? noneQueued;
    if (!sameCounts(job.readyCount, queued))
      countsBroken(job.claimed.jobId, { jobId: job.claimed.jobId }, job.readyCount, queued);
    addCounts(readySum, queued);
    const backedOff = counted?.backedOff ?? 0;
    if (job.backoffCount !== backedOff)
      broken(Invariant.QueueSums, `${job.claimed.jobId} counts backoffs the heap does not hold`, {
        jobId: job.claimed.jobId,
        counted: job.backoffCount,
        backedOff,
      });
    backoffSum += backedOff;
  }
  if (!sameCounts(state.readyCount, readySum))
    countsBroken("the worker's sum of the jobs'", {}, state.readyCount, readySum);
  if (state.backoffCount !== backoffSum)
    broken(Invariant.QueueSums, "the backoff count is not the sum of the jobs'", {
      counted: state.backoffCount,
      backedOff: backoffSum,
    });
}

const noneQueued: PerStage<number> = perStage(() => 0);

/** Stage by stage, spelled out: this runs for every job at every step of a simulation. */
function sameCounts(a: PerStage<number>, b: PerStage<number>): boolean {
  return (
    a.fetch === b.fetch &&
    a.decode === b.decode &&
    a.encode === b.encode &&
    a.upload === b.upload &&
    a.commit === b.commit
  );
}

function addCounts(sum: PerStage<number>, add: PerStage<number>): void {
  sum.fetch += add.fetch;
  sum.decode += add.decode;
  sum.encode += add.encode;
  sum.upload += add.upload;
  sum.commit += add.commit;
}

function countsBroken(whose: string, who: InvariantValues, counted: PerStage<number>, queued: PerStage<number>): never {
  const stage = stages.find((candidate) => counted[candidate] !== queued[candidate]) ?? 'fetch';
  broken(Invariant.QueueSums, `${whose}: ${stage} counted, not queued`, {
    ...who,
    stage,
    counted: counted[stage],
    queued: queued[stage],
  });
}

/** Active counts are the tasks in flight by stage; a job's bytes in flight are its tasks' bytes. */
function inFlightAddsUp(state: WorkerState, census: Census): void {
  for (const stage of stages) {
    if (state.active[stage] !== census.inFlight[stage])
      broken(Invariant.InFlight, `${stage} active count is not its tasks in flight`, {
        stage,
        active: state.active[stage],
        inFlight: census.inFlight[stage],
      });
  }
  const check = (job: JobState, inFlightBytes: number): void => {
    if (job.inFlightBytes !== inFlightBytes)
      broken(Invariant.InFlight, `bytes in flight of ${job.claimed.jobId} are not its tasks'`, {
        jobId: job.claimed.jobId,
        counted: job.inFlightBytes,
        inFlightBytes,
      });
  };
  for (const job of state.jobs.values()) check(job, census.jobs.get(job)?.inFlightBytes ?? 0);
  for (const [job, counted] of census.jobs) if (job.ended) check(job, counted.inFlightBytes);
}

const fetchPlaceOf: Readonly<Record<number, Place | undefined>> = {
  [ChunkStatus.Ready]: 'ready',
  [ChunkStatus.Backoff]: 'backoff',
  [ChunkStatus.Fetching]: 'inFlight',
};

/** Where the task of a one-off step (sizing, upload start) is for each status; none when None or Done. */
const oneOffPlaceOf: Readonly<Record<number, Place | undefined>> = {
  [StepStatus.Ready]: 'ready',
  [StepStatus.Backoff]: 'backoff',
  [StepStatus.Running]: 'inFlight',
};

const uploadPlaceOf: Readonly<Record<number, Place | undefined>> = {
  [PartStatus.Ready]: 'ready',
  [PartStatus.Backoff]: 'backoff',
  [PartStatus.Uploading]: 'inFlight',
};

/** Chunks fetched at least once hold their reservation until decoded (capacity.ts). */
const reservedChunk: Readonly<Record<number, boolean>> = {
  [ChunkStatus.Backoff]: true,
  [ChunkStatus.Fetching]: true,
  [ChunkStatus.Fetched]: true,
  [ChunkStatus.Decoding]: true,
  [ChunkStatus.Unqueued]: false,
  [ChunkStatus.Decoded]: false,
};

/**
 * What a held job says of each chunk, part, encode and commit step is where its task is:
 * a chunk Ready is queued, Backoff waits in the backoff heap, Fetching is in flight, and so
 * on; a job has no task its state does not account for.
 */
function jobStatesMatchPlaces(state: WorkerState, census: Census): void {
  for (const job of state.jobs.values()) {
    const found = census.jobs.get(job);
    const accounted =
      oneOffStepsMatchPlaces(job, found) +
      (isSplitting(job) ? splitChunksMatchPlaces(job, found) : chunksMatchPlaces(job, found)) +
      voidDecodesInFlight(job, found) +
      partsMatchPlaces(job, found) +
      stepsMatchPlaces(job, found);
    const tasks = found?.tasks ?? 0;
    if (tasks !== accounted)
      broken(Invariant.JobStates, `${job.claimed.jobId} has tasks its state does not account for`, {
        jobId: job.claimed.jobId,
        tasks,
        accounted,
      });
  }
}

function stateBroken(job: JobState, detail: string, values: InvariantValues): never {
  broken(Invariant.JobStates, `${job.claimed.jobId}: ${detail}`, { jobId: job.claimed.jobId, ...values });
}

/**
 * Sizing and the upload's start are each one task at most, where their status says. A job not
 * sized yet has no chunk and no part: nothing of it may be fetched before its size is known.
 * Parts wait (`Cut`) only while the upload's start is still to come, and none is uploaded
 * before it when it is needed. Returns how many tasks the two steps account for.
 */
function oneOffStepsMatchPlaces(job: JobState, found: JobCensus | undefined): number {
  let tasks = 0;
  for (const [name, status, task] of [
    ['sizing', job.sizeStatus, found?.sizing],
    ['start', job.startStatus, found?.start],
  ] as const) {
    const place = task?.place ?? 'none';
    const expected = oneOffPlaceOf[status] ?? 'none';
    if (place !== expected) stateBroken(job, `${name} is ${status}, its task ${place}`, { step: name, status, place });
    if (expected !== 'none') tasks += 1;
  }
  if (!isSized(job) && (job.chunkCount !== 0 || job.parts.length !== 0 || job.nextChunkToQueue !== 0))
    stateBroken(job, 'not sized, yet it has chunks or parts', {
      sizeStatus: job.sizeStatus,
      chunkCount: job.chunkCount,
      parts: job.parts.length,
    });
  const started = job.startStatus === StepStatus.None || job.startStatus === StepStatus.Done;
  for (const [at, part] of job.parts.entries()) {
    if ((part.status === PartStatus.Cut) === started)
      stateBroken(job, `part ${at + 1} is ${part.status} with the upload's start ${job.startStatus}`, {
        part: at + 1,
        status: part.status,
        startStatus: job.startStatus,
      });
  }
  return tasks;
}

/**
 * Chunks below `nextChunkToDecode` are decoded, chunks from `nextChunkToQueue` on are not
 * queued yet, and neither holds a reservation; those between are where their status says.
 * Returns how many tasks the chunks account for.
 */
function chunksMatchPlaces(job: JobState, found: JobCensus | undefined): number {
  const { nextChunkToDecode, nextChunkToQueue, chunkCount } = job;
  const window = { nextChunkToDecode, nextChunkToQueue, chunkCount };
  if (!(nextChunkToDecode >= 0 && nextChunkToDecode <= nextChunkToQueue && nextChunkToQueue <= chunkCount))
    stateBroken(job, 'its fetch window is out of order', window);
  for (let chunk = 0; chunk < chunkCount; chunk++) {
    if (chunk === nextChunkToDecode) chunk = nextChunkToQueue;
    if (chunk >= chunkCount) break;
    const status = job.chunkStatus[chunk];
    const outside = chunk < nextChunkToDecode ? ChunkStatus.Decoded : ChunkStatus.Unqueued;
    if (status !== outside || job.chunkReserved[chunk] !== 0)
      stateBroken(job, `chunk ${chunk} outside the window is ${status}`, { chunk, status: status ?? -1, ...window });
  }
  let tasks = 0;
  for (let chunk = nextChunkToDecode; chunk < nextChunkToQueue; chunk++) {
    const status = job.chunkStatus[chunk] ?? -1;
    const place = found?.fetches[chunk] ?? 'none';
    const expected = fetchPlaceOf[status] ?? 'none';
    if (place !== expected)
      stateBroken(job, `chunk ${chunk} is ${status}, its fetch ${place}`, { chunk, status, place });
    if (expected !== 'none') tasks += 1;
    const reserved = job.chunkReserved[chunk] === 1;
    const mustBe = reservedChunk[status];
    if (mustBe !== undefined && reserved !== mustBe)
      stateBroken(job, `chunk ${chunk} is ${status}, reserved ${reserved}`, { chunk, status, reserved });
    const decodingElsewhere = status === ChunkStatus.Decoding && chunk !== nextChunkToDecode;
    if (status === ChunkStatus.Decoded || status === ChunkStatus.Unqueued || decodingElsewhere)
      stateBroken(job, `chunk ${chunk} in the window is ${status}`, { chunk, status, ...window });
  }
  const decode = found?.decode;
  const decoding = job.chunkStatus[nextChunkToDecode] === ChunkStatus.Decoding;
  const decodeOk = decode === undefined ? !decoding : decoding && decode.place !== 'backoff';
  if (!decodeOk || (decode !== undefined && decode.index !== nextChunkToDecode))
    stateBroken(job, `decode ${decode?.place ?? 'none'} of chunk ${decode?.index ?? -1}`, {
      place: decode?.place ?? 'none',
      decoding,
      nextChunkToDecode,
    });
  return tasks + (decode === undefined ? 0 : 1);
}

/**
 * The chunks of a split job (split-decode.ts): below `accepted` decoded, in the window fetched
 * or on their way, and a detached decode ready or in flight exactly for the chunks whose
 * decode status says queued. Returns how many tasks they account for.
 */
function splitChunksMatchPlaces(job: JobState, found: JobCensus | undefined): number {
  const split = job.split;
  if (split === null) return 0;
  let tasks = 0;
  for (let chunk = 0; chunk < job.chunkCount; chunk++) {
    const status = job.chunkStatus[chunk] ?? -1;
    const inWindow = chunk >= split.accepted && chunk < job.nextChunkToQueue;
    const expectedStatus = chunk < split.accepted ? ChunkStatus.Decoded : inWindow ? status : ChunkStatus.Unqueued;
    const decodingInWindow = inWindow && (status === ChunkStatus.Decoding || status === ChunkStatus.Decoded);
    if (status !== expectedStatus || decodingInWindow || (status === ChunkStatus.Unqueued && inWindow))
      stateBroken(job, `chunk ${chunk} of a split job is ${status}`, { chunk, status, accepted: split.accepted });
    const fetchPlace = found?.fetches[chunk] ?? 'none';
    const expectedFetch = inWindow ? (fetchPlaceOf[status] ?? 'none') : 'none';
    if (fetchPlace !== expectedFetch)
      stateBroken(job, `chunk ${chunk} is ${status}, its fetch ${fetchPlace}`, { chunk, status, place: fetchPlace });
    if (expectedFetch !== 'none') tasks += 1;
    const decodePlace = found?.detached[chunk] ?? 'none';
    const queued = split.decodeStatus[chunk] === 1;
    if ((decodePlace !== 'none') !== queued || decodePlace === 'backoff')
      stateBroken(job, `chunk ${chunk}'s detached decode is ${decodePlace}`, { chunk, place: decodePlace });
    if (queued) tasks += 1;
  }
  if (found?.decode !== undefined) stateBroken(job, 'a split job has a decode in order', { index: found.decode.index });
  return tasks;
}

/** Detached decodes of a job that fell back: only in flight, where their answers are void. */
function voidDecodesInFlight(job: JobState, found: JobCensus | undefined): number {
  if (isSplitting(job) || found === undefined) return 0;
  let tasks = 0;
  found.detached.forEach((place, chunk) => {
    if (place !== 'inFlight') stateBroken(job, `void detached decode of chunk ${chunk} is ${place}`, { chunk, place });
    tasks += 1;
  });
  return tasks;
}

function partsMatchPlaces(job: JobState, found: JobCensus | undefined): number {
  let tasks = 0;
  let uploaded = 0;
  job.parts.forEach((part, at) => {
    const partNumber = at + 1;
    const place = found?.uploads[partNumber] ?? 'none';
    const expected = uploadPlaceOf[part.status] ?? 'none';
    if (place !== expected)
      stateBroken(job, `part ${partNumber} is ${part.status}, its upload ${place}`, {
        part: partNumber,
        status: part.status,
        place,
      });
    if (expected !== 'none') tasks += 1;
    if (part.status === PartStatus.Uploaded) uploaded += 1;
  });
  if (uploaded !== job.partsUploaded)
    stateBroken(job, 'parts uploaded miscounted', { partsUploaded: job.partsUploaded, uploaded });
  return tasks;
}

/** The encode (one at a time, in row-group order) and the commit's two steps. */
function stepsMatchPlaces(job: JobState, found: JobCensus | undefined): number {
  const encode = found?.encode;
  const encodeOk = encode === undefined ? !job.encodeBusy : job.encodeBusy && encode.place !== 'backoff';
  if (!encodeOk || (encode !== undefined && encode.index !== job.nextRowGroup))
    stateBroken(job, `encode ${encode?.place ?? 'none'}, busy ${job.encodeBusy}`, {
      place: encode?.place ?? 'none',
      encodeBusy: job.encodeBusy,
      nextRowGroup: job.nextRowGroup,
    });
  const commit = found?.commit;
  const place = commit?.place ?? 'none';
  const expectedStep = job.objectCompleted ? CommitStep.Ledger : CommitStep.Object;
  const consistent = job.commitRunning
    ? job.commitQueued && place === 'inFlight'
    : job.commitQueued
      ? place === 'ready' || place === 'backoff'
      : place === 'none';
  if (!consistent || (commit !== undefined && commit.index !== expectedStep))
    stateBroken(job, `commit ${place}, queued ${job.commitQueued}, running ${job.commitRunning}`, {
      place,
      commitQueued: job.commitQueued,
      commitRunning: job.commitRunning,
      step: commit?.index ?? -1,
      objectCompleted: job.objectCompleted,
    });
  return (encode === undefined ? 0 : 1) + (commit === undefined ? 0 : 1);
}

/**
 * A held job holds its reserved chunks, its gathering rows, the rows its encode took, and its
 * encoded bytes not yet uploaded (job-lifecycle.ts, task-answers.ts); an ended job holds only
 * what its tasks in flight hold. The worker holds the sum.
 */
function heldBytesAddUp(state: WorkerState, census: Census): void {
  let heldSum = 0;
  let reservedSum = 0;
  for (const job of state.jobs.values()) {
    let reservedBytes = 0;
    // Chunks outside the fetch window hold no reservation (jobStatesMatchPlaces checks each).
    for (let chunk = job.nextChunkToDecode; chunk < job.nextChunkToQueue; chunk++) {
      if (job.chunkReserved[chunk] === 1) reservedBytes += chunkRange(job, state.limits.chunkBytes, chunk).lengthBytes;
    }
    let uploadedBytes = 0;
    for (const part of job.parts) if (part.status === PartStatus.Uploaded) uploadedBytes += part.lengthBytes;
    const encodingBytes = census.jobs.get(job)?.encodingBytes ?? 0;
    let waitingBytes = 0;
    for (const answer of job.split?.answers.values() ?? []) waitingBytes += answer.encodedBytes;
    const expectedBytes =
      reservedBytes + job.rowBytesBuffered + encodingBytes + job.encodedBytes + waitingBytes - uploadedBytes;
    const jobId = job.claimed.jobId;
    if (job.chunkBytesReserved !== reservedBytes || job.heldBytes !== expectedBytes)
      broken(Invariant.HeldBytesSums, `${jobId} holds bytes its chunks, rows and parts do not`, {
        jobId,
        heldBytes: job.heldBytes,
        expectedBytes,
        chunkBytesReserved: job.chunkBytesReserved,
        reservedBytes,
        rowBytesBuffered: job.rowBytesBuffered,
        encodingBytes,
        encodedBytes: job.encodedBytes,
        uploadedBytes,
      });
    heldSum += job.heldBytes;
    reservedSum += reservedBytes;
  }
  for (const [job, counted] of census.jobs) {
    if (!job.ended) continue;
    if (job.heldBytes !== counted.inFlightBytes)
      broken(Invariant.HeldBytesSums, `ended ${job.claimed.jobId} holds more than its tasks in flight`, {
        jobId: job.claimed.jobId,
        heldBytes: job.heldBytes,
        inFlightBytes: counted.inFlightBytes,
      });
    heldSum += job.heldBytes;
  }
  if (state.decodeOutputBytesReserved !== census.outputReservedBytes)
    broken(Invariant.HeldBytesSums, 'the growth reserved for decodes is not what the decodes in flight reserved', {
      decodeOutputBytesReserved: state.decodeOutputBytesReserved,
      inFlightOutputReservedBytes: census.outputReservedBytes,
    });
  if (state.heldBytes !== heldSum || state.chunkBytesReserved !== reservedSum)
    broken(Invariant.HeldBytesSums, "the worker's held bytes are not the sum of its jobs'", {
      heldBytes: state.heldBytes,
      jobsHeldBytes: heldSum,
      chunkBytesReserved: state.chunkBytesReserved,
      jobsReservedBytes: reservedSum,
    });
}

const cpuStages = ['decode', 'encode'] as const;

/**
 * The lane rules of cpu-lanes.ts: a CPU task runs on its job's lane, one task a lane; a lane's
 * pinned count is the held jobs pinned to it; a lane's ready heap holds only jobs pinned there.
 */
function cpuLanesAddUp(state: WorkerState): void {
  const lanes = state.laneBusy.length;
  let busyLanes = 0;
  for (const busy of state.laneBusy) if (busy) busyLanes += 1;
  if (busyLanes !== state.busyLaneCount)
    broken(Invariant.Lanes, 'lanes marked busy are not the busy count', {
      busyLanes,
      busyLaneCount: state.busyLaneCount,
    });
  const running = new Set<number>();
  for (const task of state.inFlight.values()) {
    if (task.stage !== 'decode' && task.stage !== 'encode') continue;
    const lane = task.cpuLane;
    const offItsJobsLane = !task.detached && lane !== task.job.cpuLane;
    if (lane < 0 || lane >= lanes || !state.laneBusy[lane] || running.has(lane) || offItsJobsLane)
      broken(Invariant.Lanes, `task ${task.taskId} runs on lane ${lane}, idle or shared`, {
        taskId: task.taskId,
        lane,
        busy: state.laneBusy[lane] ?? false,
      });
    running.add(lane);
  }
  const pinnedJobs = Array.from({ length: lanes }, () => 0);
  for (const job of state.jobs.values()) {
    if (job.cpuLane >= lanes)
      broken(Invariant.Lanes, `${job.claimed.jobId} pinned to a lane that does not exist`, {
        lane: job.cpuLane,
        lanes,
      });
    if (job.cpuLane >= 0) pinnedJobs[job.cpuLane] = (pinnedJobs[job.cpuLane] ?? 0) + 1;
  }
  pinnedJobs.forEach((count, lane) => {
    if (state.lanePinned[lane] !== count)
      broken(Invariant.Lanes, `lane ${lane} counts jobs not pinned to it`, {
        lane,
        pinned: state.lanePinned[lane] ?? -1,
        pinnedJobs: count,
      });
  });
  for (const stage of cpuStages) {
    const heaps = state.ready[stage];
    for (let lane = 0; lane < lanes; lane++) {
      for (const queued of heaps[lane]?.toArray() ?? []) {
        if (!queued.job.ended && queued.job.cpuLane !== lane)
          broken(Invariant.Lanes, `${queued.job.claimed.jobId} queued on lane ${lane}, pinned to another`, {
            stage,
            lane,
            pinnedLane: queued.job.cpuLane,
          });
      }
    }
  }
}
