/**
 * The run summary of a filtered run: captures `--where` or `--domains` left out are shown as
 * `rows filtered out`, summed over the jobs, and not as skipped records (which stay the
 * records that are no web capture), nor listed again among the skipped reasons.
 */
import { expect, it } from 'vitest';
import type { CommandOf } from '../../core/commands.ts';
import { runSummary, summaryText } from '../../cmd/worker/run-summary.ts';

function committed(jobId: string, filteredOut: number, notHttp: number): CommandOf<'jobEnded'> {
  return {
    kind: 'jobEnded',
    jobId,
    uri: `/warcs/${jobId}.warc.gz`,
    outcome: 'committed',
    summary: {
      jobId,
      inputBytes: 100,
      rows: 3,
      outputBytes: 50,
      parts: 1,
      counters: {
        byType: { response: 3 + filteredOut + notHttp },
        badByReason: {},
        skippedByReason: { filtered_out: filteredOut, not_http_capture: notHttp },
      },
    },
  };
}

it('shows the rows filtered out apart from the skipped records', () => {
  const stats = {
    done: 2,
    failed: 0,
    pending: 0,
    claimed: 0,
    remaining: 0,
    inputBytesDone: 200,
    rowsDone: 6,
    badRecordsDone: 0,
    skippedRecordsDone: 13,
    recordWarningsDone: 0,
    badByReasonDone: {},
    skippedByReasonDone: {},
    warningByReasonDone: {},
  };
  const summary = runSummary({ ended: [committed('a', 4, 1), committed('b', 7, 1)] }, stats, 1_000, new Set());
  expect(summary.filteredOut).toBe(11);
  const text = summaryText(summary, { runId: 'run-x', output: '/out' });
  expect(text).toContain('records 19 (bad 0, skipped 2), rows 6, rows filtered out 11');
  expect(text).toMatch(/skipped records by reason: not_http_capture 2 \(/);
  expect(text).not.toMatch(/by reason: .*filtered_out/);
});
