import type { CommandOf } from '../../core/commands.ts';
import type { RunStats } from '../../core/ledger.ts';
import { totalCount } from '../../core/record-counters.ts';
import type { RunOutcome } from './node-runtime.ts';

export interface RunSummary {
  readonly committed: number;
  readonly failed: readonly CommandOf<'jobEnded'>[];
  readonly released: number;
  readonly records: number;
  readonly badRecords: number;
  readonly rows: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly elapsedMs: number;
  readonly stats: RunStats;
}

/** What this worker did, from the jobs it ended, and where the run stands in the ledger. */
export function runSummary(outcome: RunOutcome, stats: RunStats, elapsedMs: number): RunSummary {
  let records = 0;
  let badRecords = 0;
  let rows = 0;
  let inputBytes = 0;
  let outputBytes = 0;
  for (const ended of outcome.ended) {
    records += totalCount(ended.summary.counters.byType);
    badRecords += totalCount(ended.summary.counters.badByReason);
    if (ended.outcome !== 'committed') continue;
    rows += ended.summary.rows;
    inputBytes += ended.summary.inputBytes;
    outputBytes += ended.summary.outputBytes;
  }
  return {
    committed: outcome.ended.filter((ended) => ended.outcome === 'committed').length,
    failed: outcome.ended.filter((ended) => ended.outcome === 'failed'),
    released: outcome.ended.filter((ended) => ended.outcome === 'released').length,
    records,
    badRecords,
    rows,
    inputBytes,
    outputBytes,
    elapsedMs,
    stats,
  };
}

export function summaryText(summary: RunSummary, where: { runId: string; output: string }): string {
  const seconds = summary.elapsedMs / 1_000;
  const megabytes = summary.inputBytes / 1e6;
  const lines = [
    `run ${where.runId}: ${summary.committed} files exported, ${summary.failed.length} failed, ${summary.released} released`,
    `  records ${summary.records} (bad ${summary.badRecords}), rows ${summary.rows}`,
    `  read ${megabytes.toFixed(1)} MB, wrote ${(summary.outputBytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s (${(megabytes / Math.max(seconds, 1e-3)).toFixed(1)} MB/s)`,
    `  run: ${summary.stats.done} done, ${summary.stats.failed} failed, ${summary.stats.remaining} remaining`,
    `  output: ${where.output}`,
  ];
  for (const failed of summary.failed) lines.push(`  failed: ${failed.uri}: ${failed.failure?.reason ?? 'unknown'}`);
  return lines.join('\n');
}
