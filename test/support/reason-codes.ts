/**
 * Holds the decoder to its closed sets of reasons: every key of the counters a chunk yields is
 * a code of its set, and never `other`, which stands only for reasons read back from a store.
 */
import { expect } from 'vitest';
import type { RecordCounters } from '../../core/record-counters.ts';
import {
  badRecordReasons,
  isCode,
  recordWarningReasons,
  type ReasonSet,
  skippedRecordReasons,
} from '../../core/record-reasons.ts';

export function expectDecoderCodes(counters: RecordCounters): void {
  expectCodes(badRecordReasons, counters.badByReason, 'bad');
  expectCodes(skippedRecordReasons, counters.skippedByReason ?? {}, 'skipped');
  expectCodes(recordWarningReasons, counters.warningByReason ?? {}, 'warning');
}

function expectCodes<Code extends string>(set: ReasonSet<Code>, counts: object, what: string): void {
  for (const key of Object.keys(counts)) {
    expect(isCode(set, key), `${what} key ${JSON.stringify(key)} is a code of its set`).toBe(true);
    expect(key, `the decoder reports no ${what} record as ${set.other}`).not.toBe(set.other);
  }
}
