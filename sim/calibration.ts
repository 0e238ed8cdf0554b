import { at } from '../core/checked-access.ts';
import type { MetricsSnapshot } from '../core/metrics-snapshot.ts';
import type { CpuModel, ModelOverrides, Models, SchemaModel } from './models.ts';

/** Lines of a metrics log read at most; a day of snapshots every 15 s is 5,760. */
const linesMax = 1_000_000;

export interface Calibration {
  readonly overrides: ModelOverrides;
  /** What was measured, in words, for the report. */
  readonly notes: readonly string[];
}

function isSnapshot(value: unknown): value is MetricsSnapshot {
  const candidate = value as Partial<MetricsSnapshot> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.atMs === 'number' &&
    typeof candidate.activeWorkers === 'object' &&
    typeof candidate.counters === 'object'
  );
}

/** A log line's JSON value; undefined for a line that is no JSON (other output may share the stream). */
function parsedJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function snapshotsOf(logText: string): MetricsSnapshot[] {
  const snapshots: MetricsSnapshot[] = [];
  for (const line of logText.split('\n').slice(0, linesMax)) {
    if (line.trim() === '') continue;
    const value = parsedJson(line);
    if (isSnapshot(value)) snapshots.push(value);
  }
  return snapshots.sort((a, b) => a.atMs - b.atMs);
}

type BusyStage = 'fetch' | 'decode' | 'encode' | 'commit';

/** Busy worker-seconds of each stage between the first and last snapshot: the area under `activeWorkers`. */
function busySecondsOf(snapshots: readonly MetricsSnapshot[]): Record<BusyStage, number> {
  const busy = { fetch: 0, decode: 0, encode: 0, commit: 0 };
  for (let index = 1; index < snapshots.length; index++) {
    const before = at(snapshots, index - 1);
    const seconds = (at(snapshots, index).atMs - before.atMs) / 1000;
    for (const stage of ['fetch', 'decode', 'encode', 'commit'] as const)
      busy[stage] += before.activeWorkers[stage] * seconds;
  }
  return busy;
}

/**
 * Sets CPU rates, commit latency and the data model from a real run's metrics log (JSON lines
 * of MetricsSnapshot), by Little's law on each stage: busy worker-seconds are the area under
 * `activeWorkers` between the first and the last snapshot, and the work each stage did in
 * that window comes from the counter that stage moves. Each counter moves at its own stage:
 * `bytesIn` when a chunk is fetched, `records` when it is decoded, `rows` when a row group is
 * encoded, `jobsCommitted` at commit. So the decoded bytes of the window are its records
 * times the run's bytes per record, not its fetched bytes: fetching runs ahead of decoding by
 * up to the memory budget, which in a short run is much of the input.
 *
 * The data model (rows per input byte, Parquet bytes per row) comes from the totals. A fetch's
 * mean time gives the per-stream rate once the model's latency is taken out; it counts chunks
 * as `bytesIn / chunkBytes`, so it assumes the log's run read chunks of `chunkBytes` from a
 * remote with the model's latency. Snapshots of one worker are assumed (one log per process),
 * whose counters count from its start, as the node runtime writes them.
 */
export function calibrate(logText: string, models: Models, chunkBytes: number): Calibration | string {
  const snapshots = snapshotsOf(logText);
  if (snapshots.length < 2) return 'the metrics log holds fewer than two metrics snapshots';
  const busySeconds = busySecondsOf(snapshots);
  const first = at(snapshots, 0).counters;
  const last = at(snapshots, snapshots.length - 1).counters;
  const bytesPerRecord = last.records > 0 ? last.bytesIn / last.records : 0;
  const decodedBytes = (last.records - first.records) * bytesPerRecord;
  const fetchedBytes = last.bytesIn - first.bytesIn;
  const rows = last.rows - first.rows;
  const committed = last.jobsCommitted - first.jobsCommitted;
  const notes: string[] = [];
  const cpu: { decodeBytesPerSecondPerCore?: number; encodeRowsPerSecondPerCore?: number } = {};
  const source: { streamBytesPerSecond?: number } = {};
  const ledger: { commitLatencyMedianMs?: number } = {};
  const data: { rowsPerInputByte?: number; parquetBytesPerRow?: number } = {};
  if (busySeconds.decode > 0 && decodedBytes > 0) {
    cpu.decodeBytesPerSecondPerCore = decodedBytes / busySeconds.decode;
    notes.push(`decode ${(cpu.decodeBytesPerSecondPerCore / 1e6).toFixed(1)} MB/s per core`);
  }
  if (busySeconds.encode > 0 && rows > 0) {
    cpu.encodeRowsPerSecondPerCore = rows / busySeconds.encode;
    notes.push(`encode ${Math.round(cpu.encodeRowsPerSecondPerCore)} rows/s per core`);
  }
  if (busySeconds.fetch > 0 && fetchedBytes > 0) {
    const fetchSeconds = busySeconds.fetch / (fetchedBytes / chunkBytes);
    const movingSeconds = fetchSeconds - models.source.latencyMedianMs / 1000;
    source.streamBytesPerSecond = chunkBytes / (movingSeconds > 0 ? movingSeconds : fetchSeconds);
    notes.push(
      `fetch ${fetchSeconds.toFixed(2)} s per chunk, ${(source.streamBytesPerSecond / 1e6).toFixed(1)} MB/s per stream`,
    );
  }
  if (busySeconds.commit > 0 && committed > 0) {
    // The commit stage is busy with both steps; the ledger write's share is a ledger call, modelled apart.
    const commitMs = (busySeconds.commit / committed) * 1000;
    const objectMs = commitMs - models.ledger.callLatencyMedianMs;
    ledger.commitLatencyMedianMs = objectMs > 0 ? objectMs : commitMs;
    notes.push(`commit ${commitMs.toFixed(0)} ms`);
  }
  if (last.bytesIn > 0 && last.rows > 0) {
    data.rowsPerInputByte = last.rows / last.bytesIn;
    data.parquetBytesPerRow = last.bytesOut / last.rows;
    notes.push(
      `${Math.round(data.rowsPerInputByte * 1e6)} rows per MB in, ${Math.round(data.parquetBytesPerRow)} Parquet bytes per row`,
    );
  }
  if (notes.length === 0) return 'the metrics log shows no work done (no busy workers, or counters that do not move)';
  if (models.schema.output === 'index')
    return { overrides: { cpu: indexCpuOverrides(cpu, models), source, ledger, data }, notes };
  return {
    overrides: { source, ledger, ...contentOverrides(cpu, data) },
    notes: [...notes, 'of a --schema content run'],
  };
}

/** A log of an `--inflate full` run (the models say so: `cpu.inflate`) measures the full inflate's rate. */
function indexCpuOverrides(
  cpu: { decodeBytesPerSecondPerCore?: number; encodeRowsPerSecondPerCore?: number },
  models: Models,
): Partial<CpuModel> {
  if (models.cpu.inflate === 'head-only' || cpu.decodeBytesPerSecondPerCore === undefined) return cpu;
  const { decodeBytesPerSecondPerCore, ...rest } = cpu;
  return { ...rest, fullInflateDecodeBytesPerSecondPerCore: decodeBytesPerSecondPerCore };
}

/**
 * A log of a `--schema content` run (the models say so: `schema.output`) measures the content
 * schema's rates; the rows per byte are the same captures whatever the schema.
 */
function contentOverrides(
  cpu: { decodeBytesPerSecondPerCore?: number; encodeRowsPerSecondPerCore?: number },
  data: { rowsPerInputByte?: number; parquetBytesPerRow?: number },
): ModelOverrides {
  const schema: { -readonly [K in keyof SchemaModel]?: SchemaModel[K] } = {};
  if (cpu.decodeBytesPerSecondPerCore !== undefined)
    schema.contentDecodeBytesPerSecondPerCore = cpu.decodeBytesPerSecondPerCore;
  if (cpu.encodeRowsPerSecondPerCore !== undefined)
    schema.contentEncodeRowsPerSecondPerCore = cpu.encodeRowsPerSecondPerCore;
  if (data.parquetBytesPerRow !== undefined) schema.contentParquetBytesPerRow = data.parquetBytesPerRow;
  return { schema, data: data.rowsPerInputByte === undefined ? {} : { rowsPerInputByte: data.rowsPerInputByte } };
}
