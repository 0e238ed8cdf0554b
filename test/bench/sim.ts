// Measures the simulator: a whole CommonCrawl crawl (100,000 WARC files of ~1 GiB) on 100
// instances of 16 vCPU (c6gn.4xlarge), simulated the way `npm run sim` does it — 8 of the
// 100 instances with their share of the files, fleet-wide request ceilings scaled to match
// (see sim/scenario.ts) — goal under 10 s wall on this 2-core machine, with events per
// second. Then the error of that shortcut against full detail (every instance simulated) on
// two smaller crawls: 20 instances on 8,000 files (CPU-bound) and 50 instances on 15,000
// files (bound by CommonCrawl's request-rate ceiling, which the sample shares out); and the
// time shortcut, 10 instances on 20,000 files, of which the sample simulates 8,000 and
// extrapolates the rest.
// Run: npx tsx test/bench/sim.ts
import { pathToFileURL } from 'node:url';
import { simulate, type SimulationResult } from '../../sim/fleet-simulation.ts';
import { defaultScenario, type Scenario } from '../../sim/scenario.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

function timed(scenario: Scenario): { result: SimulationResult; wallSeconds: number } {
  const start = performance.now();
  const result = simulate(scenario);
  return { result, wallSeconds: (performance.now() - start) / 1000 };
}

export async function run(): Promise<BenchFigure[]> {
  const crawl: Scenario = {
    ...defaultScenario,
    instances: 100,
    instanceType: 'c6gn.4xlarge',
    files: 100_000,
    fileBytes: 1024 ** 3,
    // As `npm run sim` plans (cmd/sim/main.ts): the production checks, not the full scans.
    invariantChecks: 'counters',
  };
  const whole = timed(crawl);
  return [
    { name: 'whole crawl, sampled: wall time', value: whole.wallSeconds, unit: 's', goal: '< 10 s' },
    {
      name: 'whole crawl, sampled: events/s',
      value: whole.result.simulated.events / whole.wallSeconds,
      unit: 'events/s',
    },
    { name: 'whole crawl, sampled: events', value: whole.result.simulated.events, unit: 'events' },
    { name: 'whole crawl: simulated makespan', value: whole.result.makespanHours, unit: 'h' },
    { name: 'whole crawl: cost', value: whole.result.costDollars, unit: '$' },
    ...samplingError('20 × 8,000 files (CPU-bound)', { ...crawl, instances: 20, files: 8_000 }),
    ...samplingError('50 × 15,000 files (ceiling-bound)', { ...crawl, instances: 50, files: 15_000 }),
    ...samplingError('10 × 20,000 files (extrapolated)', { ...crawl, instances: 10, files: 20_000 }),
  ];
}

/** The sample's makespan and p99 against a full-detail run of the same crawl. */
function samplingError(name: string, scenario: Scenario): BenchFigure[] {
  const full = timed({ ...scenario, sampleInstancesMax: 0, sampleFilesMax: 0 });
  const sampled = timed(scenario);
  const relativeError = (sample: number, exact: number): number => (100 * (sample - exact)) / exact;
  return [
    { name: `${name}, full detail: wall`, value: full.wallSeconds, unit: 's' },
    {
      name: `${name}, full detail: events/s`,
      value: full.result.simulated.events / full.wallSeconds,
      unit: 'events/s',
    },
    {
      name: `${name}: sample's makespan error`,
      value: relativeError(sampled.result.makespanHours, full.result.makespanHours),
      unit: '%',
      baseline: { name: 'full-detail makespan h', value: full.result.makespanHours },
    },
    {
      name: `${name}: sample's p99 latency error`,
      value: relativeError(sampled.result.jobLatencySeconds.p99, full.result.jobLatencySeconds.p99),
      unit: '%',
      baseline: { name: 'full-detail p99 s', value: full.result.jobLatencySeconds.p99 },
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('sim: a whole crawl on 100 × c6gn.4xlarge, and the error of simulating a sample', await run());
}
