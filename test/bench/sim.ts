// Measures the simulator: a whole CommonCrawl crawl (100,000 WARC files of ~1 GiB) on 100
// instances of 16 vCPU (c6gn.4xlarge), simulated the way `npm run sim` does it — 8 of the
// 100 instances with their share of the files, fleet-wide request ceilings scaled to match
// (see sim/scenario.ts) — goal under 10 s wall on this 2-core machine, with events per
// second. Then the error of that shortcut: a 50-instance fleet on 5,000 files simulated in
// full detail (every instance) and as an 8-instance sample, makespan and cost compared.
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
  const crawl: Scenario = { ...defaultScenario, instances: 100, instanceType: 'c6gn.4xlarge', files: 100_000, fileBytes: 1024 ** 3 };
  const whole = timed(crawl);
  const smaller: Scenario = { ...crawl, instances: 50, files: 5_000 };
  const full = timed({ ...smaller, sampleInstancesMax: 0 });
  const sampled = timed(smaller);
  const relativeError = (sample: number, exact: number): number => (100 * Math.abs(sample - exact)) / exact;
  return [
    { name: 'whole crawl, sampled: wall time', value: whole.wallSeconds, unit: 's', goal: '< 10 s' },
    { name: 'whole crawl, sampled: events/s', value: whole.result.simulated.events / whole.wallSeconds, unit: 'events/s' },
    { name: 'whole crawl, sampled: events', value: whole.result.simulated.events, unit: 'events' },
    { name: 'whole crawl: simulated makespan', value: whole.result.makespanHours, unit: 'h' },
    { name: 'whole crawl: cost', value: whole.result.costDollars, unit: '$' },
    { name: '50 × 5,000 files, full detail: wall time', value: full.wallSeconds, unit: 's' },
    { name: '50 × 5,000 files, full detail: events/s', value: full.result.simulated.events / full.wallSeconds, unit: 'events/s' },
    {
      name: 'sampling error of the makespan',
      value: relativeError(sampled.result.makespanHours, full.result.makespanHours),
      unit: '%',
      baseline: { name: 'full-detail makespan h', value: full.result.makespanHours },
    },
    {
      name: 'sampling error of the p99 job latency',
      value: relativeError(sampled.result.jobLatencySeconds.p99, full.result.jobLatencySeconds.p99),
      unit: '%',
      baseline: { name: 'full-detail p99 s', value: full.result.jobLatencySeconds.p99 },
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('sim: a whole crawl on 100 × c6gn.4xlarge, and the error of simulating a sample', await run());
}
