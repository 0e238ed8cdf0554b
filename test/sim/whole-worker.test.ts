/**
 * The whole worker under simulation, as a property: for any seed, two real cores driven by
 * the real node runtime, over the simulated ledger, sink and source with faults drawn from the
 * seed (errors, throttling, lost answers after ledger writes, latency spikes, crashes at port
 * calls and restarts), end with every checker satisfied. About half the inputs are enqueued
 * without a size, so the cores' HEADs (`sizeInput`) meet the same faults. A failure prints the seed and the
 * command that replays it; `WHOLE_SIM_SEED=N` runs that seed alone.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { FaultPlan } from '../../sim/whole-worker/fault-plan.ts';
import {
  failureReport,
  replaySeedVariable,
  smallLimits,
  smallRun,
  smallScenario,
} from '../../sim/whole-worker/small-runs.ts';
import { simulateWholeWorker, type WholeWorkerResult } from '../../sim/whole-worker/whole-worker-simulation.ts';

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
      // The runs met what they were meant to: instances crashed and restarted, bad inputs failed,
      // and every input enqueued without a size was sized by a HEAD (more than one where it was retried).
      const total = (count: (result: WholeWorkerResult) => number) =>
        results.reduce((sum, result) => sum + count(result), 0);
      expect(total((result) => result.crashes)).toBeGreaterThan(0);
      expect(total((result) => result.jobsFailed)).toBeGreaterThan(0);
      expect(total((result) => result.inputsUnsized)).toBeGreaterThan(0);
      for (const result of results) expect(result.headsDispatched).toBeGreaterThanOrEqual(result.inputsUnsized);
      expect(total((result) => result.headsDispatched)).toBeGreaterThan(total((result) => result.inputsUnsized));
    },
    90_000,
  );

  test.skipIf(replaySeed !== undefined)(
    'sizes every input by a HEAD under errors, throttling and crashes at the HEAD, and passes every checker',
    async () => {
      // Every input unsized and every fault often: HEADs fail, are throttled, and see the instance die before and after them.
      const plan: FaultPlan = {
        errorRate: 0.1,
        throttleRate: 0.1,
        writeThenFailRate: 0.1,
        latencySpikeRate: 0.02,
        latencySpikeMs: 5_000,
        crashRate: 0.02,
        crashesPerInstanceMax: 3,
        restartMs: 5_000,
        badInputs: 1,
      };
      for (const seed of [7, 8, 9]) {
        const result = await simulateWholeWorker({
          scenario: smallScenario(seed),
          plan,
          limits: smallLimits,
          unsizedInputShare: 1,
        });
        expect(result.violations, failureReport(result, testFile)).toEqual([]);
        expect(result.inputsUnsized).toBe(smallScenario(seed).files);
        // Retried HEADs: more than one an input.
        expect(result.headsDispatched).toBeGreaterThan(result.inputsUnsized);
        expect(result.jobsDone + result.jobsFailed).toBe(result.inputsUnsized);
      }
    },
    60_000,
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
