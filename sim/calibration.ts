import type { MetricsSnapshot } from '../core/metrics-snapshot.ts';
import type { ModelOverrides, Models } from './models.ts';

/** Lines of a metrics log read at most; a day of snapshots every 15 s is 5,760. */
const linesMax = 1_000_000;

export interface Calibration {
  readonly overrides: ModelOverrides;
  /** What was measured, in words, for the report. */
  readonly notes: readonly string[];
}

function isSnapshot(value: unknown): value is MetricsSnapshot {
  const candidate = value as Partial<MetricsSnapshot> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.atMs === 'number'
    && typeof candidate.activeWorkers === 'object' && typeof candidate.counters === 'object';
}

/**
 * Sets CPU rates and latencies from a real run's metrics log (JSON lines of MetricsSnapshot),
 * by Little's law on each stage: busy worker-seconds are the area under `activeWorkers`, and
 * the work done in them comes from the counters. So decode rate per core = bytes in / decode
 * busy seconds, encode rate = rows / encode busy seconds, commit latency = commit busy
 * seconds / jobs committed, and a fetch's mean time gives the per-stream rate once the
 * model's latency is taken out. Snapshots of one worker are assumed (one log per process).
 */
export function calibrate(logText: string, models: Models, chunkBytes: number): Calibration | string {
  const snapshots: MetricsSnapshot[] = [];
  for (const line of logText.split('\n').slice(0, linesMax)) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isSnapshot(value)) snapshots.push(value);
    } catch {
      // Other log lines may share the stream; only snapshots count.
    }
  }
  snapshots.sort((a, b) => a.atMs - b.atMs);
  if (snapshots.length < 2) return 'the metrics log holds fewer than two metrics snapshots';
  const busySeconds = { fetch: 0, decode: 0, encode: 0, commit: 0 };
  for (let index = 1; index < snapshots.length; index++) {
    const before = snapshots[index - 1] as MetricsSnapshot;
    const seconds = ((snapshots[index] as MetricsSnapshot).atMs - before.atMs) / 1000;
    for (const stage of ['fetch', 'decode', 'encode', 'commit'] as const) busySeconds[stage] += before.activeWorkers[stage] * seconds;
  }
  const first = (snapshots[0] as MetricsSnapshot).counters;
  const last = (snapshots[snapshots.length - 1] as MetricsSnapshot).counters;
  const bytesIn = last.bytesIn - first.bytesIn;
  const rows = last.rows - first.rows;
  const committed = last.jobsCommitted - first.jobsCommitted;
  const notes: string[] = [];
  const cpu: { decodeBytesPerSecondPerCore?: number; encodeRowsPerSecondPerCore?: number } = {};
  const source: { streamBytesPerSecond?: number } = {};
  const ledger: { commitLatencyMedianMs?: number } = {};
  if (busySeconds.decode > 0 && bytesIn > 0) {
    cpu.decodeBytesPerSecondPerCore = bytesIn / busySeconds.decode;
    notes.push(`decode ${(cpu.decodeBytesPerSecondPerCore / 1e6).toFixed(1)} MB/s per core`);
  }
  if (busySeconds.encode > 0 && rows > 0) {
    cpu.encodeRowsPerSecondPerCore = rows / busySeconds.encode;
    notes.push(`encode ${Math.round(cpu.encodeRowsPerSecondPerCore)} rows/s per core`);
  }
  if (busySeconds.fetch > 0 && bytesIn > 0) {
    const fetchSeconds = busySeconds.fetch / (bytesIn / chunkBytes);
    const movingSeconds = fetchSeconds - models.source.latencyMedianMs / 1000;
    source.streamBytesPerSecond = chunkBytes / (movingSeconds > 0 ? movingSeconds : fetchSeconds);
    notes.push(`fetch ${fetchSeconds.toFixed(2)} s per chunk, ${(source.streamBytesPerSecond / 1e6).toFixed(1)} MB/s per stream`);
  }
  if (busySeconds.commit > 0 && committed > 0) {
    ledger.commitLatencyMedianMs = (busySeconds.commit / committed) * 1000;
    notes.push(`commit ${ledger.commitLatencyMedianMs.toFixed(0)} ms`);
  }
  if (notes.length === 0) return 'the metrics log shows no work done (no busy workers, or counters that do not move)';
  return { overrides: { cpu, source, ledger }, notes };
}
