/**
 * The whole worker's model CPU (sim/whole-worker/model-cpu.ts) decodes and encodes at the rates
 * of the schema and inflate mode the models run (sim/models.ts `ratesOf`), as the planner's
 * instance model does: a content export or a full-inflate index export of a CPU-bound instance
 * takes longer than a head-only index export, and each as long as the planner says.
 */
import { describe, expect, test } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { type ModelOverrides, withModels } from '../../sim/models.ts';
import { defaultScenario, type Scenario } from '../../sim/scenario.ts';
import { noFaults } from '../../sim/whole-worker/fault-plan.ts';
import { simulateWholeWorker } from '../../sim/whole-worker/whole-worker-simulation.ts';

const mebibyte = 1024 * 1024;
const hourMs = 3_600_000;
/**
 * One seed and four files: the planner and the whole worker draw their latencies apart, and
 * the last file's tail is a larger share of so short a run (measured: 3.5–7.7% apart).
 */
const agreementMax = 0.1;

const calmModels = withModels(defaultScenario.models, {
  source: { slowDownRate: 0, timeoutRate: 0 },
  sink: { slowDownRate: 0, timeoutRate: 0 },
  ledger: { callFailureRate: 0, commitFailureRate: 0 },
  crash: { crashesPerInstanceHour: 0 },
});

/** One two-vCPU instance, four files of 64 MiB: decode-bound at 74 MB/s a core, network-bound head-only. */
function scenarioOf(overrides: ModelOverrides): Scenario {
  return {
    ...defaultScenario,
    instanceType: 'c6gn.large',
    instances: 1,
    files: 4,
    fileBytes: 64 * mebibyte,
    fileBytesSpread: 0,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    seed: 1,
    models: withModels(calmModels, overrides),
  };
}

async function makespansMs(overrides: ModelOverrides): Promise<{ readonly whole: number; readonly planner: number }> {
  const scenario = scenarioOf(overrides);
  const whole = await simulateWholeWorker({ scenario, plan: noFaults });
  expect(whole.violations).toEqual([]);
  expect(whole.jobsDone).toBe(scenario.files);
  return { whole: whole.makespanMs, planner: simulate(scenario).makespanHours * hourMs };
}

describe('the whole worker at the rates of its schema and inflate mode', () => {
  test('content and full-inflate runs take longer than head-only, each as long as the planner says', async () => {
    const headOnly = await makespansMs({});
    const cases = [
      { name: 'full inflate', ...(await makespansMs({ cpu: { inflate: 'full' } })) },
      { name: 'content', ...(await makespansMs({ schema: { output: 'content' } })) },
    ];
    for (const run of [{ name: 'head-only', ...headOnly }, ...cases]) {
      const ratio = run.whole / run.planner;
      const message = `${run.name}: whole worker ${run.whole} ms, planner ${run.planner} ms`;
      expect(ratio, message).toBeGreaterThan(1 - agreementMax);
      expect(ratio, message).toBeLessThan(1 + agreementMax);
    }
    // 74 MB/s (full) and 50 MB/s (content) a core against 490 head-only: at least twice as long.
    for (const run of cases) expect(run.whole, run.name).toBeGreaterThan(2 * headOnly.whole);
  }, 60_000);
});
