import type { CommandOf } from '../../core/commands.ts';
import type { RunStats } from '../../core/ledger.ts';
import { addRecordCounters, emptyRecordCounters, totalCount } from '../../core/record-counters.ts';
import type { RunOutcome } from './node-runtime.ts';

/** An exported input that held bad records, with how many of each reason. */
export interface DamagedInput {
  readonly uri: string;
  readonly badByReason: Readonly<Record<string, number>>;
}

export interface RunSummary {
  readonly committed: number;
  /** Jobs this worker failed that the ledger holds failed for good (not to be retried, not done since). */
  readonly failed: readonly CommandOf<'jobEnded'>[];
  /** Jobs this worker failed that the ledger retried or will retry: done since, or waiting. */
  readonly retried: number;
  readonly released: number;
  readonly records: number;
  readonly badRecords: number;
  /** Bad records of every job this worker ended, by reason. */
  readonly badByReason: Readonly<Record<string, number>>;
  /** Records that are no web capture (`dns:`, `whois:`), not damage: counted apart from bad ones. */
  readonly skippedRecords: number;
  readonly skippedByReason: Readonly<Record<string, number>>;
  /** Rows kept with something mended or left null (an unreadable WARC-Date), by reason. */
  readonly recordWarnings: number;
  readonly warningByReason: Readonly<Record<string, number>>;
  /** Exported inputs with bad records (a failed input is listed with its failure instead). */
  readonly damaged: readonly DamagedInput[];
  readonly rows: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly elapsedMs: number;
  readonly stats: RunStats;
}

/**
 * Inputs listed by name in each list of the summary (damaged, failed); past it the list says
 * how many more. Generous: a user wants every damaged file named, but a crawl of 100,000
 * broken files should not print 100,000 lines.
 */
export const summaryInputsListedMax = 1_000;

/**
 * What this worker did, from the jobs it ended, and where the run stands in the ledger.
 * `failedForGood` says which of its failed jobs the ledger will not retry: a throttled or
 * otherwise retryable failure goes back to the queue and may be done by now.
 */
export function runSummary(outcome: RunOutcome, stats: RunStats, elapsedMs: number, failedForGood: ReadonlySet<string>): RunSummary {
  let counters = emptyRecordCounters;
  let rows = 0;
  let inputBytes = 0;
  let outputBytes = 0;
  const damaged: DamagedInput[] = [];
  for (const ended of outcome.ended) {
    counters = addRecordCounters(counters, ended.summary.counters);
    if (ended.outcome !== 'committed') continue;
    rows += ended.summary.rows;
    inputBytes += ended.summary.inputBytes;
    outputBytes += ended.summary.outputBytes;
    if (totalCount(ended.summary.counters.badByReason) > 0) damaged.push({ uri: ended.uri, badByReason: ended.summary.counters.badByReason });
  }
  return {
    committed: outcome.ended.filter((ended) => ended.outcome === 'committed').length,
    failed: outcome.ended.filter((ended) => ended.outcome === 'failed' && failedForGood.has(ended.jobId)),
    retried: outcome.ended.filter((ended) => ended.outcome === 'failed' && !failedForGood.has(ended.jobId)).length,
    released: outcome.ended.filter((ended) => ended.outcome === 'released').length,
    records: totalCount(counters.byType),
    badRecords: totalCount(counters.badByReason),
    badByReason: counters.badByReason,
    skippedRecords: totalCount(counters.skippedByReason),
    skippedByReason: counters.skippedByReason ?? {},
    recordWarnings: totalCount(counters.warningByReason),
    warningByReason: counters.warningByReason ?? {},
    damaged,
    rows,
    inputBytes,
    outputBytes,
    elapsedMs,
    stats,
  };
}

/** `reason n, reason n`, the most frequent first (ties by name, so the text is stable). */
export function reasonCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort(([reasonA, a], [reasonB, b]) => b - a || (reasonA < reasonB ? -1 : 1))
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

export function summaryText(summary: RunSummary, where: { runId: string; output: string }): string {
  const seconds = summary.elapsedMs / 1_000;
  const megabytes = summary.inputBytes / 1e6;
  const lines = [
    `run ${where.runId}: ${summary.committed} files exported, ${summary.failed.length} failed, ${summary.released} released`
      + (summary.retried > 0 ? `, ${summary.retried} failed attempts retried` : ''),
    `  records ${summary.records} (bad ${summary.badRecords}, skipped ${summary.skippedRecords}), rows ${summary.rows}`,
  ];
  if (summary.badRecords > 0) lines.push(`  bad records by reason: ${reasonCounts(summary.badByReason)}`);
  const skipped = reasonCounts(summary.skippedByReason);
  const warned = reasonCounts(summary.warningByReason);
  if (summary.skippedRecords > 0) lines.push(`  skipped records by reason: ${skipped}`);
  if (summary.recordWarnings > 0) lines.push(`  rows with warnings by reason: ${warned}`);
  lines.push(
    `  read ${megabytes.toFixed(1)} MB, wrote ${(summary.outputBytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s (${(megabytes / Math.max(seconds, 1e-3)).toFixed(1)} MB/s)`,
    `  run: ${summary.stats.done} done, ${summary.stats.failed} failed, ${summary.stats.remaining} remaining`,
    `  output: ${where.output}`,
  );
  listed(lines, summary.damaged.map((input) => `  exported with bad records: ${input.uri}: ${reasonCounts(input.badByReason)}`), 'exported with bad records');
  listed(lines, summary.failed.map((failed) => `  failed: ${failed.uri}: ${failed.failure?.reason ?? 'unknown'}`), 'failed');
  return lines.join('\n');
}

function listed(lines: string[], items: readonly string[], what: string): void {
  lines.push(...items.slice(0, summaryInputsListedMax));
  if (items.length > summaryInputsListedMax) lines.push(`  … and ${items.length - summaryInputsListedMax} more ${what}`);
}
