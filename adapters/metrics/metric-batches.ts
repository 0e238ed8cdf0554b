/**
 * Splits metric data into PutMetricData requests within CloudWatch's limits: 1,000 data
 * points and 1 MB of request a call. The size is estimated from the JSON each datum
 * becomes, with room kept for the envelope.
 */
import type { MetricDatum as SdkMetricDatum } from '@aws-sdk/client-cloudwatch';
import type { MetricDatum } from '../../core/metrics.ts';

export const putMetricDataCountMax = 1000;
export const putMetricDataBytesMax = 1_000_000;
/** Namespace, field names and framing around the data points. */
const envelopeBytes = 16 * 1024;

export function toSdkDatum(datum: MetricDatum): SdkMetricDatum {
  const dimensions = Object.entries(datum.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value }));
  return {
    MetricName: datum.name,
    Value: datum.value,
    Unit: datum.unit,
    Timestamp: new Date(datum.timestampMs),
    ...(dimensions.length > 0 ? { Dimensions: dimensions } : {}),
  };
}

function estimatedBytes(datum: SdkMetricDatum): number {
  // Timestamps travel as epoch seconds in the JSON protocol; the ISO text is longer, so safe.
  return Buffer.byteLength(JSON.stringify(datum)) + 1;
}

export interface BatchLimits {
  readonly countMax: number;
  readonly bytesMax: number;
}

export const cloudWatchBatchLimits: BatchLimits = { countMax: putMetricDataCountMax, bytesMax: putMetricDataBytesMax };

/** Consecutive batches, in order; each datum lands in exactly one. */
export function metricBatches(data: readonly MetricDatum[], limits = cloudWatchBatchLimits): SdkMetricDatum[][] {
  const batches: SdkMetricDatum[][] = [];
  let current: SdkMetricDatum[] = [];
  let currentBytes = envelopeBytes;
  for (const datum of data) {
    const sdkDatum = toSdkDatum(datum);
    const bytes = estimatedBytes(sdkDatum);
    if (current.length > 0 && (current.length >= limits.countMax || currentBytes + bytes > limits.bytesMax)) {
      batches.push(current);
      current = [];
      currentBytes = envelopeBytes;
    }
    current.push(sdkDatum);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
