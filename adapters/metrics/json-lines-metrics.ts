/**
 * Metrics as JSON lines on stdout, the default for local runs. `report` writes the core's
 * `MetricsSnapshot` as it is, one object a line: the simulator's `--calibrate` reads that
 * format. `put` (the Metrics port) writes one `{"metricData":[…]}` line a batch. A stream
 * that does not keep up loses lines (counted) rather than growing memory without bound.
 */
import type { Writable } from 'node:stream';
import type { MetricDatum, Metrics } from '../../core/metrics.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import type { SnapshotReporter } from './snapshot-reporter.ts';

export type { SnapshotReporter } from './snapshot-reporter.ts';

export interface JsonLinesMetricsOptions {
  readonly stream?: Writable;
  /** Unwritten bytes the stream may hold before lines are dropped. */
  readonly bufferedBytesMax?: number;
}

export class JsonLinesMetrics implements Metrics, SnapshotReporter {
  droppedLines = 0;
  private readonly stream: Writable;
  private readonly bufferedBytesMax: number;

  constructor(options: JsonLinesMetricsOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.bufferedBytesMax = options.bufferedBytesMax ?? 4 * 1024 * 1024;
  }

  async report(snapshot: MetricsSnapshot): Promise<void> {
    this.writeLine(JSON.stringify(snapshot));
  }

  async put(batch: readonly MetricDatum[]): Promise<void> {
    if (batch.length > 0) this.writeLine(JSON.stringify({ metricData: batch }));
  }

  private writeLine(line: string): void {
    if (this.stream.writableLength > this.bufferedBytesMax) {
      this.droppedLines += 1;
      return;
    }
    this.stream.write(`${line}\n`);
  }
}
