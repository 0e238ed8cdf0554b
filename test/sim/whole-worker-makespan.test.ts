/**
 * The capacity planner's fast instance model (sim/simulated-instance.ts) and the whole worker
 * under simulation (the real core and node runtime over modelled ports) give the same makespan
 * within 5% on shared small scenarios: same fleet, files, models and limits, no faults beyond
 * the models' latencies. Their random draws differ (the fast model draws per task, the ports
 * per call), so agreement is what two faithful models of one system give, not equal numbers.
 */
import { describe, expect, test } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { withModels } from '../../sim/models.ts';
import { defaultScenario, type Scenario } from '../../sim/scenario.ts';
import { noFaults } from '../../sim/whole-worker/fault-plan.ts';
import { simulateWholeWorker } from '../../sim/whole-worker/whole-worker-simulation.ts';

const mebibyte = 1024 * 1024;
const hourMs = 3_600_000;
/** The planner's decisions rest on makespans; 5% is the error it may carry from its shortcut. */
const agreementMax = 0.05;

/** The default models with their random faults off: both simulations then model time alone. */
const calmModels = withModels(defaultScenario.models, {
  source: { slowDownRate: 0, timeoutRate: 0 },
  sink: { slowDownRate: 0, timeoutRate: 0 },
  ledger: { callFailureRate: 0, commitFailureRate: 0 },
  crash: { crashesPerInstanceHour: 0 },
});

function scenarioOf(
  instanceType: string,
  instances: number,
  files: number,
  fileMebibytes: number,
  seed: number,
): Scenario {
  return {
    ...defaultScenario,
    instanceType,
    instances,
    files,
    fileBytes: fileMebibytes * mebibyte,
    seed,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    models: calmModels,
  };
}

/** Small shared scenarios: CPU-bound on a few cores, more instances than files per core, and longer files. */
const shared: readonly Scenario[] = [
  scenarioOf('c6gn.large', 2, 16, 256, 7),
  scenarioOf('c6gn.xlarge', 3, 24, 128, 11),
  scenarioOf('c6gn.large', 1, 6, 384, 3),
];

describe('planner model against the whole worker', () => {
  test.each(shared)(
    '$instanceType × $instances, $files files: makespans within 5%',
    async (scenario) => {
      const fast = simulate(scenario);
      const whole = await simulateWholeWorker({ scenario, plan: noFaults });
      expect(fast.violations).toEqual([]);
      expect(whole.violations).toEqual([]);
      expect(whole.jobsDone).toBe(scenario.files);
      const fastMs = fast.makespanHours * hourMs;
      const ratio = whole.makespanMs / fastMs;
      expect(ratio, `whole worker ${whole.makespanMs} ms, planner ${fastMs} ms`).toBeGreaterThan(1 - agreementMax);
      expect(ratio, `whole worker ${whole.makespanMs} ms, planner ${fastMs} ms`).toBeLessThan(1 + agreementMax);
    },
    60_000,
  );
});
