import { at } from '../core/checked-access.ts';
import type { MetricsSnapshot } from '../core/metrics-snapshot.ts';
import { stages, type PerStage, type Stage } from '../core/stage.ts';

/** Buckets of the time series; when a run outgrows them, neighbours merge and buckets widen. */
const bucketsMax = 480;

export interface TimeSeries {
  readonly bucketMs: number;
  /** Fleet-wide mean per bucket, from the workers' metrics snapshots. */
  readonly queueDepth: PerStage<number[]>;
  readonly activeWorkers: PerStage<number[]>;
  /** Files committed per hour in each bucket. */
  readonly filesPerHour: number[];
}

/**
 * What the simulator measures while it runs: time-weighted running tasks and queue depth per
 * stage (areas under the curves, for utilisation, mean queue depth and Little's law), jobs
 * committed over time, and the workers' metrics snapshots folded into a bounded time series.
 */
export class RunStatistics {
  readonly activeAreaMs = perStageZero();
  readonly queueAreaMs = perStageZero();
  peakHeldBytes = 0;
  committedJobs = 0;
  private bucketMs = 15_000;
  private readonly snapshotSums = { queueDepth: perStageArrays(), activeWorkers: perStageArrays() };
  private snapshotCounts: number[] = [];
  private committedCounts: number[] = [];

  /** Adds `value × elapsed` for each stage: the integral of the running and waiting tasks. */
  integrate(active: PerStage<number>, queued: PerStage<number>, elapsedMs: number): void {
    if (elapsedMs <= 0) return;
    for (const stage of stages) {
      this.activeAreaMs[stage] += active[stage] * elapsedMs;
      this.queueAreaMs[stage] += queued[stage] * elapsedMs;
    }
  }

  onSnapshot(snapshot: MetricsSnapshot): void {
    const bucket = this.bucketFor(snapshot.atMs);
    for (const stage of stages) {
      addAt(this.snapshotSums.queueDepth[stage], bucket, snapshot.queueDepth[stage]);
      addAt(this.snapshotSums.activeWorkers[stage], bucket, snapshot.activeWorkers[stage]);
    }
    addAt(this.snapshotCounts, bucket, 1);
  }

  onCommitted(nowMs: number): void {
    this.committedJobs += 1;
    addAt(this.committedCounts, this.bucketFor(nowMs), 1);
  }

  /** Fleet-wide series: a snapshot mean times the instances simulated, times `scale`. */
  timeSeries(instancesSimulated: number, scale: number, endMs: number): TimeSeries {
    const buckets = Math.max(1, Math.ceil(endMs / this.bucketMs));
    const fleetMean = (sums: number[]): number[] =>
      Array.from({ length: buckets }, (_, index) => {
        const count = this.snapshotCounts[index] ?? 0;
        return count === 0 ? 0 : ((sums[index] ?? 0) / count) * instancesSimulated * scale;
      });
    const hours = this.bucketMs / 3_600_000;
    return {
      bucketMs: this.bucketMs,
      queueDepth: mapStages((stage) => fleetMean(this.snapshotSums.queueDepth[stage])),
      activeWorkers: mapStages((stage) => fleetMean(this.snapshotSums.activeWorkers[stage])),
      filesPerHour: Array.from({ length: buckets }, (_, index) => ((this.committedCounts[index] ?? 0) * scale) / hours),
    };
  }

  private bucketFor(atMs: number): number {
    // Bounded: each pass doubles the bucket width.
    while (Math.floor(atMs / this.bucketMs) >= bucketsMax) this.widenBuckets();
    return Math.floor(atMs / this.bucketMs);
  }

  private widenBuckets(): void {
    this.bucketMs *= 2;
    for (const stage of stages) {
      this.snapshotSums.queueDepth[stage] = mergePairs(this.snapshotSums.queueDepth[stage]);
      this.snapshotSums.activeWorkers[stage] = mergePairs(this.snapshotSums.activeWorkers[stage]);
    }
    this.snapshotCounts = mergePairs(this.snapshotCounts);
    this.committedCounts = mergePairs(this.committedCounts);
  }
}

function perStageZero(): PerStage<number> {
  return { fetch: 0, decode: 0, encode: 0, upload: 0, commit: 0 };
}

function perStageArrays(): PerStage<number[]> {
  return { fetch: [], decode: [], encode: [], upload: [], commit: [] };
}

function mapStages<T>(make: (stage: Stage) => T): PerStage<T> {
  return {
    fetch: make('fetch'),
    decode: make('decode'),
    encode: make('encode'),
    upload: make('upload'),
    commit: make('commit'),
  };
}

function addAt(values: number[], index: number, amount: number): void {
  while (values.length <= index) values.push(0);
  values[index] = at(values, index) + amount;
}

function mergePairs(values: number[]): number[] {
  const merged: number[] = [];
  for (let index = 0; index < values.length; index += 2) merged.push((values[index] ?? 0) + (values[index + 1] ?? 0));
  return merged;
}

/** The value below which `fraction` of the sorted values lie (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return at(sorted, rank);
}
