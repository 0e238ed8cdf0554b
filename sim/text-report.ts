import { stages } from '../core/stage.ts';
import { durationText } from '../core/units-text.ts';
import { resourceName, type SimulationResult } from './fleet-simulation.ts';

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

/**
 * A makespan with the precision that tells two runs apart: hours to three decimals (3.6 s),
 * then the same as hours and minutes or minutes and seconds. Policies and fleet sizes differ
 * by a few minutes on runs of hours, which two decimals (36 s steps, "0.79 h") hide.
 */
export function makespanText(hours: number): string {
  return `${hours.toFixed(3)} h (${durationText(hours * 3_600_000)})`;
}

/** The planner's answer for people: what it takes, what it costs, and what limits it. */
export function textReport(result: SimulationResult): string {
  const sample = result.simulated;
  const lines = [
    `fleet            ${result.instances} × ${result.instanceType}, policy ${result.policy}, seed ${result.seed}`,
    `files            ${result.files} (${result.filesDone} done, ${result.filesFailed} failed)`,
    `simulated        ${sample.instances} instances with ${sample.files} files for ${sample.hours.toFixed(2)} h, ${sample.events} events` +
      (sample.instances < result.instances || sample.files < result.files
        ? ' (a sample, scaled to the fleet and crawl)'
        : ''),
    ...subsetLines(result),
    `makespan         ${makespanText(result.makespanHours)}`,
    `throughput       ${Math.round(result.filesPerHour)} files/hour, ${result.gigabytesPerHour.toFixed(0)} GB/hour`,
    `cost             $${result.costDollars.toFixed(2)} (on-demand, per-second billing; of it $${result.requestCostDollars.toFixed(2)} S3 requests on the output)`,
    `bottleneck       ${result.bottleneck}`,
    ...(sample.instances < result.instances && result.bottleneck.includes('ceiling')
      ? [
          'caution          a fleet-wide ceiling binds, and a sample of the fleet meets it more smoothly than the whole fleet does:' +
            ' expect a makespan up to ~10% longer (bench sim.ts: 8 of 50 instances came out 7–10% short); sampleInstancesMax: 0 simulates all',
        ]
      : []),
    ...(result.bottleneck.startsWith(resourceName('sourceRequests')) && result.resourceUtilization.sourceGovernor === 0
      ? [
          `governor         --source-requests-per-second ${Math.floor(result.sourceRequestsPerSecondShare * 10) / 10} on each worker ` +
            '(its share of the ceiling) keeps the fleet under it: none of its requests refused, where the throttling rule alone lets about 0.5% over (docs/figures.md)',
        ]
      : []),
    `resources        CPU ${percent(result.resourceUtilization.cpu)}, network in ${percent(result.resourceUtilization.networkIn)}, ` +
      `out ${percent(result.resourceUtilization.networkOut)}, source requests ${percent(result.resourceUtilization.sourceRequests)}, ` +
      `sink requests ${percent(result.resourceUtilization.sinkRequests)}` +
      (result.resourceUtilization.sourceGovernor > 0
        ? `, each worker's source request rate ${percent(result.resourceUtilization.sourceGovernor)}`
        : ''),
    `job latency      p50 ${result.jobLatencySeconds.p50.toFixed(1)} s, p99 ${result.jobLatencySeconds.p99.toFixed(1)} s`,
    `peak memory      ${(result.peakHeldBytes / 1024 ** 3).toFixed(2)} GiB held on one instance`,
    `faults           ${result.crashes} crashes, ${result.jobsReclaimed} leases reclaimed, ` +
      `${result.throttled.source} source and ${result.throttled.sink} sink requests over the ceiling`,
    '',
    'stage      utilization  mean queue depth per instance',
  ];
  for (const stage of stages) {
    lines.push(
      `${stage.padEnd(10)} ${percent(result.stageUtilization[stage]).padStart(11)}  ${result.meanQueueDepth[stage].toFixed(2).padStart(8)}`,
    );
  }
  return lines.join('\n');
}

/** A subset run's picks and requests, when the jobs were subsets. */
function subsetLines(result: SimulationResult): string[] {
  const subset = result.subset;
  if (subset === null) return [];
  const perPick = (value: number): string => (subset.captures === 0 ? '-' : (value / subset.captures).toFixed(3));
  return [
    `subset           ${subset.captures} captures picked, ${subset.capturesExported} exported; ` +
      `${subset.requests} requests (${perPick(subset.requests)} a capture), ${subset.requestsSent} sent with retries; ` +
      `${(subset.bytesFetched / Math.max(1, subset.bytesPicked)).toFixed(2)} bytes fetched a byte picked, ` +
      `gaps under ${(subset.coalesceGapBytes / 1024).toFixed(0)} KiB bridged`,
  ];
}
