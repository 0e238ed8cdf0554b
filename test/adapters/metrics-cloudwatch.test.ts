/**
 * Proves the CloudWatch metrics sink with the real SDK client pointed at a loopback
 * endpoint that decodes each PutMetricData request: namespace `CommonCrawlWorker`;
 * `QueueDepth` and `ActiveWorkers` per `Stage`; counters sent as increases since the last
 * snapshot; requests within 1,000 data points and 1 MB; a failed put counted, never thrown,
 * its data sent in the next round; the retry buffer bounded.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { MetricDatum } from '../../core/metrics.ts';
import { createCloudWatchClient } from '../../adapters/aws/aws-clients.ts';
import { CloudWatchMetrics } from '../../adapters/metrics/cloudwatch-metrics.ts';
import { metricBatches } from '../../adapters/metrics/metric-batches.ts';
import { metricDataFromSnapshot } from '../../adapters/metrics/metric-data.ts';
import { startCloudWatchEndpoint, type CloudWatchEndpoint } from '../support/cloudwatch-endpoint.ts';
import { sampleSnapshot } from '../support/sample-metrics-snapshot.ts';

let endpoint: CloudWatchEndpoint;
const credentials = { accessKeyId: 'AKIDLOOPBACKTEST', secretAccessKey: 'loopback-secret' };

beforeAll(async () => {
  endpoint = await startCloudWatchEndpoint();
});
afterAll(async () => endpoint?.stop());
beforeEach(() => {
  endpoint.puts.length = 0;
  endpoint.failNext = 0;
});

function metrics(options: { bufferedDataMax?: number; log?: (line: string) => void } = {}): CloudWatchMetrics {
  const client = createCloudWatchClient({ endpoint: endpoint.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  return new CloudWatchMetrics({ client, dimensions: { RunId: 'run-7' }, ...options });
}

describe('CloudWatch metrics', () => {
  test('a snapshot arrives with namespace, names, dimensions, units and values', async () => {
    const sink = metrics();
    await sink.report(sampleSnapshot(1_700_000_000_000));
    expect(endpoint.puts.length).toBe(1);
    const [put] = endpoint.puts;
    expect(put?.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(put?.namespace).toBe('CommonCrawlWorker');
    const find = (name: string, stage?: string) =>
      put?.data.find((datum) => datum.name === name && (stage === undefined || datum.dimensions.Stage === stage));
    expect(find('QueueDepth', 'fetch')).toMatchObject({
      value: 4,
      unit: 'Count',
      dimensions: { Stage: 'fetch', RunId: 'run-7' },
      timestampMs: 1_700_000_000_000,
    });
    expect(find('ActiveWorkers', 'upload')).toMatchObject({
      value: 4,
      dimensions: { Stage: 'upload', RunId: 'run-7' },
    });
    expect(find('HeldBytes')).toMatchObject({ value: 123_456_789, unit: 'Bytes' });
    expect(put?.data.filter((datum) => datum.name === 'RemoteLimit').map((datum) => datum.dimensions.Remote)).toEqual([
      'source',
      'sink',
    ]);
    for (const name of ['Records', 'BadRecords', 'BytesIn', 'BytesOut', 'Failures', 'Throttles'])
      expect(find(name)).toBeDefined();
    // Skipped records (dns:, whois:) are sent apart from bad ones, and rows kept with a warning too.
    expect([find('SkippedRecords')?.value, find('RecordWarnings')?.value, find('BadRecords')?.value]).toEqual([
      2, 1, 4,
    ]);
    expect(find('Throttles')?.value).toBe(2);
  });

  test('counters are sent as increases since the previous snapshot', async () => {
    const sink = metrics();
    await sink.report(sampleSnapshot(1_700_000_000_000, 1));
    await sink.report(sampleSnapshot(1_700_000_015_000, 3));
    const second = endpoint.puts[1]?.data ?? [];
    expect(second.find((datum) => datum.name === 'Records')?.value).toBe(6_000);
    expect(second.find((datum) => datum.name === 'BytesIn')?.value).toBe(2_000_000);
    expect(second.find((datum) => datum.name === 'QueueDepth' && datum.dimensions.Stage === 'fetch')?.value).toBe(12);
  });

  test('bad, skipped and warned records go out by Reason too, for the codes that grew since the last snapshot', async () => {
    const sink = metrics();
    const first = sampleSnapshot(1_700_000_000_000, 1);
    const later = sampleSnapshot(1_700_000_015_000, 3);
    // non_warc_data did not grow: no datum for it; truncated_record grew by 6.
    await sink.report(first);
    await sink.report({
      ...later,
      recordReasons: { ...later.recordReasons, bad: { truncated_record: 9, non_warc_data: 1 } },
    });
    const byReason = (put: number) =>
      (endpoint.puts[put]?.data ?? [])
        .filter((datum) => datum.dimensions.Reason !== undefined)
        .map((datum) => [datum.name, datum.dimensions.Reason, datum.value, datum.unit, datum.dimensions.RunId]);
    expect(byReason(0)).toEqual([
      ['BadRecords', 'truncated_record', 3, 'Count', 'run-7'],
      ['BadRecords', 'non_warc_data', 1, 'Count', 'run-7'],
      ['SkippedRecords', 'not_http_capture', 2, 'Count', 'run-7'],
      ['RecordWarnings', 'unreadable_warc_date', 1, 'Count', 'run-7'],
    ]);
    expect(byReason(1)).toEqual([
      ['BadRecords', 'truncated_record', 6, 'Count', 'run-7'],
      ['SkippedRecords', 'not_http_capture', 4, 'Count', 'run-7'],
      ['RecordWarnings', 'unreadable_warc_date', 2, 'Count', 'run-7'],
    ]);
    // The totals stay without a Reason, for the alarms and the dashboard that sum them.
    const total = endpoint.puts[1]?.data.find(
      (datum) => datum.name === 'BadRecords' && !('Reason' in datum.dimensions),
    );
    expect(total?.value).toBe(8);
  });

  test('2,500 data points go out in requests of at most 1,000, none lost', async () => {
    const sink = metrics();
    const data: MetricDatum[] = Array.from({ length: 2_500 }, (_, index) => ({
      name: 'Probe',
      value: index,
      unit: 'Count',
      timestampMs: 1_700_000_000_000,
      dimensions: { Stage: 'fetch', Index: String(index) },
    }));
    await sink.put(data);
    expect(endpoint.puts.map((put) => put.data.length)).toEqual([1_000, 1_000, 500]);
    expect(endpoint.puts.flatMap((put) => put.data.map((datum) => datum.value))).toEqual(
      data.map((datum) => datum.value),
    );
    expect(endpoint.puts.every((put) => put.bodyBytes < 1_000_000)).toBe(true);
  });

  test('batches also split by size, under 1 MB a request', () => {
    const wide: MetricDatum[] = Array.from({ length: 900 }, (_, index) => ({
      name: 'Wide',
      value: index,
      unit: 'None',
      timestampMs: 0,
      dimensions: Object.fromEntries(
        Array.from({ length: 29 }, (_, dimension) => [`Dimension${dimension}`, 'v'.repeat(60)]),
      ),
    }));
    const batches = metricBatches(wide);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches)
      expect(Buffer.byteLength(JSON.stringify({ Namespace: 'CommonCrawlWorker', MetricData: batch }))).toBeLessThan(
        1_000_000,
      );
    expect(batches.flat().length).toBe(900);
  });

  test('a failed put is counted and logged, not thrown, and its data go out next round', async () => {
    const lines: string[] = [];
    const sink = metrics({ log: (line) => lines.push(line) });
    endpoint.failNext = 1;
    await expect(sink.report(sampleSnapshot(1_700_000_000_000))).resolves.toBeUndefined();
    expect(sink.failedPuts).toBe(1);
    expect(lines[0]).toMatch(/PutMetricData failed/);
    await sink.report(sampleSnapshot(1_700_000_015_000));
    const sent = endpoint.puts.flatMap((put) => put.data);
    // The second round sends no datum by Reason: no code grew between the two snapshots.
    const firstSize = metricDataFromSnapshot(sampleSnapshot(0), null).length;
    const secondSize = metricDataFromSnapshot(sampleSnapshot(1), sampleSnapshot(0)).length;
    expect(secondSize).toBeLessThan(firstSize);
    expect(sent.length).toBe(firstSize + secondSize);
    expect(new Set(sent.map((datum) => datum.timestampMs))).toEqual(new Set([1_700_000_000_000, 1_700_000_015_000]));
  });

  test('while CloudWatch is down the buffer stays bounded, dropping the oldest', async () => {
    const sink = metrics({ bufferedDataMax: 50 });
    endpoint.failNext = 100;
    for (let round = 0; round < 5; round += 1) await sink.report(sampleSnapshot(1_700_000_000_000 + round * 15_000));
    expect(sink.failedPuts).toBe(5);
    expect(sink.droppedData).toBeGreaterThan(0);
    endpoint.failNext = 0;
    await sink.put([]);
    expect(endpoint.puts.flatMap((put) => put.data).length).toBe(50);
  });
});
