/** A plausible MetricsSnapshot for metrics tests; `scale` multiplies the counters. */
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';

export function sampleSnapshot(atMs: number, scale = 1): MetricsSnapshot {
  return {
    atMs,
    queueDepth: { fetch: 4 * scale, decode: 3, encode: 2, upload: 1, commit: 0 },
    activeWorkers: { fetch: 8, decode: 2, encode: 2, upload: 4, commit: 1 },
    backoffTasks: 1,
    jobsActive: 3,
    heldBytes: 123_456_789,
    memoryBudgetBytes: 2_000_000_000,
    remoteLimit: { source: 16, sink: 8 },
    remoteCuts: { source: 2, sink: 1 },
    counters: {
      jobsClaimed: 5 * scale,
      jobsCommitted: 2 * scale,
      jobsFailed: 0,
      jobsReleased: 0,
      jobsLost: 0,
      tasksFailed: 3 * scale,
      retries: 3 * scale,
      throttles: 2 * scale,
      bytesIn: 1_000_000 * scale,
      bytesOut: 250_000 * scale,
      rows: 900 * scale,
      records: 3_000 * scale,
      badRecords: 4 * scale,
      skippedRecords: 2 * scale,
      recordWarnings: 1 * scale,
    },
    recordReasons: {
      bad: { truncated_record: 3 * scale, non_warc_data: 1 * scale },
      skipped: { not_http_capture: 2 * scale },
      warning: { unreadable_warc_date: 1 * scale },
    },
  };
}
