/**
 * The end-of-run summary: a failed attempt the ledger retried is not a failure for good, so
 * it neither lists the input as failed nor makes the exit code 3.
 */
import { describe, expect, it } from 'vitest';
import type { CommandOf, JobOutcome } from '../../core/commands.ts';
import { ourFault } from '../../core/failure.ts';
import { badRecordReasons, recordWarningReasons, skippedRecordReasons } from '../../core/record-reasons.ts';
import {
  emptyLedgerReport,
  exitCodeOf,
  finishedRunText,
  runSummary,
  summaryText,
} from '../../cmd/worker/run-summary.ts';

function ended(jobId: string, outcome: JobOutcome): CommandOf<'jobEnded'> {
  return {
    kind: 'jobEnded',
    jobId,
    uri: `/warcs/${jobId}.warc.gz`,
    outcome,
    summary: {
      jobId,
      inputBytes: 100,
      rows: outcome === 'committed' ? 7 : 0,
      outputBytes: 50,
      parts: 1,
      counters: { byType: { response: 7 }, badByReason: {} },
    },
    ...(outcome === 'failed' ? { failure: ourFault(`${jobId} went wrong`) } : {}),
  };
}

const stats = {
  done: 2,
  failed: 1,
  pending: 0,
  claimed: 0,
  remaining: 0,
  inputBytesDone: 200,
  rowsDone: 14,
  badRecordsDone: 0,
  skippedRecordsDone: 0,
  recordWarningsDone: 0,
  badByReasonDone: {},
  skippedByReasonDone: {},
  warningByReasonDone: {},
};

describe('the run summary', () => {
  it('lists only the failures the ledger holds for good, and counts the retried attempts apart', () => {
    // Job b failed once (throttled), went back to the queue and was done on its second claim.
    const outcome = {
      ended: [ended('a', 'committed'), ended('b', 'failed'), ended('c', 'failed'), ended('b', 'committed')],
    };
    const summary = runSummary(outcome, stats, 1_000, new Set(['c']));
    expect(summary.failed.map((failed) => failed.jobId)).toEqual(['c']);
    expect(summary.retried).toBe(1);
    expect(summary.committed).toBe(2);
    const text = summaryText(summary, { runId: 'run-x', output: '/out' });
    expect(text).toContain('2 files exported, 1 failed, 0 released, 1 failed attempt retried');
    expect(text).toContain('failed: /warcs/c.warc.gz: c went wrong');
    expect(text).not.toContain('failed: /warcs/b.warc.gz');
  });

  it('counts skipped records beside bad ones, and rows with warnings, by reason', () => {
    const heritrix = (jobId: string): CommandOf<'jobEnded'> => {
      const base = ended(jobId, 'committed');
      const counters = {
        byType: { response: 9, warcinfo: 1 },
        badByReason: { truncated_record: 1, non_warc_data: 2 },
        skippedByReason: { not_http_capture: 2 },
        warningByReason: { unreadable_warc_date: 1 },
      };
      return { ...base, summary: { ...base.summary, counters } };
    };
    const outcome = { ended: [heritrix('a'), heritrix('b'), ended('c', 'committed')] };
    const summary = runSummary(outcome, stats, 1_000, new Set());
    expect([summary.badRecords, summary.skippedRecords, summary.recordWarnings]).toEqual([6, 4, 2]);
    expect(summary.badByReason).toEqual({ non_warc_data: 4, truncated_record: 2 });
    const text = summaryText(summary, { runId: 'run-x', output: '/out' });
    expect(text).toContain('records 27 (bad 6, skipped 4), rows 21');
    // The totals name each code with its message; the lines per input, many, the codes alone.
    const { messages: bad } = badRecordReasons;
    expect(text).toContain(
      `  bad records by reason: non_warc_data 4 (${bad.non_warc_data}); truncated_record 2 (${bad.truncated_record})`,
    );
    expect(text).toContain(
      `  skipped records by reason: not_http_capture 4 (${skippedRecordReasons.messages.not_http_capture})`,
    );
    expect(text).toContain(
      `  rows with warnings by reason: unreadable_warc_date 2 (${recordWarningReasons.messages.unreadable_warc_date})`,
    );
    expect(text).toContain('  exported with bad records: /warcs/a.warc.gz: non_warc_data 2, truncated_record 1');
  });

  it('says in one line why records and rows differ, and that only when they do', () => {
    const withRequests = (jobId: string, outcome: 'committed' | 'failed'): CommandOf<'jobEnded'> => {
      const base = ended(jobId, outcome);
      const counters = { byType: { response: 5, request: 5, warcinfo: 1 }, badByReason: {} };
      return { ...base, summary: { ...base.summary, rows: 5, counters } };
    };
    const exported = summaryText(runSummary({ ended: [withRequests('a', 'committed')] }, stats, 1_000, new Set()), {
      runId: 'run-x',
      output: '/out',
    });
    expect(exported).toContain(
      '  rows: one per response, revisit or resource record of the exported files; request 5, warcinfo 1 records, bad or skipped ones make none',
    );
    const withFailure = summaryText(
      runSummary(
        { ended: [withRequests('a', 'committed'), withRequests('b', 'failed')] },
        stats,
        1_000,
        new Set(['b']),
      ),
      { runId: 'run-x', output: '/out' },
    );
    expect(withFailure).toContain(
      'request 10, warcinfo 2 records, bad or skipped ones, and the records of files not exported make none',
    );
    const same = { ...runSummary({ ended: [] }, stats, 1_000, new Set()), records: 3, rows: 3 };
    expect(summaryText(same, { runId: 'run-x', output: '/out' })).not.toContain('  rows: one per');
  });

  it('has nothing failed when every failure was retried', () => {
    const summary = runSummary(
      { ended: [ended('b', 'failed'), ended('b', 'committed')] },
      { ...stats, failed: 0 },
      1_000,
      new Set(),
    );
    expect(summary.failed).toEqual([]);
  });

  it('lists what the ledger holds against the run, whoever failed it, and exits 3 while it holds any', () => {
    const report = {
      failed: [{ uri: '/warcs/old.warc.gz', lastError: 'input: not a WARC file' }],
      refused: [{ uri: '/warcs/x.warc.gz', outputKey: 'x.parquet', heldBy: '/warcs/x.warc' }],
      refusedCount: 3,
      shared: [],
    };
    const clean = { ...stats, failed: 0 };
    expect(exitCodeOf(clean, emptyLedgerReport)).toBe(0);
    expect(exitCodeOf(stats, emptyLedgerReport)).toBe(3);
    expect(exitCodeOf(clean, { ...emptyLedgerReport, refused: report.refused, refusedCount: 1 })).toBe(3);
    // Two inputs a ledger older than the rule exported to one object: the run cannot be made whole in place.
    const shared = [
      { uri: '/warcs/y.warc', outputKey: 'y.parquet', heldBy: '/warcs/y.warc.gz', state: 'done' as const },
    ];
    expect(exitCodeOf(clean, { ...emptyLedgerReport, shared })).toBe(3);
    expect(
      summaryText(
        runSummary({ ended: [] }, clean, 1_000, new Set()),
        { runId: 'run-x', output: '/out' },
        { ...emptyLedgerReport, shared },
      ),
    ).toContain(
      '  shared output: /warcs/y.warc: its output y.parquet is also the output of /warcs/y.warc.gz (both were exported, one over the other);' +
        ' export it under a new --run-id',
    );
    // This worker failed nothing; the run still holds a failure from an earlier one.
    const text = summaryText(
      runSummary({ ended: [ended('a', 'committed')] }, stats, 1_000, new Set()),
      { runId: 'run-x', output: '/out' },
      report,
    );
    expect(text).toContain('1 file exported, 0 failed');
    expect(text).toContain('  failed: /warcs/old.warc.gz: input: not a WARC file');
    expect(text).toContain(
      '  refused: /warcs/x.warc.gz: its output x.parquet is already the output of /warcs/x.warc in this run',
    );
    expect(text).toContain('  … and 2 more refused');
    expect(text).toContain('retry-failed');
  });

  it('says when a finished run finished, and how to export it again', () => {
    const listing = {
      runId: 'run-x',
      input: '/warcs',
      output: '/out',
      pending: 0,
      claimed: 0,
      done: 2,
      failed: 0,
      lastActivityMs: 0,
      lastFinishedMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    };
    const text = finishedRunText(listing, { ...stats, failed: 0 }, emptyLedgerReport, '/out');
    expect(text.split('\n')[0]).toBe(
      'run run-x finished at 2026-01-02T03:04:05.000Z with 2 files: 2 exported, 0 failed; nothing left to do',
    );
    expect(text).toContain('new --run-id');
    expect(text).not.toContain('retry-failed');
    expect(
      finishedRunText(
        { ...listing, lastFinishedMs: null },
        stats,
        { ...emptyLedgerReport, failed: [{ uri: '/warcs/b', lastError: null }] },
        '/out',
      ),
    ).toMatch(
      /^run run-x finished with 3 files: 2 exported, 1 failed[\s\S]*failed: \/warcs\/b: no error recorded[\s\S]*retry-failed/,
    );
  });
});
