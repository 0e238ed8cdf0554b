/**
 * Metrics to CloudWatch with PutMetricData, namespace `CommonCrawlWorker`. The driver hands
 * over a batch every 15 s; data wait in a bounded buffer and go out in requests within the
 * API's limits. A failed request is counted and logged (redacted), and its data stay in the
 * buffer for the next round; past the bound the oldest data are dropped (and counted).
 * Nothing here throws into the pipeline or waits on CloudWatch for longer than the
 * client's request timeout, and only one round of requests runs at a time.
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { MetricDatum, Metrics } from '../../core/metrics.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import { describeError, redact } from '../aws/redact.ts';
import type { SnapshotReporter } from './snapshot-reporter.ts';
import { cloudWatchBatchLimits, metricBatches, type BatchLimits } from './metric-batches.ts';
import { metricDataFromSnapshot, metricsNamespace, type MetricDataOptions } from './metric-data.ts';

export interface CloudWatchMetricsOptions extends MetricDataOptions {
  readonly client: CloudWatchClient;
  readonly namespace?: string;
  /** Data points kept for a later round when CloudWatch fails; about an hour of one worker. */
  readonly bufferedDataMax?: number;
  readonly batchLimits?: BatchLimits;
  readonly log?: (message: string) => void;
}

export class CloudWatchMetrics implements Metrics, SnapshotReporter {
  failedPuts = 0;
  droppedData = 0;
  sentRequests = 0;
  private buffer: MetricDatum[] = [];
  private previous: MetricsSnapshot | null = null;
  private round: Promise<void> | null = null;
  private readonly namespace: string;
  private readonly bufferedDataMax: number;

  constructor(private readonly options: CloudWatchMetricsOptions) {
    this.namespace = options.namespace ?? metricsNamespace;
    this.bufferedDataMax = options.bufferedDataMax ?? 10_000;
  }

  report(snapshot: MetricsSnapshot): Promise<void> {
    const data = metricDataFromSnapshot(snapshot, this.previous, this.options);
    this.previous = snapshot;
    return this.put(data);
  }

  async put(batch: readonly MetricDatum[]): Promise<void> {
    this.buffer.push(...batch);
    const excess = this.buffer.length - this.bufferedDataMax;
    if (excess > 0) {
      this.buffer = this.buffer.slice(excess);
      this.droppedData += excess;
    }
    // A round already running takes the new data along in the next one.
    if (this.round !== null) return;
    this.round = this.sendRound().finally(() => {
      this.round = null;
    });
    await this.round;
  }

  /** Sends what is still buffered, after the round in flight: the run's last snapshot must not be lost at exit. */
  async flush(): Promise<void> {
    if (this.round !== null) await this.round;
    if (this.buffer.length > 0) await this.put([]);
  }

  /** Sends what is buffered, batch by batch; stops at the first failure, keeping the rest. */
  private async sendRound(): Promise<void> {
    const pending = this.buffer;
    this.buffer = [];
    const batches = metricBatches(pending, this.options.batchLimits ?? cloudWatchBatchLimits);
    let sent = 0;
    for (const batch of batches) {
      try {
        await this.options.client.send(new PutMetricDataCommand({ Namespace: this.namespace, MetricData: batch }));
        this.sentRequests += 1;
        sent += batch.length;
      } catch (error) {
        this.failedPuts += 1;
        this.options.log?.(
          redact(
            `CloudWatch PutMetricData failed, keeping ${pending.length - sent} data points for the next round: ${describeError(error)}`,
          ),
        );
        break;
      }
    }
    const merged = [...pending.slice(sent), ...this.buffer];
    const excess = merged.length - this.bufferedDataMax;
    if (excess > 0) this.droppedData += excess;
    this.buffer = excess > 0 ? merged.slice(excess) : merged;
  }
}
