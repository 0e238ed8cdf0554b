// The read-ahead of in-order jobs (core/read-ahead.ts): it starts at `readAheadStartChunks`
// (within the budget's window), grows by one chunk only when a decode ends with the job's next
// chunk not fetched, never shrinks, never passes `fetchWindowChunks`, and bounds what an
// in-order job has queued for fetching past its next chunk to decode. A source faster than
// decoding keeps it at its start; a slower one grows it to the window.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultLimits, withLimits } from '../../core/limits.ts';
import { isSplitting } from '../../core/split-decode.ts';
import type { WorkerState } from '../../core/worker-state.ts';
import { mebibyte, scenarioArbitrary } from './scenario-arbitrary.ts';
import { noFaults, runScenario, type Scenario } from './scripted-driver.ts';

/** Chunks of in-order jobs queued past their next chunk to decode, the largest over the jobs held. */
function queuedAheadMax(state: WorkerState): number {
  let most = 0;
  for (const job of state.jobs.values()) {
    if (isSplitting(job) || job.decodeDone) continue;
    most = Math.max(most, job.nextChunkToQueue - job.nextChunkToDecode);
  }
  return most;
}

describe('read-ahead', () => {
  it('starts within the window, grows only on a decode whose next chunk is not fetched, and bounds the queued chunks', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: fc.constant(noFaults) }), (scenario) => {
        let before: number | null = null;
        runScenario(scenario, (state, record) => {
          const { chunks } = state.readAhead;
          const start = Math.min(state.limits.readAheadStartChunks ?? state.fetchWindowChunks, state.fetchWindowChunks);
          before ??= start;
          expect(chunks).toBeGreaterThanOrEqual(start);
          expect(chunks).toBeLessThanOrEqual(state.fetchWindowChunks);
          const decodes = record.inputs.filter((input) => input.kind === 'chunkDecoded').length;
          expect(chunks - before).toBeGreaterThanOrEqual(0);
          expect(chunks - before).toBeLessThanOrEqual(decodes);
          expect(queuedAheadMax(state)).toBeLessThanOrEqual(chunks);
          before = chunks;
        });
      }),
      { numRuns: 150 },
    );
  });

  const oneLargeFile = (fetchMs: number, decodeMs: number): Scenario => ({
    limits: withLimits({
      chunkBytes: mebibyte,
      memoryBudgetBytes: 64 * mebibyte,
      cpuSlotsMax: 1,
      stageWorkersMax: { decode: 1, encode: 1 },
      fetchAheadChunksMax: 8,
      readAheadStartChunks: 2,
      seed: 7,
    }),
    jobSizesBytes: [40 * mebibyte],
    seed: 11,
    durationMs: {
      fetch: [fetchMs, fetchMs],
      decode: [decodeMs, decodeMs],
      encode: [1, 1],
      upload: [5, 5],
      commit: [1, 1],
    },
    faults: noFaults,
    rowsPerByte: 1 / 10_000,
    rowBytesPerByte: 0.01,
    encodedPerRowByte: 0.5,
  });

  it('stays at its start while the source is faster than decoding', () => {
    const run = runScenario(oneLargeFile(5, 100));
    expect(run.finished).toBe(true);
    expect(run.state.readAhead).toEqual({ chunks: 2, grown: 0 });
  });

  it('grows to the window while decodes wait on a slower source, and keeps up with it', () => {
    const slow = runScenario(oneLargeFile(400, 20));
    expect(slow.finished).toBe(true);
    expect(slow.state.readAhead.chunks).toBe(slow.state.fetchWindowChunks);
    expect(slow.state.fetchWindowChunks).toBe(8);
    // With the window grown, eight fetches overlap: 40 chunks of 400 ms take far less than 40 x 400 ms.
    expect(slow.endMs).toBeLessThan(40 * 400 * 0.3);
  });

  it('is the budget window from the start when that is smaller', () => {
    const limits = withLimits({
      ...defaultLimits,
      chunkBytes: mebibyte,
      memoryBudgetBytes: 2 * mebibyte,
      cpuSlotsMax: 2,
    });
    const run = runScenario({ ...oneLargeFile(5, 100), limits: { ...limits, readAheadStartChunks: 4 } });
    expect(run.state.fetchWindowChunks).toBe(1);
    expect(run.state.readAhead.chunks).toBe(1);
  });
});
