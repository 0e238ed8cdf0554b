/**
 * The whole worker under simulation, as a property: for any seed, two real cores driven by
 * the real node runtime, over the simulated ledger, sink and source with faults drawn from the
 * seed (errors, throttling, lost answers after ledger writes, latency spikes, crashes at port
 * calls and restarts), end with every checker satisfied. A failure prints the seed and the
 * command that replays it; `WHOLE_SIM_SEED=N` runs that seed alone.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { failureReport, replaySeedVariable, smallRun } from '../../sim/whole-worker/small-runs.ts';
import type { WholeWorkerResult } from '../../sim/whole-worker/whole-worker-simulation.ts';

const testFile = 'test/sim/whole-worker.test.ts';
const replaySeed = process.env[replaySeedVariable];
/** Runs of 0.3–1 s each on the 2-core machine, up to 2 s under load: 32 stay under a minute. */
const propertyRuns = 32;

async function checkSeed(seed: number): Promise<WholeWorkerResult> {
  const result = await smallRun(seed);
  if (result.violations.length > 0) throw new Error(failureReport(result, testFile));
  return result;
}

describe('whole-worker simulation', () => {
  test.runIf(replaySeed !== undefined)(`replays seed ${replaySeed ?? ''}`, async () => {
    await checkSeed(Number(replaySeed));
  });

  test.skipIf(replaySeed !== undefined)(
    'every checker holds under faults drawn from any seed',
    async () => {
      const results: WholeWorkerResult[] = [];
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
          results.push(await checkSeed(seed));
        }),
        // A smaller seed is no simpler run: shrinking would only replace the failing seed with another.
        { numRuns: propertyRuns, endOnFailure: true },
      );
      // The runs met what they were meant to: instances crashed and restarted, bad inputs failed.
      expect(results.reduce((sum, result) => sum + result.crashes, 0)).toBeGreaterThan(0);
      expect(results.reduce((sum, result) => sum + result.jobsFailed, 0)).toBeGreaterThan(0);
    },
    90_000,
  );

  test.skipIf(replaySeed !== undefined)('a seed replays the same run', async () => {
    const first = await smallRun(42);
    const second = await smallRun(42);
    expect(second).toEqual(first);
    // The run did work and met faults, or the equality would say little.
    expect(first.jobsDone).toBeGreaterThan(0);
    expect(first.events).toBeGreaterThan(100);
  });
});
