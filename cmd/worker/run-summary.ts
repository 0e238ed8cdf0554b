import type { CommandOf } from '../../core/commands.ts';
import type { FailedJob, RunListing, SharedOutputKey } from '../../adapters/ledger/ledger-options.ts';
import { retryHint, sharedOutputKeyLine } from '../../adapters/ledger/open-ledger.ts';
import type { OutputKeyCollision, RunStats } from '../../core/ledger.ts';
import { addRecordCounters, emptyRecordCounters, totalCount } from '../../core/record-counters.ts';
import {
  badRecordReasons,
  type BadRecordCounts,
  reasonCodesText,
  reasonTotalsLines,
  type RecordWarningCounts,
  type SkippedRecordCounts,
} from '../../core/record-reasons.ts';
import { bytesText, countText, durationText, rateText } from '../../core/units-text.ts';
import type { RunOutcome } from './node-runtime.ts';

/** An exported input that held bad records, with how many of each reason. */
export interface DamagedInput {
  readonly uri: string;
  readonly badByReason: Readonly<BadRecordCounts>;
}

export interface RunSummary {
  readonly committed: number;
  /** Jobs this worker failed that the ledger holds failed for good (not to be retried, not done since). */
  readonly failed: readonly CommandOf<'jobEnded'>[];
  /** Jobs this worker failed that the ledger retried or will retry: done since, or waiting. */
  readonly retried: number;
  readonly released: number;
  readonly records: number;
  /** Records of every job this worker ended, by WARC-Type. */
  readonly byType: Readonly<Record<string, number>>;
  readonly badRecords: number;
  /** Bad records of every job this worker ended, by reason. */
  readonly badByReason: Readonly<BadRecordCounts>;
  /** Records that are no web capture (`dns:`, `whois:`), not damage: counted apart from bad ones. */
  readonly skippedRecords: number;
  readonly skippedByReason: Readonly<SkippedRecordCounts>;
  /** Captures `--where` or `--domains` left out (counted among the skipped records as `filtered_out`). */
  readonly filteredOut: number;
  /** Rows kept with something mended or left null (an unreadable WARC-Date), by reason. */
  readonly recordWarnings: number;
  readonly warningByReason: Readonly<RecordWarningCounts>;
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
export function runSummary(
  outcome: RunOutcome,
  stats: RunStats,
  elapsedMs: number,
  failedForGood: ReadonlySet<string>,
): RunSummary {
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
    if (totalCount(ended.summary.counters.badByReason) > 0)
      damaged.push({ uri: ended.uri, badByReason: ended.summary.counters.badByReason });
  }
  return {
    committed: outcome.ended.filter((ended) => ended.outcome === 'committed').length,
    failed: outcome.ended.filter((ended) => ended.outcome === 'failed' && failedForGood.has(ended.jobId)),
    retried: outcome.ended.filter((ended) => ended.outcome === 'failed' && !failedForGood.has(ended.jobId)).length,
    released: outcome.ended.filter((ended) => ended.outcome === 'released').length,
    records: totalCount(counters.byType),
    byType: counters.byType,
    badRecords: totalCount(counters.badByReason),
    badByReason: counters.badByReason,
    skippedRecords: totalCount(counters.skippedByReason),
    skippedByReason: counters.skippedByReason ?? {},
    filteredOut: counters.skippedByReason?.filtered_out ?? 0,
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

/**
 * What the ledger holds against the run, whoever caused it, listed on every invocation until
 * it is dealt with: failed jobs (by any worker, at any time), inputs refused at enqueue because
 * another input holds their output, and inputs a ledger older than that rule let share one.
 */
export interface LedgerReport {
  /** The run's failed jobs, the first `summaryInputsListedMax` by URI; `RunStats.failed` counts them all. */
  readonly failed: readonly FailedJob[];
  /** Refused at this invocation's enqueue, at most `summaryInputsListedMax`; `refusedCount` counts them all. */
  readonly refused: readonly OutputKeyCollision[];
  readonly refusedCount: number;
  readonly shared: readonly SharedOutputKey[];
}

export const emptyLedgerReport: LedgerReport = { failed: [], refused: [], refusedCount: 0, shared: [] };

/** 3 while the run holds an input it did not export: failed, refused, or sharing another's output. */
export function exitCodeOf(stats: RunStats, report: LedgerReport): 0 | 3 {
  return stats.failed > 0 || report.refusedCount > 0 || report.shared.length > 0 ? 3 : 0;
}

function reportLines(lines: string[], stats: RunStats, report: LedgerReport): void {
  listed(
    lines,
    report.failed.map((job) => `  failed: ${job.uri}: ${job.lastError ?? 'no error recorded'}`),
    'failed',
    stats.failed,
  );
  const refused = report.refused.map(
    (job) => `  refused: ${job.uri}: its output ${job.outputKey} is already the output of ${job.heldBy} in this run`,
  );
  listed(lines, refused, 'refused', report.refusedCount);
  lines.push(...report.shared.map(sharedOutputKeyLine));
  if (stats.failed > 0) lines.push(`  ${retryHint}`);
}

/**
 * What a run that has nothing left to do says when started again: when it finished, with how
 * many files, what it holds against it, and how to export again.
 */
export function finishedRunText(listing: RunListing, stats: RunStats, report: LedgerReport, output: string): string {
  const at = listing.lastFinishedMs === null ? '' : ` at ${new Date(listing.lastFinishedMs).toISOString()}`;
  const lines = [
    `run ${listing.runId} finished${at} with ${countText(stats.done + stats.failed, 'file')}: ` +
      `${stats.done} exported, ${stats.failed} failed; nothing left to do`,
    `  output: ${output}`,
  ];
  reportLines(lines, stats, report);
  if (stats.failed === 0) lines.push('  to export everything again: run under a new --run-id');
  return lines.join('\n');
}

export function summaryText(
  summary: RunSummary,
  where: { runId: string; output: string },
  report?: LedgerReport,
): string {
  const seconds = summary.elapsedMs / 1_000;
  const lines = [
    `run ${where.runId}: ${countText(summary.committed, 'file')} exported, ${summary.failed.length} failed, ${summary.released} released` +
      (summary.retried > 0 ? `, ${countText(summary.retried, 'failed attempt')} retried` : ''),
    `  records ${summary.records} (bad ${summary.badRecords}, skipped ${summary.skippedRecords - summary.filteredOut}), rows ${summary.rows}` +
      (summary.filteredOut > 0 ? `, rows filtered out ${summary.filteredOut}` : ''),
  ];
  if (summary.records !== summary.rows) lines.push(recordsAndRowsLine(summary));
  const { filtered_out: _filtered, ...skippedByReason } = summary.skippedByReason;
  lines.push(
    ...reasonTotalsLines({
      bad: summary.badByReason,
      skipped: skippedByReason,
      warning: summary.warningByReason,
    }),
  );
  lines.push(
    `  read ${bytesText(summary.inputBytes)}, wrote ${bytesText(summary.outputBytes)} in ${durationText(summary.elapsedMs)}` +
      ` (${rateText(summary.inputBytes / Math.max(seconds, 1e-3))})`,
    `  run: ${summary.stats.done} done, ${summary.stats.failed} failed, ${summary.stats.remaining} remaining`,
    `  output: ${where.output}`,
  );
  listed(
    lines,
    summary.damaged.map(
      (input) => `  exported with bad records: ${input.uri}: ${reasonCodesText(badRecordReasons, input.badByReason)}`,
    ),
    'exported with bad records',
  );
  if (report !== undefined) reportLines(lines, summary.stats, report);
  else
    listed(
      lines,
      summary.failed.map((failed) => `  failed: ${failed.uri}: ${failed.failure?.reason ?? 'unknown'}`),
      'failed',
    );
  return lines.join('\n');
}

/** WARC-Types that make a row: a capture of the web (see core/capture-row.ts). */
const rowTypes: ReadonlySet<string> = new Set(['response', 'revisit', 'resource']);

/**
 * Why records and rows differ, in one line: rows are one per capture of the exported files;
 * requests, metadata and warcinfo records make none, nor do bad or skipped ones, nor the
 * records of files not exported.
 */
export function recordsAndRowsLine(summary: RunSummary): string {
  const others = Object.entries(summary.byType)
    .filter(([type, count]) => !rowTypes.has(type) && count > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([type, count]) => `${type} ${count}`);
  const notExported = summary.failed.length + summary.released + summary.retried > 0;
  const none = [
    others.length > 0 ? `${others.join(', ')} records` : '',
    'bad or skipped ones',
    summary.filteredOut > 0 ? 'captures --where or --domains left out' : '',
  ].filter(Boolean);
  return (
    '  rows: one per response, revisit or resource record of the exported files;' +
    ` ${none.join(', ')}${notExported ? ', and the records of files not exported' : ''} make none`
  );
}

/** The first `summaryInputsListedMax` items, then how many more of `total` there are. */
function listed(lines: string[], items: readonly string[], what: string, total = items.length): void {
  lines.push(...items.slice(0, summaryInputsListedMax));
  const shown = Math.min(items.length, summaryInputsListedMax);
  if (total > shown) lines.push(`  … and ${total - shown} more ${what}`);
}
