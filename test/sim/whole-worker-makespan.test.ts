/**
 * The capacity planner's fast instance model (sim/simulated-instance.ts) and the whole worker
 * under simulation (the real core and node runtime over modelled ports) give the same makespan
 * within 5% on shared small scenarios: same fleet, files, models and limits, no faults beyond
 * the models' latencies. Compared is the mean makespan over four seeds: the two draw their
 * random numbers differently (the fast model per task, the ports per call), and in a run of a
 * few files per instance one seed's draws decide which instance gets the last files (one of
 * these scenarios' seeds alone differs by 11%); the mean is what both model.
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

function scenarioOf(instanceType: string, instances: number, files: number, fileMebibytes: number): Scenario {
  return {
    ...defaultScenario,
    instanceType,
    instances,
    files,
    fileBytes: fileMebibytes * mebibyte,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    models: calmModels,
  };
}

const seeds = [1, 2, 3, 4];

/** Small shared scenarios: bound by the NIC (c6i's 0.78 Gbps baseline), and by the CPU on two instance sizes. */
const shared: readonly Scenario[] = [
  scenarioOf('c6i.large', 2, 12, 256),
  scenarioOf('c6gn.large', 2, 16, 256),
  scenarioOf('c6gn.xlarge', 3, 24, 128),
];

describe('planner model against the whole worker', () => {
  test.each(shared)(
    '$instanceType × $instances, $files files: mean makespans within 5%',
    async (shape) => {
      let fastMs = 0;
      let wholeMs = 0;
      for (const seed of seeds) {
        const scenario = { ...shape, seed };
        const fast = simulate(scenario);
        const whole = await simulateWholeWorker({ scenario, plan: noFaults });
        expect(fast.violations).toEqual([]);
        expect(whole.violations).toEqual([]);
        expect(whole.jobsDone).toBe(scenario.files);
        fastMs += (fast.makespanHours * hourMs) / seeds.length;
        wholeMs += whole.makespanMs / seeds.length;
      }
      const ratio = wholeMs / fastMs;
      expect(ratio, `whole worker ${wholeMs} ms, planner ${fastMs} ms`).toBeGreaterThan(1 - agreementMax);
      expect(ratio, `whole worker ${wholeMs} ms, planner ${fastMs} ms`).toBeLessThan(1 + agreementMax);
    },
    120_000,
  );
});
