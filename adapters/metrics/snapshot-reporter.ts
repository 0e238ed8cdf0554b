/**
 * What the driver calls every metrics interval with the core's snapshot. Each metrics sink
 * implements it beside the `Metrics` port: the JSON-lines sink must write the snapshot as
 * it is (the simulator's `--calibrate` reads it), which `put(MetricDatum[])` cannot carry.
 */
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';

export interface SnapshotReporter {
  report(snapshot: MetricsSnapshot): Promise<void>;
}
