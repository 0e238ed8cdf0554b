/**
 * The whole worker under simulation with one file on every core (core/split-decode.ts): the
 * real node runtime answers `decodeDetached` and `placeDetached` through the model CPU, and for
 * seeds with faults and crashes every checker holds (no object torn, doubled or out of order,
 * the driver's memory count equal to the core's and within its bound).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { failureReport, smallRun } from '../../sim/whole-worker/small-runs.ts';

const testFile = 'test/sim/whole-worker-split.test.ts';

describe('whole-worker simulation with split decoding', () => {
  test('every checker holds under faults drawn from any seed', async () => {
    let jobsDone = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const result = await smallRun(seed, { splitDecode: true });
        if (result.violations.length > 0) throw new Error(failureReport(result, testFile));
        jobsDone += result.jobsDone;
      }),
      { numRuns: 12, endOnFailure: true },
    );
    expect(jobsDone).toBeGreaterThan(0);
  }, 240_000);
});
