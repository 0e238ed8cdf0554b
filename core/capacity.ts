import { allowed } from './aimd-limit.ts';
import { chunkRange } from './job-state.ts';
import { peekReady } from './ready-queue.ts';
import type { Stage } from './stage.ts';
import { cpuActive, networkActive, type WorkerState } from './worker-state.ts';

/**
 * Whether the stage's next task may start now: it has one, and starting it breaks no cap —
 * the stage's `MaxWorkers`, the shared CPU threads or network streams, the remote's AIMD
 * limit, and for fetches the memory budget.
 */
export function canStart(state: WorkerState, stage: Stage): boolean {
  if (state.readyCount[stage] === 0) return false;
  const limits = state.limits;
  if (state.active[stage] >= limits.stageWorkersMax[stage]) return false;
  switch (stage) {
    case 'fetch':
      return networkActive(state) < limits.networkStreamsMax
        && state.active.fetch < allowed(state.remotes.source)
        && fetchFitsMemory(state);
    case 'decode':
    case 'encode':
      return cpuActive(state) < limits.cpuSlotsMax;
    case 'upload':
      return networkActive(state) < limits.networkStreamsMax && state.active.upload < allowed(state.remotes.sink);
    case 'commit':
      return true;
  }
}

/**
 * The memory rule. Only fetches bring bytes in, so only they wait for the budget: a fetch
 * reserves its chunk's length when first dispatched and keeps it through retries until the
 * chunk is decoded. A retried chunk therefore needs no new memory, and since a job's chunks
 * are reserved in order, the chunk its decoder waits for is always reserved: the pipeline
 * cannot deadlock on memory. Decode, encode and upload are never held back by the budget —
 * they are how memory drains (each frees its input when done).
 *
 * A single chunk larger than the whole budget is fetched only when nothing else is held, so
 * it runs alone and the overshoot is that one chunk.
 */
function fetchFitsMemory(state: WorkerState): boolean {
  const head = peekReady(state, 'fetch');
  if (head === undefined) return false;
  if (head.reserved) return true;
  const { lengthBytes } = chunkRange(head.job, state.limits.chunkBytes, head.index);
  if (state.heldBytes + lengthBytes <= state.limits.memoryBudgetBytes) return true;
  return state.heldBytes === 0;
}
