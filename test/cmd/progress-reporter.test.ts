/**
 * What a worker reports to the ledger for `status`: its current file with the bytes read of
 * it (kept per file, so interleaved jobs do not mix their counts) and its size, its totals,
 * and its read rate from the clock given; the last report, on stop, has no current file.
 */
import { describe, expect, it } from 'vitest';
import type { Ledger, WorkerProgress } from '../../core/ledger.ts';
import { ProgressReporter } from '../../cmd/worker/progress-reporter.ts';
import { realClock, type RuntimeClock } from '../../cmd/worker/runtime-clock.ts';

/** Node's timers, and a time the test sets. */
function clockAt(now: () => number): RuntimeClock {
  return { ...realClock, nowMs: now };
}

function recordingLedger(): { ledger: Ledger; reports: WorkerProgress[] } {
  const reports: WorkerProgress[] = [];
  const ledger = {
    progress: async (_runId: string, progress: WorkerProgress) => {
      reports.push(progress);
    },
  } as unknown as Ledger;
  return { ledger, reports };
}

describe('progress reporter', () => {
  it('reports the current file, its bytes read of its size, the totals and the recent rate', async () => {
    const { ledger, reports } = recordingLedger();
    let now = 0;
    const reporter = new ProgressReporter(
      ledger,
      'run-1',
      'worker-a',
      () => {},
      clockAt(() => now),
    );
    // Two files read in turns; a report every 1,000 records.
    reporter.decoded('/w/a.warc.gz', 1_000, 4e6, 1, 10e6);
    // One report in flight at a time: let the first one finish.
    await new Promise((resolve) => setImmediate(resolve));
    now = 2_000;
    reporter.decoded('/w/b.warc.gz', 500, 2e6, 0, null);
    now = 4_000;
    reporter.decoded('/w/a.warc.gz', 600, 4e6, 0, 10e6);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ currentInput: '/w/a.warc.gz', currentBytes: 4e6, currentSizeBytes: 10e6 });
    expect(reports[0]?.bytesPerSecond).toBeNull();
    // a.warc.gz has 8 MB read of its 10 MB, whatever b read in between; 6 MB more in 4 s since the first report.
    expect(reports[1]).toMatchObject({
      workerId: 'worker-a',
      status: 'running',
      currentInput: '/w/a.warc.gz',
      currentBytes: 8e6,
      currentSizeBytes: 10e6,
      records: 2_100,
      bytes: 10e6,
      badRecords: 1,
      bytesPerSecond: 1.5e6,
    });
    await reporter.stop();
    expect(reports.at(-1)).toMatchObject({
      status: 'stopped',
      currentInput: null,
      currentBytes: 0,
      bytesPerSecond: null,
    });
  });
});
