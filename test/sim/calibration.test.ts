// Proves `--calibrate` recovers the model parameters a run was made with: a simulated worker
// with known decode and encode rates and commit latency writes its metrics snapshots as the
// JSON-lines log the node runtime writes; calibrating from that log gives back the rates
// within 15% and the commit latency within 25% (busy time is sampled every 15 s, so the
// run is long and the tasks are slow enough for the samples to catch them); that the decode
// rate is still recovered when fetching ran far ahead of decoding before the first snapshot
// (the decoded bytes come from the records counter, not from the fetched bytes); that rows
// per input byte and Parquet bytes per row come from the totals; and a log without
// snapshots is refused with a reason.
import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import { calibrate } from '../../sim/calibration.ts';
import { simulate } from '../../sim/fleet-simulation.ts';
import { defaultModels, withModels } from '../../sim/models.ts';
import { defaultScenario } from '../../sim/scenario.ts';

const near = (measured: number | undefined, expected: number, tolerance: number): void => {
  expect(measured).toBeDefined();
  expect(
    Math.abs((measured as number) - expected) / expected,
    `measured ${measured}, expected ${expected}`,
  ).toBeLessThan(tolerance);
};

describe('calibration from a metrics log', () => {
  it('recovers the CPU rates and commit latency of the run that wrote the log', () => {
    const models = withModels(defaultModels, {
      cpu: { decodeBytesPerSecondPerCore: 40_000_000, encodeRowsPerSecondPerCore: 5_000 },
      ledger: { commitLatencyMedianMs: 3_000, commitLatencySigma: 0.01, commitFailureRate: 0 },
      crash: { crashesPerInstanceHour: 0 },
    });
    const lines: string[] = [];
    // Busy time is read off snapshots 15 s apart, so the run's start and tail blur it: 600
    // files keep that under 10% (300 gave 16% on encode).
    simulate(
      { ...defaultScenario, instances: 1, instanceType: 'c6gn.large', files: 600, models },
      {
        onSnapshot: (_instance: number, snapshot: MetricsSnapshot) => lines.push(JSON.stringify(snapshot)),
      },
    );
    lines.push('{"level":"info","message":"not a snapshot"}');
    const result = calibrate(lines.join('\n'), defaultModels, defaultScenario.limits.chunkBytes ?? 32 * 1024 * 1024);
    if (typeof result === 'string') throw new Error(result);
    near(result.overrides.cpu?.decodeBytesPerSecondPerCore, 40_000_000, 0.15);
    near(result.overrides.cpu?.encodeRowsPerSecondPerCore, 5_000, 0.15);
    near(result.overrides.ledger?.commitLatencyMedianMs, 3_000, 0.25);
  });

  it('recovers the decode rate when fetching ran ahead of decoding, and the data model', () => {
    // A fast network and 4 GiB of memory: the whole input is fetched within seconds, long
    // before the first snapshot at 15 s, while decoding it takes about a minute.
    const models = withModels(defaultModels, {
      cpu: { decodeBytesPerSecondPerCore: 10_000_000 },
      data: { rowsPerInputByte: 150 / 1e6, parquetBytesPerRow: 97 },
      crash: { crashesPerInstanceHour: 0 },
    });
    const lines: string[] = [];
    simulate(
      {
        ...defaultScenario,
        instances: 1,
        instanceType: 'c6gn.xlarge',
        files: 8,
        fileBytes: 256 * 1024 * 1024,
        fileBytesSpread: 0,
        models,
      },
      {
        onSnapshot: (_instance: number, snapshot: MetricsSnapshot) => lines.push(JSON.stringify(snapshot)),
      },
    );
    const first = JSON.parse(lines[0] as string) as MetricsSnapshot;
    const last = JSON.parse(lines[lines.length - 1] as string) as MetricsSnapshot;
    expect(
      first.counters.bytesIn / last.counters.bytesIn,
      'most bytes fetched before the first snapshot',
    ).toBeGreaterThan(0.5);
    const result = calibrate(lines.join('\n'), defaultModels, 32 * 1024 * 1024);
    if (typeof result === 'string') throw new Error(result);
    near(result.overrides.cpu?.decodeBytesPerSecondPerCore, 10_000_000, 0.15);
    near(result.overrides.data?.rowsPerInputByte, 150 / 1e6, 0.02);
    // The footer of each file adds to the Parquet bytes; 8 footers over 300,000 rows are little.
    near(result.overrides.data?.parquetBytesPerRow, 97, 0.05);
  });

  it('refuses a log without snapshots', () => {
    expect(calibrate('{"level":"info"}\nnot json\n', defaultModels, 1)).toMatch(/fewer than two metrics snapshots/);
  });
});

describe('calibration of the content schema', () => {
  it('recovers the content rates from a content run, leaving the index rates as they were', () => {
    const content = withModels(defaultModels, {
      schema: {
        output: 'content',
        contentDecodeBytesPerSecondPerCore: 30_000_000,
        contentEncodeRowsPerSecondPerCore: 2_000,
      },
      crash: { crashesPerInstanceHour: 0 },
    });
    const lines: string[] = [];
    simulate(
      { ...defaultScenario, instances: 1, instanceType: 'c6gn.large', files: 300, models: content },
      { onSnapshot: (_instance: number, snapshot: MetricsSnapshot) => lines.push(JSON.stringify(snapshot)) },
    );
    const asContent = withModels(defaultModels, { schema: { output: 'content' } });
    const result = calibrate(lines.join('\n'), asContent, defaultScenario.limits.chunkBytes ?? 32 * 1024 * 1024);
    if (typeof result === 'string') throw new Error(result);
    near(result.overrides.schema?.contentDecodeBytesPerSecondPerCore, 30_000_000, 0.15);
    near(result.overrides.schema?.contentEncodeRowsPerSecondPerCore, 2_000, 0.15);
    expect(result.overrides.cpu).toBeUndefined();
    const calibrated = withModels(asContent, result.overrides);
    expect(calibrated.cpu).toEqual(defaultModels.cpu);
  });
});
