// Proves that the reasons of bad records, skipped records and warnings are closed sets of short
// stable codes, each with its message; that counts a store kept as free text before the codes
// read back as codes, and keys this version does not know as `other`, without a throw.
import { describe, expect, it } from 'vitest';
import { addRecordCounters, emptyRecordCounters } from '../../core/record-counters.ts';
import {
  addReasonCounts,
  badRecordReasons,
  codeOfStored,
  reasonCodesText,
  reasonMessagesText,
  readStoredCounts,
  type ReasonSet,
  recordWarningReasons,
  skippedRecordReasons,
} from '../../core/record-reasons.ts';

function closedSetTests<Code extends string>(what: string, set: ReasonSet<Code>): void {
  it(`${what}: every code is snake_case, listed once, with a message of its own`, () => {
    expect(new Set(set.codes).size).toBe(set.codes.length);
    for (const code of set.codes) expect(code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    expect(Object.keys(set.messages).sort()).toEqual([...set.codes].sort());
    const messages = set.codes.map((code) => set.messages[code]);
    // Printed as `code n (message); code n (message)`: a message holds none of those marks.
    for (const message of messages) expect(message).toMatch(/^[^();]+$/);
    expect(new Set(messages).size).toBe(messages.length);
    expect(set.codes).toContain(set.other);
  });

  it(`${what}: every text stored before the codes reads as a code other than other`, () => {
    for (const [text, code] of set.before) {
      expect(set.codes).toContain(code);
      expect(code).not.toBe(set.other);
      expect(codeOfStored(set, text)).toBe(code);
    }
  });
}

describe('record reasons', () => {
  closedSetTests('bad', badRecordReasons);
  closedSetTests('skipped', skippedRecordReasons);
  closedSetTests('warning', recordWarningReasons);

  it('reads counts stored as free text into codes, and unknown keys into other', () => {
    // As a store gives it back: JSON, where `__proto__` is a key like any other.
    const stored: unknown = JSON.parse(
      JSON.stringify({
        'corrupt gzip member': 2,
        corrupt_gzip_member: 1,
        'truncated record': 1,
        'invalid WARC-Date': 3,
        some_code_added_later: 1,
        toString: 4,
        'not a count': 'many',
        negative: -1,
      }).replace('{', '{"__proto__":5,'),
    );
    expect(readStoredCounts(badRecordReasons, stored)).toEqual({
      corrupt_gzip_member: 3,
      truncated_record: 1,
      other: 13,
    });
    expect(readStoredCounts(skippedRecordReasons, { 'not an HTTP capture': 2 })).toEqual({ not_http_capture: 2 });
    expect(readStoredCounts(recordWarningReasons, { 'unreadable WARC-Date': '2' })).toEqual({
      unreadable_warc_date: 2,
    });
    for (const nothing of [undefined, null, 7, 'text', []])
      expect(readStoredCounts(badRecordReasons, nothing)).toEqual({});
  });

  it('adds counts code by code, the empty counters the identity', () => {
    const a = { byType: { response: 2 }, badByReason: { truncated_record: 1 }, warningByReason: {} };
    const b = {
      byType: { response: 1, request: 1 },
      badByReason: { truncated_record: 2, non_warc_data: 1 },
      skippedByReason: { not_http_capture: 4 },
    };
    expect(addRecordCounters(a, b)).toEqual({
      byType: { response: 3, request: 1 },
      badByReason: { truncated_record: 3, non_warc_data: 1 },
      skippedByReason: { not_http_capture: 4 },
      warningByReason: {},
    });
    expect(addRecordCounters(emptyRecordCounters, b).badByReason).toEqual(b.badByReason);
    expect(addReasonCounts(badRecordReasons, {}, {})).toEqual({});
  });

  it('prints codes by count, most frequent first, with their messages for people', () => {
    const counts = { non_warc_data: 1, truncated_record: 3, corrupt_gzip_member: 1 };
    expect(reasonCodesText(badRecordReasons, counts)).toBe(
      'truncated_record 3, corrupt_gzip_member 1, non_warc_data 1',
    );
    const text = reasonMessagesText(badRecordReasons, counts);
    expect(text.startsWith(`truncated_record 3 (${badRecordReasons.messages.truncated_record}); `)).toBe(true);
    expect(text).toContain(`non_warc_data 1 (${badRecordReasons.messages.non_warc_data})`);
  });
});
