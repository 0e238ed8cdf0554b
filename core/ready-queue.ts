import type { BinaryHeap } from './binary-heap.ts';
import { at } from './checked-access.ts';
import type { JobState } from './job-state.ts';
import { isSplitting } from './split-decode.ts';
import { type Stage, stages } from './stage.ts';
import type { ReadyEntry, WorkerState } from './worker-state.ts';

/**
 * The ready queues, with counts kept beside them so that weights are O(1). Decode and encode
 * wait for their job's CPU lane (cpu-lanes.ts), so they queue per lane, with a last heap for
 * jobs not pinned yet: the task a CPU stage runs next is the best of the heads of that heap
 * and of the idle lanes' heaps, O(lanes) whatever the queues hold. Entries of a job that
 * ended stay in a heap until they reach its top, where they are discarded; the counts never
 * include them. Detached decodes of a job that fell back to decoding in order (split-decode.ts)
 * leave the counts when it falls back, and their entries are discarded the same way.
 */
export function enqueueReady(
  state: WorkerState,
  job: JobState,
  stage: Stage,
  index: number,
  nowMs: number,
  reserved = false,
  detached = false,
): void {
  heapOf(state, stage, job).push({ job, stage, index, readySeq: state.nextReadySeq++, reserved, detached });
  if (state.readyCount[stage] === 0) state.waitingSinceMs[stage] = nowMs;
  state.readyCount[stage] += 1;
  job.readyCount[stage] += 1;
}

function heapOf(state: WorkerState, stage: Stage, job: JobState): BinaryHeap<ReadyEntry> {
  const heaps = state.ready[stage];
  const index = heaps.length === 1 ? 0 : job.cpuLane < 0 ? heaps.length - 1 : job.cpuLane;
  return at(heaps, index);
}

/** The heap's top once entries of ended jobs, and detached decodes of jobs that fell back, are dropped. */
function liveTop(heap: BinaryHeap<ReadyEntry>): ReadyEntry | undefined {
  // Bounded by the heap's size: each pass removes one stale entry.
  for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
    if (!top.job.ended && !(top.detached && !isSplitting(top.job))) return top;
    heap.pop();
  }
  return undefined;
}

/** The top of the heap of jobs not pinned yet, moving entries of jobs pinned since to their lane's heap. */
function unpinnedTop(heaps: readonly BinaryHeap<ReadyEntry>[]): ReadyEntry | undefined {
  const unpinned = at(heaps, heaps.length - 1);
  // Bounded by the heap's size: each pass removes one entry.
  for (let top = liveTop(unpinned); top !== undefined; top = liveTop(unpinned)) {
    if (top.job.cpuLane < 0) return top;
    unpinned.pop();
    at(heaps, top.job.cpuLane).push(top);
  }
  return undefined;
}

/** The heap holding the task a stage would run next: for decode and encode, one whose lane is idle. */
function nextHeap(state: WorkerState, stage: Stage): BinaryHeap<ReadyEntry> | undefined {
  const heaps = state.ready[stage];
  if (heaps.length === 1) {
    const only = at(heaps, 0);
    return liveTop(only) === undefined ? undefined : only;
  }
  let bestTop = unpinnedTop(heaps);
  let best = bestTop === undefined ? undefined : at(heaps, heaps.length - 1);
  for (let lane = 0; lane < heaps.length - 1; lane++) {
    if (state.laneBusy[lane]) continue;
    const heap = at(heaps, lane);
    const top = liveTop(heap);
    if (top === undefined) continue;
    if (bestTop === undefined || heap.before(top, bestTop)) {
      best = heap;
      bestTop = top;
    }
  }
  return best;
}

/** The task a stage would run next, or undefined. */
export function peekReady(state: WorkerState, stage: Stage): ReadyEntry | undefined {
  return nextHeap(state, stage)?.peek();
}

export function takeReady(state: WorkerState, stage: Stage): ReadyEntry | undefined {
  const entry = nextHeap(state, stage)?.pop();
  if (entry === undefined) return undefined;
  state.readyCount[stage] -= 1;
  entry.job.readyCount[stage] -= 1;
  return entry;
}

/** Every entry queued for a stage, in no order (tests inspect the queues with it). */
export function queuedEntries(state: WorkerState, stage: Stage): ReadyEntry[] {
  return state.ready[stage].flatMap((heap) => heap.toArray());
}

/** Puts a failed task aside until `readyAtMs`. */
export function scheduleBackoff(
  state: WorkerState,
  job: JobState,
  stage: Stage,
  index: number,
  readyAtMs: number,
): void {
  state.backoff.push({ job, stage, index, readyAtMs, seq: state.nextBackoffSeq++ });
  state.backoffCount += 1;
  job.backoffCount += 1;
}

/** Moves every task whose retry delay has passed back into its ready queue. */
export function releaseDueBackoff(
  state: WorkerState,
  nowMs: number,
  onDue: (job: JobState, stage: Stage, index: number) => void,
): void {
  // Bounded by the heap's size: each pass removes one entry.
  for (let top = state.backoff.peek(); top !== undefined && top.readyAtMs <= nowMs; top = state.backoff.peek()) {
    state.backoff.pop();
    if (top.job.ended) continue;
    state.backoffCount -= 1;
    top.job.backoffCount -= 1;
    onDue(top.job, top.stage, top.index);
  }
}

/** Earliest retry time of a job still held, or Infinity. */
export function nextBackoffAtMs(state: WorkerState): number {
  for (let top = state.backoff.peek(); top !== undefined; top = state.backoff.peek()) {
    if (!top.job.ended) return top.readyAtMs;
    state.backoff.pop();
  }
  return Infinity;
}

/** Removes a job's entries from the counts; its heap entries are discarded lazily. */
export function forgetQueuedWork(state: WorkerState, job: JobState): void {
  for (const stage of stages) {
    state.readyCount[stage] -= job.readyCount[stage];
    job.readyCount[stage] = 0;
  }
  state.backoffCount -= job.backoffCount;
  job.backoffCount = 0;
}
