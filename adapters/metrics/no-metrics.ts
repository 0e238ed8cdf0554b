/** `--metrics none`: every metric is discarded. */
import type { Metrics } from '../../core/metrics.ts';
import type { SnapshotReporter } from './snapshot-reporter.ts';

export class NoMetrics implements Metrics, SnapshotReporter {
  async report(): Promise<void> {}
  async put(): Promise<void> {}
}
