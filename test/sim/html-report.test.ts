/**
 * The planner's HTML report: one self-contained page (uPlot inlined, nothing fetched from
 * elsewhere), whose charts' data puts time on the whole run's axis (the last bucket ends at
 * the makespan, not at the simulated sample's hours), starts every axis at zero, and, for a
 * sweep, holds every fleet's cost and makespan with the deadline and the chosen fleet.
 */
import { describe, expect, it } from 'vitest';
import { chartLibrary } from '../../cmd/sim/chart-library.ts';
import { sweepRow, type SweepResult } from '../../sim/capacity-sweep.ts';
import { simulate, type SimulationResult } from '../../sim/fleet-simulation.ts';
import { htmlReport, htmlSweepReport } from '../../sim/html-report.ts';
import { defaultScenario } from '../../sim/scenario.ts';

const library = chartLibrary();
const small = simulate({ ...defaultScenario, instances: 3, files: 40, instanceType: 'c6gn.xlarge', seed: 5 });

interface ChartData {
  kind: string;
  x: number[];
  xUnit: string;
  labels?: string[];
  series: { name: string; values: (number | null)[] }[];
  deadline?: number | null;
  chosen?: number | null;
}

function chartData(page: string): ChartData[] {
  const match = /<script id="chart-data" type="application\/json">(.*?)<\/script>/s.exec(page);
  expect(match).not.toBeNull();
  return JSON.parse(match?.[1] ?? '[]') as ChartData[];
}

describe('HTML report', () => {
  it('is one page that loads nothing from elsewhere, with the charting library inlined', () => {
    const page = htmlReport(small, library);
    expect(page).toContain(library.script.slice(0, 200));
    // The library's MIT notice travels with its code.
    expect(page).toContain('Copyright (c) 2022 Leon Sorokin');
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!github\.com\/leeoniya)/);
  });

  it('draws time in the whole run: the last bucket ends at the makespan', () => {
    // A sample of the fleet and crawl: the simulator runs fewer files for fewer hours.
    const sampled: SimulationResult = { ...small, makespanHours: small.simulated.hours * 4, files: small.files * 4 };
    const [queue] = chartData(htmlReport(sampled, library));
    const minutes = queue?.xUnit === 'min' ? 60 : 1;
    const end = (queue?.x.at(-1) ?? 0) + ((queue?.x[1] ?? 0) - (queue?.x[0] ?? 0)) / 2;
    const { bucketMs, filesPerHour } = small.timeSeries;
    // The sample's buckets, each stretched four times, in the axis' unit.
    expect(end).toBeCloseTo(((filesPerHour.length * bucketMs) / 3_600_000) * 4 * minutes, 6);
    // The buckets cover the sample's hours, the last one partly: the axis ends within a bucket of the makespan.
    expect(Math.abs(end - sampled.makespanHours * minutes)).toBeLessThanOrEqual((bucketMs / 3_600_000) * 4 * minutes);
    expect(htmlReport(sampled, library)).toContain('time stretched ×4.00');
  });

  it('plots every fleet of a sweep by makespan and cost, with the deadline and the chosen fleet', () => {
    const other = simulate({ ...defaultScenario, instances: 6, files: 40, instanceType: 'c6gn.xlarge', seed: 5 });
    const sweep: SweepResult = { deadlineHours: 1.5, runs: [small, other], cheapest: other };
    const page = htmlSweepReport(sweep, library);
    const [scatter] = chartData(page);
    expect(scatter?.kind).toBe('scatter');
    const perHour = scatter?.xUnit === 'min' ? 60 : 1;
    expect(scatter?.x).toEqual([small, other].map((run) => run.makespanHours * perHour).sort((a, b) => a - b));
    expect(scatter?.deadline).toBe(1.5 * perHour);
    const chosen = scatter?.chosen ?? -1;
    expect(scatter?.x[chosen]).toBe(other.makespanHours * perHour);
    expect(scatter?.series[0]?.values[chosen]).toBe(other.costDollars);
    expect(scatter?.labels?.[chosen]).toContain('6 × c6gn.xlarge');
    // The table under it, the chosen fleet's row marked; then the chosen fleet's own charts.
    expect(page).toMatch(/<tr class="chosen"><td>c6gn\.xlarge<\/td><td>6<\/td>/);
    expect(chartData(page).length).toBeGreaterThan(1);
    expect(sweepRow(other)).toContain(other.makespanHours.toPrecision(4));
  });
});
