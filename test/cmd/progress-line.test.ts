/** Proves the terminal progress line reports files done of total, failures, rates and an ETA from the counters. */
import { describe, expect, it } from 'vitest';
import { createWorkerState } from '../../core/worker-state.ts';
import { defaultLimits } from '../../core/limits.ts';
import { progressText } from '../../cmd/worker/progress-line.ts';

describe('progress line', () => {
  it('shows files, failures, records, MB/s in and out and the remaining time', () => {
    const counters = createWorkerState(defaultLimits).counters;
    expect(progressText(counters, 10, 1_000)).toBe('files 0/10, records 0, in 0.0 MB/s, out 0.00 MB/s, ETA ?');
    counters.jobsCommitted = 3;
    counters.jobsFailed = 1;
    counters.bytesIn = 40e6;
    counters.bytesOut = 1e6;
    counters.records = { byType: { response: 700, request: 300 }, badByReason: {} };
    // 4 of 10 files in 20 s: 6 more take 30 s at that pace.
    expect(progressText(counters, 10, 20_000)).toBe(
      'files 4/10 (1 failed), records 1000, in 2.0 MB/s, out 0.05 MB/s, ETA 30 s',
    );
  });
});
