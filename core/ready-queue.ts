import type { JobState } from './job-state.ts';
import type { Stage } from './stage.ts';
import type { ReadyEntry, WorkerState } from './worker-state.ts';

/**
 * The ready queues: one heap per stage, with counts kept beside them so that weights are O(1).
 * Entries of a job that ended stay in the heap until they reach its top, where they are
 * discarded; the counts never include them.
 */
export function enqueueReady(state: WorkerState, job: JobState, stage: Stage, index: number, nowMs: number, reserved = false): void {
  state.ready[stage].push({ job, stage, index, readySeq: state.nextReadySeq++, reserved });
  if (state.readyCount[stage] === 0) state.waitingSinceMs[stage] = nowMs;
  state.readyCount[stage] += 1;
  job.readyCount[stage] += 1;
}

/** The task a stage would run next, or undefined. */
export function peekReady(state: WorkerState, stage: Stage): ReadyEntry | undefined {
  const heap = state.ready[stage];
  // Bounded by the heap's size: each pass removes one stale entry.
  for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
    if (!top.job.ended) return top;
    heap.pop();
  }
  return undefined;
}

export function takeReady(state: WorkerState, stage: Stage): ReadyEntry | undefined {
  const entry = peekReady(state, stage);
  if (entry === undefined) return undefined;
  state.ready[stage].pop();
  state.readyCount[stage] -= 1;
  entry.job.readyCount[stage] -= 1;
  return entry;
}

/** Puts a failed task aside until `readyAtMs`. */
export function scheduleBackoff(state: WorkerState, job: JobState, stage: Stage, index: number, readyAtMs: number): void {
  state.backoff.push({ job, stage, index, readyAtMs, seq: state.nextBackoffSeq++ });
  state.backoffCount += 1;
  job.backoffCount += 1;
}

/** Moves every task whose retry delay has passed back into its ready queue. */
export function releaseDueBackoff(state: WorkerState, nowMs: number, onDue: (job: JobState, stage: Stage, index: number) => void): void {
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
  for (const stage of Object.keys(job.readyCount) as Stage[]) {
    state.readyCount[stage] -= job.readyCount[stage];
    job.readyCount[stage] = 0;
  }
  state.backoffCount -= job.backoffCount;
  job.backoffCount = 0;
}
