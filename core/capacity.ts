import { allowed } from './remote-limit.ts';
import { rateAllows } from './request-rate.ts';
import { chunkRange } from './job-state.ts';
import { peekReady } from './ready-queue.ts';
import type { Stage } from './stage.ts';
import { cpuActive, networkActive, type WorkerState } from './worker-state.ts';

/**
 * Whether the stage's next task may start now: it has one, and starting it breaks no cap —
 * the stage's `MaxWorkers`, the shared CPU threads or network streams, the remote's adaptive
 * limit and request-rate ceiling, and for fetches the memory budget.
 */
export function canStart(state: WorkerState, stage: Stage): boolean {
  if (state.readyCount[stage] === 0) return false;
  const limits = state.limits;
  if (state.active[stage] >= limits.stageWorkersMax[stage]) return false;
  switch (stage) {
    case 'fetch':
      return (
        networkActive(state) < limits.networkStreamsMax &&
        state.active.fetch < allowed(state.remotes.source) &&
        rateAllows(state.requestRates.source) &&
        fetchFitsMemory(state)
      );
    case 'decode':
    case 'encode':
      return cpuActive(state) < limits.cpuSlotsMax && peekReady(state, stage) !== undefined;
    case 'upload':
      return (
        networkActive(state) < limits.networkStreamsMax &&
        state.active.upload < allowed(state.remotes.sink) &&
        rateAllows(state.requestRates.sink)
      );
    case 'commit':
      return true;
  }
}

/**
 * The memory rule. Only fetches bring bytes in, so only they wait for the budget: a fetch
 * reserves its chunk's length when first dispatched and keeps it through retries until the
 * chunk is decoded. A retried chunk therefore needs no new memory, and since a job's chunks
 * are reserved in order, the chunk its decoder waits for is always reserved. Decode, encode
 * and upload are never held back by the budget: they are how memory drains (each frees its
 * input when done).
 *
 * Some held bytes cannot drain on demand: rows gathering for a row group, encoded bytes
 * gathering for a part (S3 refuses parts under 5 MiB). When they fill the budget, or a chunk
 * is larger than the whole budget, the pipeline would stall; dispatch.ts then flushes the
 * gathered rows, and if that is not enough starts one fetch over the budget, alone. What was
 * gathering then is at most one part per job, so held bytes stay within
 * max(budget, jobsActiveMax × part size + one chunk) while decoding and encoding shrink data.
 */
function fetchFitsMemory(state: WorkerState): boolean {
  const head = peekReady(state, 'fetch');
  if (head === undefined) return false;
  // Retried chunks hold their memory already, and a HEAD (sizing) needs none.
  if (head.reserved) return true;
  const { lengthBytes } = chunkRange(head.job, state.limits.chunkBytes, head.index);
  return state.heldBytes + lengthBytes <= state.limits.memoryBudgetBytes;
}

/**
 * The pipeline is stalled on memory: nothing runs or waits to retry, nothing but fetches is
 * ready, and the next fetch does not fit the budget. Nothing would ever free memory.
 */
export function stalledOnMemory(state: WorkerState): boolean {
  if (state.inFlight.size > 0 || state.backoffCount > 0 || state.readyCount.fetch === 0) return false;
  if (state.readyCount.decode + state.readyCount.encode + state.readyCount.upload + state.readyCount.commit > 0)
    return false;
  return !fetchFitsMemory(state);
}
