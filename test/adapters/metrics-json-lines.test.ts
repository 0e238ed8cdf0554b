/**
 * Proves the JSON-lines metrics sink: each snapshot is one line holding the MetricsSnapshot
 * exactly as the core made it (the format the simulator's `--calibrate` reads); a batch of
 * data points is one line; a stream that does not drain loses lines, counted, instead of
 * growing memory; `none` accepts everything and writes nothing.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { JsonLinesMetrics } from '../../adapters/metrics/json-lines-metrics.ts';
import { NoMetrics } from '../../adapters/metrics/no-metrics.ts';
import { sampleSnapshot } from '../support/sample-metrics-snapshot.ts';

function collect(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return {
    stream,
    lines: () =>
      Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== ''),
  };
}

describe('JSON-lines metrics', () => {
  test('one snapshot a line, as the core made it', async () => {
    const { stream, lines } = collect();
    const sink = new JsonLinesMetrics({ stream });
    await sink.report(sampleSnapshot(1_000));
    await sink.report(sampleSnapshot(16_000, 2));
    expect(lines().map((line) => JSON.parse(line))).toEqual([sampleSnapshot(1_000), sampleSnapshot(16_000, 2)]);
  });

  test('a batch of data points is one line', async () => {
    const { stream, lines } = collect();
    await new JsonLinesMetrics({ stream }).put([
      { name: 'QueueDepth', value: 3, unit: 'Count', timestampMs: 5, dimensions: { Stage: 'fetch' } },
    ]);
    expect(JSON.parse(lines()[0] as string)).toEqual({
      metricData: [{ name: 'QueueDepth', value: 3, unit: 'Count', timestampMs: 5, dimensions: { Stage: 'fetch' } }],
    });
  });

  test('a stream that does not drain loses lines, counted', async () => {
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    const sink = new JsonLinesMetrics({ stream: stuck, bufferedBytesMax: 1_000 });
    for (let round = 0; round < 10; round += 1) await sink.report(sampleSnapshot(round));
    expect(sink.droppedLines).toBeGreaterThan(0);
    expect(stuck.writableLength).toBeLessThan(10_000);
  });

  test('none writes nothing', async () => {
    const sink = new NoMetrics();
    await expect(sink.report()).resolves.toBeUndefined();
    await expect(sink.put()).resolves.toBeUndefined();
  });
});
