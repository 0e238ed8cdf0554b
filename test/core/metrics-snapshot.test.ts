// Proves that the metrics snapshot reports records skipped (no web capture: dns:, whois:) and
// rows kept with a warning apart from bad records, in all and by reason code, from the record
// counters the decoder hands in.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../core/limits.ts';
import { metricsSnapshot } from '../../core/metrics-snapshot.ts';
import { addRecordCounters } from '../../core/record-counters.ts';
import { createWorkerState } from '../../core/worker-state.ts';

describe('metrics snapshot', () => {
  it('counts skipped records and warnings beside bad records', () => {
    const state = createWorkerState(defaultLimits);
    const heritrixChunk = {
      byType: { response: 5, warcinfo: 1 },
      badByReason: { truncated_record: 1 },
      skippedByReason: { not_http_capture: 3 },
      warningByReason: { unreadable_warc_date: 1 },
    };
    // A chunk handed in by a decoder that counts no skipped record at all.
    const plainChunk = { byType: { response: 2 }, badByReason: {} };
    state.counters.records = addRecordCounters(addRecordCounters(state.counters.records, heritrixChunk), plainChunk);
    expect(metricsSnapshot(state, 0).counters).toMatchObject({
      records: 8,
      badRecords: 1,
      skippedRecords: 3,
      recordWarnings: 1,
    });
    expect(metricsSnapshot(state, 0).recordReasons).toEqual({
      bad: { truncated_record: 1 },
      skipped: { not_http_capture: 3 },
      warning: { unreadable_warc_date: 1 },
    });
  });
});
