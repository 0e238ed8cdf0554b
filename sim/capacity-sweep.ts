import { simulate, type SimulationResult } from './fleet-simulation.ts';
import type { Scenario } from './scenario.ts';
import { makespanText } from './text-report.ts';

/** Fleet sizes and types a sweep tries when the scenario names none. */
export const sweepInstanceCounts: readonly number[] = [10, 25, 50, 100, 200];
export const sweepInstanceTypes: readonly string[] = [
  'c6gn.4xlarge',
  'c7gn.4xlarge',
  'c6i.4xlarge',
  'm6i.4xlarge',
  'c6gn.8xlarge',
  'c6i.8xlarge',
];

export interface SweepResult {
  readonly deadlineHours: number | null;
  readonly runs: readonly SimulationResult[];
  /**
   * The cheapest fleet that meets the deadline with every file done and no checker failing;
   * per-second billing makes cost flat over fleet sizes until a shared limit binds, so among
   * fleets within 2% of the lowest cost the fastest is chosen.
   */
  readonly cheapest: SimulationResult | null;
}

/** Simulates every type × count (a bounded grid) and picks the cheapest fleet that meets the deadline. */
export function sweep(
  base: Scenario,
  deadlineHours: number | null,
  onRun?: (result: SimulationResult) => void,
): SweepResult {
  const runs: SimulationResult[] = [];
  for (const instanceType of sweepInstanceTypes) {
    for (const instances of sweepInstanceCounts) {
      const result = simulate({ ...base, instanceType, instances });
      runs.push(result);
      onRun?.(result);
    }
  }
  const meets = runs.filter(
    (run) =>
      run.violationCount === 0 &&
      run.filesFailed === 0 &&
      (deadlineHours === null || run.makespanHours <= deadlineHours),
  );
  const cheapestCost = Math.min(...meets.map((run) => run.costDollars));
  // Fleets within 2% of the cheapest cost are as cheap; of those, the one that finishes first.
  const cheapest = meets
    .filter((run) => run.costDollars <= cheapestCost * 1.02)
    .reduce<SimulationResult | null>(
      (best, run) => (best === null || run.makespanHours < best.makespanHours ? run : best),
      null,
    );
  return { deadlineHours, runs, cheapest };
}

/** Fleets a sweep simulates: every type × count of the grid. */
export const sweepFleets = sweepInstanceTypes.length * sweepInstanceCounts.length;

export const sweepHeader = 'type           instances  makespan h         $  files/hour  bottleneck';

/**
 * Hours to four significant digits: "0.01187", "0.7910", "12.34". Fleets of a small crawl differ
 * by seconds and of a whole crawl by minutes; a fixed two or three decimals hides the first.
 */
export function makespanHoursText(hours: number): string {
  return hours.toPrecision(4);
}

/** One fleet's row of the sweep table, printed as soon as the fleet is simulated. */
export function sweepRow(run: SimulationResult): string {
  return (
    `${run.instanceType.padEnd(14)} ${String(run.instances).padStart(9)}  ${makespanHoursText(run.makespanHours).padStart(10)} ${run.costDollars.toFixed(2).padStart(9)}  ` +
    `${Math.round(run.filesPerHour).toString().padStart(10)}  ${run.bottleneck}${run.violationCount > 0 ? ' (CHECKER FAILED)' : ''}`
  );
}

/** What the sweep concludes: the chosen fleet, or that none meets the deadline. */
export function sweepConclusion(result: SweepResult): string {
  const deadline = result.deadlineHours === null ? 'no deadline' : `a deadline of ${result.deadlineHours} h`;
  return result.cheapest === null
    ? `no fleet in the sweep meets ${deadline}`
    : `cheapest fleet for ${deadline} (within 2% of the lowest cost, the fastest of those): ` +
        `${result.cheapest.instances} × ${result.cheapest.instanceType}, ` +
        `${makespanText(result.cheapest.makespanHours)}, $${result.cheapest.costDollars.toFixed(2)}`;
}

/** The whole table, rows in the order simulated, then the conclusion. */
export function sweepTable(result: SweepResult): string {
  return [sweepHeader, ...result.runs.map(sweepRow), sweepConclusion(result)].join('\n');
}
