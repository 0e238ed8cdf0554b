// Measures the whole-worker simulation (sim/whole-worker/): the real core and node runtime of
// every instance over modelled ports on virtual time. Its events per second, against the
// planner's fast instance model on the same scenario in the same run (the baseline: the
// price of running the real runtime, its promises and its ports instead of a model of
// them; each measured on its second run), on a calm scenario (4 × c6gn.large, 64 files of 256 MiB, no faults) and on the
// property tests' faulty small runs (seeds 1–4: errors, throttling, lost answers, crashes).
// Run: npx tsx test/bench/whole-sim.ts
import { pathToFileURL } from 'node:url';
import { simulate } from '../../sim/fleet-simulation.ts';
import { withModels } from '../../sim/models.ts';
import { defaultScenario, type Scenario } from '../../sim/scenario.ts';
import { noFaults } from '../../sim/whole-worker/fault-plan.ts';
import { smallRun } from '../../sim/whole-worker/small-runs.ts';
import { simulateWholeWorker } from '../../sim/whole-worker/whole-worker-simulation.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const faultySeeds = [1, 2, 3, 4];

export async function run(): Promise<BenchFigure[]> {
  const calm: Scenario = {
    ...defaultScenario,
    instances: 4,
    instanceType: 'c6gn.large',
    files: 64,
    fileBytes: 256 * 1024 ** 2,
    seed: 7,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    models: withModels(defaultScenario.models, { crash: { crashesPerInstanceHour: 0 } }),
  };
  // Each is run once before it is timed, so that both are measured compiled, not warming up.
  simulate(calm);
  const fastStart = performance.now();
  const fast = simulate(calm);
  const fastSeconds = (performance.now() - fastStart) / 1000;
  await simulateWholeWorker({ scenario: calm, plan: noFaults });
  const wholeStart = performance.now();
  const whole = await simulateWholeWorker({ scenario: calm, plan: noFaults });
  const wholeSeconds = (performance.now() - wholeStart) / 1000;
  const fastRate = fast.simulated.events / fastSeconds;
  const wholeRate = whole.events / wholeSeconds;
  let faultyEvents = 0;
  const faultyStart = performance.now();
  for (const seed of faultySeeds) faultyEvents += (await smallRun(seed)).events;
  const faultySeconds = (performance.now() - faultyStart) / 1000;
  return [
    {
      name: 'calm 4 × 64 files: events/s',
      value: wholeRate,
      unit: 'events/s',
      baseline: { name: 'planner model, events/s', value: fastRate },
      ratio: wholeRate / fastRate,
    },
    { name: 'calm 4 × 64 files: wall', value: wholeSeconds, unit: 's' },
    { name: 'calm 4 × 64 files: events', value: whole.events, unit: 'events' },
    {
      name: `faulty small runs (${faultySeeds.length} seeds): events/s`,
      value: faultyEvents / faultySeconds,
      unit: 'events/s',
    },
    {
      name: `faulty small runs: wall per run`,
      value: faultySeconds / faultySeeds.length,
      unit: 's',
      goal: '< 3 s',
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('whole-sim: the whole worker under simulation', await run());
}
