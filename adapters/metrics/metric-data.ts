/**
 * Turns the core's `MetricsSnapshot` into CloudWatch data points. Gauges (queue depth,
 * active workers per stage, held bytes, remote limits) are sent as they are; counters are
 * cumulative in the snapshot, and are sent as the increase since the previous snapshot so
 * that CloudWatch's Sum over a period means "this many in the period".
 *
 * Bad, skipped and warned records go out twice: as totals without a reason (what alarms and
 * the dashboard's per-run charts sum), and by a `Reason` dimension holding the code, one
 * datum for each code that grew in the interval. A dimension rather than a metric per code:
 * CloudWatch keeps each dimension set as a metric of its own anyway, so the cost is the same
 * (one metric per run and code seen), while one name lets a single SEARCH chart every code,
 * the codes added later included, and keeps `Reason` one of the 30 dimensions a metric may
 * have (it has two with `RunId`). Sending only the codes that grew keeps a clean run's
 * requests as they were, and a damaged one's to at most a datum per code (about 20), far
 * within PutMetricData's 1,000 a request.
 */
import type { MetricDatum } from '../../core/metrics.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import {
  badRecordReasons,
  type ReasonCounts,
  type ReasonSet,
  recordWarningReasons,
  skippedRecordReasons,
} from '../../core/record-reasons.ts';
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
    const now = snapshot.counters[field];
    data.push(datum(name, increase(now, previous?.counters[field] ?? 0), unit));
  }
  const reasons = snapshot.recordReasons;
  const before = previous?.recordReasons;
  const byReason = <Code extends string>(
    name: string,
    set: ReasonSet<Code>,
    now: ReasonCounts<Code>,
    then: ReasonCounts<Code> | undefined,
  ): void => {
    for (const code of set.codes) {
      const grown = increase(now[code] ?? 0, then?.[code] ?? 0);
      if (grown > 0) data.push(datum(name, grown, 'Count', { Reason: code }));
    }
  };
  byReason('BadRecords', badRecordReasons, reasons.bad, before?.bad);
  byReason('SkippedRecords', skippedRecordReasons, reasons.skipped, before?.skipped);
  byReason('RecordWarnings', recordWarningReasons, reasons.warning, before?.warning);
  return data;
}

/** A counter's increase since the previous snapshot; one that went down means the worker restarted: the new count as it is. */
function increase(now: number, before: number): number {
  return now >= before ? now - before : now;
}
