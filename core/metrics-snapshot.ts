import { allowed } from './remote-limit.ts';
import { totalCount } from './record-counters.ts';
import type { ReasonTotals } from './record-reasons.ts';
import { perStage, type PerStage, type Remote } from './stage.ts';
import type { WorkerCounters, WorkerState } from './worker-state.ts';

/** What the driver emits every `metricsIntervalMs`: gauges now, counters since start. */
export interface MetricsSnapshot {
  readonly atMs: number;
  /** Tasks ready to run and waiting for a worker, per stage. */
  readonly queueDepth: PerStage<number>;
  /** Tasks running, per stage. */
  readonly activeWorkers: PerStage<number>;
  /** Tasks waiting out a retry delay. */
  readonly backoffTasks: number;
  readonly jobsActive: number;
  readonly heldBytes: number;
  readonly memoryBudgetBytes: number;
  /** Current concurrency limit of each remote (remote-limit.ts). */
  readonly remoteLimit: Record<Remote, number>;
  /** Times each remote's limit was cut for throttling, since start. */
  readonly remoteCuts: Record<Remote, number>;
  /**
   * `badRecords` counts damage; `skippedRecords` records that are no web capture (`dns:`,
   * `whois:`), apart from damage; `recordWarnings` rows kept with something mended or null.
   */
  readonly counters: Omit<WorkerCounters, 'records'> & {
    readonly records: number;
    readonly badRecords: number;
    readonly skippedRecords: number;
    readonly recordWarnings: number;
  };
  /** The same three counters by reason code, since start. */
  readonly recordReasons: ReasonTotals;
}

export function metricsSnapshot(state: WorkerState, nowMs: number): MetricsSnapshot {
  const { records, ...counters } = state.counters;
  return {
    atMs: nowMs,
    queueDepth: perStage((stage) => state.readyCount[stage]),
    activeWorkers: perStage((stage) => state.active[stage]),
    backoffTasks: state.backoffCount,
    jobsActive: state.jobs.size,
    heldBytes: state.heldBytes,
    memoryBudgetBytes: state.limits.memoryBudgetBytes,
    remoteLimit: { source: allowed(state.remotes.source), sink: allowed(state.remotes.sink) },
    remoteCuts: { source: state.remotes.source.cuts, sink: state.remotes.sink.cuts },
    counters: {
      ...counters,
      records: totalCount(records.byType),
      badRecords: totalCount(records.badByReason),
      skippedRecords: totalCount(records.skippedByReason),
      recordWarnings: totalCount(records.warningByReason),
    },
    recordReasons: {
      bad: records.badByReason,
      skipped: records.skippedByReason ?? {},
      warning: records.warningByReason ?? {},
    },
  };
}
