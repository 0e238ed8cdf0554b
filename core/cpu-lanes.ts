import { at } from './checked-access.ts';
import { assert } from './failure.ts';
import type { JobState } from './job-state.ts';
import type { WorkerState } from './worker-state.ts';

/**
 * CPU lanes: one per CPU thread. A job's decoder (a record may straddle chunks), its gathered
 * rows and its encoder are state that cannot move between threads, so a job is pinned to one
 * lane from its first CPU task until it ends, and a lane runs one task at a time. A detached
 * decode (split-decode.ts) carries its state with it, so it takes any idle lane. The core
 * dispatches a CPU task only to an idle lane: were lanes left to the driver, two tasks of jobs
 * pinned to one thread would queue there while another thread idled (measured: 7 of 24 CPU
 * tasks of a two-thread run waited so). CPU tasks queue per lane (ready-queue.ts), so the
 * next one whose lane is idle is found in O(lanes).
 */

/** Occupies the job's lane, pinning the job first to the idle lane holding the fewest jobs. */
export function occupyLane(state: WorkerState, job: JobState): number {
  if (job.cpuLane < 0) {
    const chosen = leastPinnedIdleLane(state);
    assert(chosen >= 0, `no idle CPU lane for ${job.claimed.jobId}`);
    job.cpuLane = chosen;
    state.lanePinned[chosen] = at(state.lanePinned, chosen) + 1;
  }
  markBusy(state, job.cpuLane);
  return job.cpuLane;
}

/**
 * Occupies an idle lane for a task that carries its own state (a detached decode,
 * split-decode.ts), without pinning its job: the idle lane holding the fewest jobs, so that
 * lanes with pinned jobs stay free for them.
 */
export function occupyIdleLane(state: WorkerState, jobId: string): number {
  const chosen = leastPinnedIdleLane(state);
  assert(chosen >= 0, `no idle CPU lane for a detached decode of ${jobId}`);
  markBusy(state, chosen);
  return chosen;
}

function leastPinnedIdleLane(state: WorkerState): number {
  let chosen = -1;
  for (let lane = 0; lane < state.laneBusy.length; lane++) {
    if (state.laneBusy[lane]) continue;
    if (chosen < 0 || at(state.lanePinned, lane) < at(state.lanePinned, chosen)) chosen = lane;
  }
  return chosen;
}

function markBusy(state: WorkerState, lane: number): void {
  assert(!state.laneBusy[lane], `CPU lane ${lane} is busy`);
  state.laneBusy[lane] = true;
  state.busyLaneCount += 1;
}

/** A CPU task answered: its lane is idle again. */
export function freeLane(state: WorkerState, lane: number): void {
  state.laneBusy[lane] = false;
  state.busyLaneCount -= 1;
}

/** The job ended: it no longer counts towards its lane's share. */
export function unpinLane(state: WorkerState, job: JobState): void {
  if (job.cpuLane < 0) return;
  state.lanePinned[job.cpuLane] = at(state.lanePinned, job.cpuLane) - 1;
}
