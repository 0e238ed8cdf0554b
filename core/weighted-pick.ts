import { at } from './checked-access.ts';
import { canStart } from './capacity.ts';
import { peekReady } from './ready-queue.ts';
import { stageRank, stages, type Stage } from './stage.ts';
import type { WorkerState } from './worker-state.ts';

/**
 * The weight of a stage when it competes for a shared resource (decode and encode for CPU
 * threads; fetch and upload for network streams):
 *
 *     weight(s)   = pressure(s) × bias(s)
 *     pressure(s) = ready(s) / (active(s) + 1)
 *     bias(fetch) = 1 − fill
 *     bias(s)     = 1 + downstreamGain × fill × rank(s) / 4        for decode … commit
 *     fill        = min(1, heldBytes / memoryBudgetBytes)
 *
 * Why: ready/(active+1) is the queue a stage has per worker it already runs, i.e. how many
 * service times its backlog needs at its current parallelism — the stage that would keep its
 * tasks waiting longest gets the next slot. The bias drains before it fills: with memory
 * empty all stages weigh alike; as memory fills, fetching (which adds bytes) fades, and the
 * further downstream a stage is the more bytes its completion frees (an upload frees encoded
 * bytes at once, a decode only turns chunks into rows), so its weight grows with its rank.
 * With the default gain of 4, a full budget weighs an upload 4× and a decode 2× what they
 * weigh with memory empty. Ties go downstream.
 *
 * Weights alone could starve a stage whose backlog stays small next to a large one, so any
 * stage whose ready work has waited `starvationMs` without a dispatch goes first, longest
 * waiting first.
 */
export function stageWeight(state: WorkerState, stage: Stage): number {
  const fill = Math.min(1, state.heldBytes / state.limits.memoryBudgetBytes);
  const pressure = state.readyCount[stage] / (state.active[stage] + 1);
  const rank = stageRank[stage];
  const bias = rank === 0 ? 1 - fill : 1 + (state.limits.downstreamGain * fill * rank) / 4;
  return pressure * bias;
}

export function isStarving(state: WorkerState, stage: Stage, nowMs: number): boolean {
  return state.readyCount[stage] > 0 && nowMs - state.waitingSinceMs[stage] >= state.limits.starvationMs;
}

/** The stage whose next task the policy starts now, or null when none can start. */
export function pickStage(state: WorkerState, nowMs: number): Stage | null {
  switch (state.limits.policy) {
    case 'weighted':
      return pickWeighted(state, nowMs);
    case 'fifo':
      return pickFifo(state);
    case 'round-robin':
      return pickRoundRobin(state);
  }
}

function pickWeighted(state: WorkerState, nowMs: number): Stage | null {
  let best: Stage | null = null;
  let bestStarving = false;
  let bestKey = 0;
  for (const stage of stages) {
    if (!canStart(state, stage)) continue;
    const starving = isStarving(state, stage, nowMs);
    // Starving stages compare by how long they waited; others by weight.
    const key = starving ? nowMs - state.waitingSinceMs[stage] : stageWeight(state, stage);
    const better = best === null || (starving && !bestStarving) || (starving === bestStarving && key >= bestKey);
    if (better) {
      best = stage;
      bestStarving = starving;
      bestKey = key;
    }
  }
  return best;
}

/** FIFO: the task that became ready first, whatever its stage. */
function pickFifo(state: WorkerState): Stage | null {
  let best: Stage | null = null;
  let bestSeq = Infinity;
  for (const stage of stages) {
    if (!canStart(state, stage)) continue;
    const head = peekReady(state, stage);
    if (head !== undefined && head.readySeq < bestSeq) {
      best = stage;
      bestSeq = head.readySeq;
    }
  }
  return best;
}

/** Round-robin: the next stage after the last one served that can start. */
function pickRoundRobin(state: WorkerState): Stage | null {
  for (let offset = 1; offset <= stages.length; offset++) {
    const index = (state.roundRobinCursor + offset) % stages.length;
    const stage = at(stages, index);
    if (canStart(state, stage)) {
      state.roundRobinCursor = index;
      return stage;
    }
  }
  return null;
}
