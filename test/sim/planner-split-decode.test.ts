/**
 * Split decoding in the planner (`limits.splitDecode`, cc-sim's `--split-decode on`): the core's
 * own rule (core/split-decode.ts) runs in both simulations, the planner's instance model and the
 * whole worker answer `decodeDetached` on any idle lane, so one large file on an instance of
 * several lanes finishes sooner split than decoded in order on one lane, every checker holding,
 * and the two simulations agree. As the worker, an instance of one lane does not split.
 */
import { describe, expect, test } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { findInstanceType } from '../../sim/instance-types.ts';
import { withModels } from '../../sim/models.ts';
import { defaultScenario, limitsForInstance, type Scenario } from '../../sim/scenario.ts';
import { noFaults } from '../../sim/whole-worker/fault-plan.ts';
import { simulateWholeWorker } from '../../sim/whole-worker/whole-worker-simulation.ts';

const mebibyte = 1024 * 1024;
const hourMs = 3_600_000;
/** One seed and one file; measured 1% apart (16.56 against 16.43 s, 5.98 against 5.91 s). */
const agreementMax = 0.1;

/**
 * One file of 1 GiB on a c6gn.xlarge (four lanes), decoded at the full-inflate rate (74 MB/s
 * a core), so the decode bounds the run: 14.5 s on one lane, a quarter of it on four.
 */
function scenarioOf(splitDecode: boolean): Scenario {
  return {
    ...defaultScenario,
    instanceType: 'c6gn.xlarge',
    instances: 1,
    files: 1,
    fileBytes: 1024 * mebibyte,
    fileBytesSpread: 0,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    seed: 1,
    limits: { splitDecode },
    models: withModels(defaultScenario.models, {
      source: { slowDownRate: 0, timeoutRate: 0 },
      sink: { slowDownRate: 0, timeoutRate: 0 },
      ledger: { callFailureRate: 0, commitFailureRate: 0 },
      crash: { crashesPerInstanceHour: 0 },
      cpu: { inflate: 'full' },
    }),
  };
}

async function makespansMs(splitDecode: boolean): Promise<{ readonly planner: number; readonly whole: number }> {
  const scenario = scenarioOf(splitDecode);
  const planner = simulate(scenario);
  const whole = await simulateWholeWorker({ scenario, plan: noFaults });
  expect(planner.violations).toEqual([]);
  expect(planner.filesDone).toBe(1);
  expect(whole.violations).toEqual([]);
  expect(whole.jobsDone).toBe(1);
  return { planner: planner.makespanHours * hourMs, whole: whole.makespanMs };
}

describe('split decoding in the planner', () => {
  test('one large file on four lanes finishes sooner split, in both simulations, which agree', async () => {
    const inOrder = await makespansMs(false);
    const split = await makespansMs(true);
    for (const run of [inOrder, split]) {
      const ratio = run.whole / run.planner;
      expect(ratio, `whole worker ${run.whole} ms, planner ${run.planner} ms`).toBeGreaterThan(1 - agreementMax);
      expect(ratio, `whole worker ${run.whole} ms, planner ${run.planner} ms`).toBeLessThan(1 + agreementMax);
    }
    // Four lanes instead of one on the decode that bounds the run: less than half as long.
    expect(split.planner).toBeLessThan(inOrder.planner / 2);
    expect(split.whole).toBeLessThan(inOrder.whole / 2);
  }, 60_000);

  test('is off on an instance of one lane, as the worker turns it off with one thread', () => {
    const type = findInstanceType('c6gn.xlarge');
    if (type === undefined) throw new Error('c6gn.xlarge is not in the instance table');
    const oneLane = { ...scenarioOf(true), limits: { splitDecode: true, cpuSlotsMax: 1 } };
    expect(limitsForInstance(type, scenarioOf(true)).splitDecode).toBe(true);
    expect(limitsForInstance(type, scenarioOf(false)).splitDecode).toBe(false);
    expect(limitsForInstance(type, oneLane).splitDecode).toBe(false);
  });
});
