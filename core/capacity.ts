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
      return cpuActive(state) < limits.cpuSlotsMax && decodeFitsMemory(state);
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
 * The memory rule. Fetches bring bytes in, and decodes may make more of them than they take:
 * an index chunk decodes to rows of about 1/50 of its bytes, a content chunk to several times
 * its bytes (`decodeOutputRatio`). So both wait for the budget.
 *
 * A fetch reserves its chunk's length when first dispatched and keeps it through retries until
 * the chunk is decoded; it is admitted when the chunk, grown to the rows it is expected to
 * become, fits beside what is held and what running decodes reserved. A retried chunk therefore
 * needs no new memory, and since a job's chunks are reserved in order, the chunk its decoder
 * waits for is always reserved. A decode whose rows are expected to outgrow its chunk reserves
 * the growth, (ratio − 1) × chunk, until its answer, and starts only when that fits; the answer
 * then holds the rows' actual bytes instead. The ratio is the driver's figure until decodes
 * answer, then the largest ratio they answered, so a figure that understates the data is
 * corrected by the first decodes, and one that overstates it costs no parallelism after them. Decodes that shrink data reserve nothing and are never held back; encode and upload
 * never are: they are how memory drains (each frees its input when done). Since a fetch is
 * admitted only with room for its rows, the room it leaves is at least its own decode's
 * growth (at the figure of its admission): fetching alone never crowds decoding out, and a
 * decode waits only for rows, parts and other decodes to drain.
 *
 * Some held bytes cannot drain on demand: rows gathering for a row group, encoded bytes
 * gathering for a part (S3 refuses parts under 5 MiB). When they fill the budget, or a chunk
 * or a decode's growth is larger than the whole budget, the pipeline would stall; dispatch.ts
 * then flushes the gathered rows, and if that is not enough starts one decode over the budget
 * (it turns a chunk into rows that can drain), else one fetch, alone. What was gathering then
 * is at most one part per job, so held bytes stay within
 *   max(budget, jobsActiveMax × part size + one chunk) + overshoot,
 * where the overshoot is what decodes produce beyond their reservation: at most one decode
 * alone past its growth, and, after a decode outgrew the figure, the decodes then in flight
 * (at most `cpuSlotsMax`) past theirs; with the figure at or above the real ratio, none.
 */
function fetchFitsMemory(state: WorkerState): boolean {
  const head = peekReady(state, 'fetch');
  if (head === undefined) return false;
  // Retried chunks hold their memory already, and a HEAD (sizing) needs none.
  if (head.reserved) return true;
  const { lengthBytes } = chunkRange(head.job, state.limits.chunkBytes, head.index);
  const footprintBytes = Math.max(lengthBytes, expectedRowBytes(state, lengthBytes));
  return committedBytes(state) + footprintBytes <= state.limits.memoryBudgetBytes;
}

/** The next decode that can start (its lane free) exists, and the growth it reserves fits. */
function decodeFitsMemory(state: WorkerState): boolean {
  const head = peekReady(state, 'decode');
  if (head === undefined) return false;
  const { lengthBytes } = chunkRange(head.job, state.limits.chunkBytes, head.index);
  const growthBytes = decodeGrowthBytes(state, lengthBytes);
  return growthBytes === 0 || committedBytes(state) + growthBytes <= state.limits.memoryBudgetBytes;
}

/** What the budget answers for: bytes held, and growth reserved by decodes in flight. */
function committedBytes(state: WorkerState): number {
  return state.heldBytes + state.decodeOutputBytesReserved;
}

/**
 * The ratio the core plans with: the driver's until a decode answers rows, then the largest
 * ratio answered. The driver's figure is its schema's typical data; the data at hand may grow
 * less (payloads that do not compress: a content run of 4 MB payloads at a 128 MiB data budget
 * took 1.7 times as long planning with 4.5) or more, and either way it is the data that counts.
 */
export function decodeOutputRatio(state: WorkerState): number {
  return state.decodeOutputRatioSeen > 0 ? state.decodeOutputRatioSeen : state.limits.decodeOutputRatio;
}

function expectedRowBytes(state: WorkerState, chunkLengthBytes: number): number {
  return Math.ceil(chunkLengthBytes * decodeOutputRatio(state));
}

/** Bytes a decode of a chunk reserves beyond the chunk itself: its rows' expected growth, or 0. */
export function decodeGrowthBytes(state: WorkerState, chunkLengthBytes: number): number {
  return Math.max(0, expectedRowBytes(state, chunkLengthBytes) - chunkLengthBytes);
}

/**
 * The pipeline is stalled on memory: nothing runs or waits to retry, nothing but fetches and
 * decodes is ready, and none of them fits the budget. Nothing would ever free memory.
 */
export function stalledOnMemory(state: WorkerState): boolean {
  if (state.inFlight.size > 0 || state.backoffCount > 0) return false;
  if (state.readyCount.fetch + state.readyCount.decode === 0) return false;
  if (state.readyCount.encode + state.readyCount.upload + state.readyCount.commit > 0) return false;
  return !fetchFitsMemory(state) && !decodeFitsMemory(state);
}
