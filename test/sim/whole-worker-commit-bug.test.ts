/**
 * The whole-worker simulation finds the commit bug it was built to find. With the node
 * runtime's test-only switch, the object is completed and the job recorded done in one task,
 * as before the two-step commit: a transient ledger error there makes the core retry the whole
 * task, whose completion finds no upload left, and the job fails for good while its object is
 * published. The checker reports it, with the seed and the command that replays it; the same
 * run without the switch passes. `WHOLE_SIM_SEED=N` replays seed N with the switch on.
 */
import { describe, expect, test } from 'vitest';
import { noFaults, type FaultPlan } from '../../sim/whole-worker/fault-plan.ts';
import {
  failureReport,
  replayCommand,
  replaySeedVariable,
  smallLimits,
  smallScenario,
} from '../../sim/whole-worker/small-runs.ts';
import { simulateWholeWorker, type WholeWorkerResult } from '../../sim/whole-worker/whole-worker-simulation.ts';

const testFile = 'test/sim/whole-worker-commit-bug.test.ts';
const replaySeed = process.env[replaySeedVariable];
/** Transient errors at one port call in twenty, nothing else: the ledger write of a commit meets them often. */
const transientErrors: FaultPlan = { ...noFaults, errorRate: 0.05 };
/** Seeds tried; the bug shows in most runs of this plan, so the first few suffice. */
const seedsTried = 8;

function run(seed: number, oneStepCommitForTests: boolean): Promise<WholeWorkerResult> {
  return simulateWholeWorker({
    scenario: smallScenario(seed),
    plan: transientErrors,
    limits: smallLimits,
    oneStepCommitForTests,
  });
}

describe('the old one-step commit under the whole-worker simulation', () => {
  test.runIf(replaySeed !== undefined)(`replays seed ${replaySeed ?? ''} with the one-step commit`, async () => {
    const result = await run(Number(replaySeed), true);
    if (result.violations.length > 0) throw new Error(failureReport(result, testFile));
  });

  test.skipIf(replaySeed !== undefined)(
    'the checker fails the one-step commit with its replay command, and passes the two-step one',
    async () => {
      let caught: WholeWorkerResult | undefined;
      for (let seed = 1; seed <= seedsTried && caught === undefined; seed++) {
        const result = await run(seed, true);
        if (result.violations.length > 0) caught = result;
      }
      expect(caught, `no seed of 1..${seedsTried} showed the bug`).toBeDefined();
      if (caught === undefined) return;
      const report = failureReport(caught, testFile);
      expect(report).toMatch(/failed for good \(ours: commit of the object failed: .*\) but its object is published/);
      expect(report).toContain(`seed ${caught.seed}`);
      expect(report).toContain(replayCommand(caught.seed, testFile));
      const fixed = await run(caught.seed, false);
      expect(fixed.violations).toEqual([]);
      expect(fixed.jobsDone).toBe(smallScenario(caught.seed).files);
    },
    90_000,
  );
});
