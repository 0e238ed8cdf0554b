/**
 * Turns the core's `MetricsSnapshot` into CloudWatch data points. Gauges (queue depth,
 * active workers per stage, held bytes, remote limits) are sent as they are; counters are
 * cumulative in the snapshot, and are sent as the increase since the previous snapshot so
 * that CloudWatch's Sum over a period means "this many in the period".
 */
import type { MetricDatum } from '../../core/metrics.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import { remotes, stages } from '../../core/stage.ts';

export const metricsNamespace = 'CommonCrawlWorker';

type Counters = MetricsSnapshot['counters'];

/** Counter name in the snapshot → metric name and unit. */
const counterMetrics: readonly [keyof Counters, string, MetricDatum['unit']][] = [
  ['records', 'Records', 'Count'],
  ['badRecords', 'BadRecords', 'Count'],
  ['skippedRecords', 'SkippedRecords', 'Count'],
  ['recordWarnings', 'RecordWarnings', 'Count'],
  ['rows', 'Rows', 'Count'],
  ['bytesIn', 'BytesIn', 'Bytes'],
  ['bytesOut', 'BytesOut', 'Bytes'],
  ['jobsClaimed', 'JobsClaimed', 'Count'],
  ['jobsCommitted', 'JobsCommitted', 'Count'],
  ['jobsFailed', 'JobsFailed', 'Count'],
  ['jobsReleased', 'JobsReleased', 'Count'],
  ['jobsLost', 'JobsLost', 'Count'],
  ['tasksFailed', 'Failures', 'Count'],
  ['retries', 'Retries', 'Count'],
  ['throttles', 'Throttles', 'Count'],
];

export interface MetricDataOptions {
  /** Added to every datum, e.g. `{ RunId }`; CloudWatch allows 30 dimensions a metric. */
  readonly dimensions?: Readonly<Record<string, string>>;
}

export function metricDataFromSnapshot(
  snapshot: MetricsSnapshot,
  previous: MetricsSnapshot | null,
  options: MetricDataOptions = {},
): MetricDatum[] {
  const common = options.dimensions ?? {};
  const timestampMs = snapshot.atMs;
  const datum = (
    name: string,
    value: number,
    unit: MetricDatum['unit'],
    extra: Record<string, string> = {},
  ): MetricDatum => ({
    name,
    value,
    unit,
    timestampMs,
    dimensions: { ...common, ...extra },
  });
  const data: MetricDatum[] = [];
  for (const stage of stages) {
    data.push(datum('QueueDepth', snapshot.queueDepth[stage], 'Count', { Stage: stage }));
    data.push(datum('ActiveWorkers', snapshot.activeWorkers[stage], 'Count', { Stage: stage }));
  }
  for (const remote of remotes)
    data.push(datum('RemoteLimit', snapshot.remoteLimit[remote], 'Count', { Remote: remote }));
  data.push(datum('BackoffTasks', snapshot.backoffTasks, 'Count'));
  data.push(datum('JobsActive', snapshot.jobsActive, 'Count'));
  data.push(datum('HeldBytes', snapshot.heldBytes, 'Bytes'));
  data.push(datum('MemoryBudgetBytes', snapshot.memoryBudgetBytes, 'Bytes'));
  for (const [field, name, unit] of counterMetrics) {
    // A counter that went down means the worker restarted: send the new count as it is.
    const now = snapshot.counters[field];
    const before = previous?.counters[field] ?? 0;
    data.push(datum(name, now >= before ? now - before : now, unit));
  }
  return data;
}
