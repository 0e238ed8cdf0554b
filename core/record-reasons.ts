/**
 * Why a record was counted apart from the rows, as three closed sets of codes: a bad record
 * (damage), a skipped record (a record of a row type that is no capture of the web, or a capture
 * the run's filter left out), and a row
 * kept with a warning (something mended or left null). The decoder reports codes only; the
 * counters, the stored job results, the run summary, `status` and the metrics' `Reason`
 * dimension are keyed by them. A code is a stable identifier, kept once published (stored
 * results and dashboards name it); its message is for people and may be reworded.
 *
 * Each set ends with `other`: a reason read back from a store that this version does not know,
 * written by a version before the codes (free text) or after them (a code added since). The
 * decoder never reports it.
 *
 * To add a reason: its code to the set's list, its message to the table (the type checker
 * refuses a code without one), and, when a stored text should read as it, a line in `before`.
 */

export const badRecordCodes = [
  'corrupt_gzip_member',
  'gzip_checksum_mismatch',
  'non_gzip_data',
  'truncated_gzip_member',
  'truncated_record',
  'non_warc_data',
  'wrong_content_length',
  'invalid_content_length',
  'warc_header_line_too_long',
  'warc_header_block_too_long',
  'http_header_too_long',
  'missing_warc_target_uri',
  'unparseable_warc_target_uri',
  'no_http_status_line',
  'non_arc_data',
  'invalid_arc_header_line',
  'arc_header_line_too_long',
  'wrong_archive_length',
  'wat_envelope_not_json',
  'wat_envelope_without_url',
  'wat_envelope_too_long',
  'pick_not_a_record',
  'other',
] as const;
export type BadRecordCode = (typeof badRecordCodes)[number];

export const skippedRecordCodes = ['not_http_capture', 'describes_warcinfo', 'filtered_out', 'other'] as const;
export type SkippedRecordCode = (typeof skippedRecordCodes)[number];

export const recordWarningCodes = [
  'unreadable_warc_date',
  'content_length_short_of_block',
  'unparseable_warc_target_uri',
  'undecodable_content_encoding',
  'broken_chunked_transfer_coding',
  'payload_past_decoding_bound',
  'encoded_payload_cut_short',
  'other',
] as const;
export type RecordWarningCode = (typeof recordWarningCodes)[number];

/** How many records of each code; a code not present counted none. */
export type ReasonCounts<Code extends string> = Partial<Record<Code, number>>;
export type BadRecordCounts = ReasonCounts<BadRecordCode>;
export type SkippedRecordCounts = ReasonCounts<SkippedRecordCode>;
export type RecordWarningCounts = ReasonCounts<RecordWarningCode>;

const unknownStoredReason = 'a reason this version does not know, stored by another version';

const badRecordMessages: Readonly<Record<BadRecordCode, string>> = {
  corrupt_gzip_member: 'a gzip member that does not inflate: reading went on at the next member',
  gzip_checksum_mismatch: 'a gzip member whose CRC-32 or length does not match what it inflates to',
  non_gzip_data: 'bytes between gzip members, or after the last, that are no gzip member',
  truncated_gzip_member: 'the file ends inside a gzip member',
  truncated_record: 'the file ends inside a record',
  non_warc_data: 'bytes where a WARC record should start',
  wrong_content_length: 'a record whose Content-Length does not lead to the next record',
  invalid_content_length: 'a WARC header without a readable Content-Length',
  warc_header_line_too_long: 'a WARC header line past its limit',
  warc_header_block_too_long: 'a WARC header past its limit of lines or bytes',
  http_header_too_long: 'an HTTP header past its limit',
  missing_warc_target_uri: 'a capture record without WARC-Target-URI',
  unparseable_warc_target_uri: 'a WARC-Target-URI that does not parse as a URL',
  no_http_status_line: 'an HTTP capture without an HTTP status line',
  non_arc_data: 'bytes where an ARC record should start',
  invalid_arc_header_line: 'an ARC header line that does not parse',
  arc_header_line_too_long: 'an ARC header line past its limit',
  wrong_archive_length: 'an ARC record whose Archive-length does not lead to the next record',
  wat_envelope_not_json: 'a WAT metadata record whose block is no JSON object with an Envelope',
  wat_envelope_without_url: 'a WAT envelope whose WARC-Header-Metadata names no WARC-Target-URI',
  wat_envelope_too_long: 'a WAT envelope past its limit of bytes',
  pick_not_a_record: 'a range an index picked that holds no whole record from its first byte',
  other: unknownStoredReason,
};

const skippedRecordMessages: Readonly<Record<SkippedRecordCode, string>> = {
  not_http_capture: 'a record that is no HTTP exchange, such as a dns: or whois: lookup',
  describes_warcinfo: "a WAT envelope of a WARC file's warcinfo record, which describes the file, not a capture",
  filtered_out: 'a capture that --where or --domains left out of the export',
  other: unknownStoredReason,
};

const recordWarningMessages: Readonly<Record<RecordWarningCode, string>> = {
  unreadable_warc_date: 'a WARC-Date that does not parse: fetch_time left null',
  content_length_short_of_block: 'a Content-Length a few bytes short of the block: the record read to its line end',
  unparseable_warc_target_uri: 'a WARC-Target-URI that surt or a URL parser refuses: the row keeps the raw URL',
  undecodable_content_encoding:
    'a payload whose Content-Encoding does not decode: content holds the bytes as sent, content_encoding_error says why',
  broken_chunked_transfer_coding:
    'a chunked payload whose chunking breaks off: the chunks read are kept, then the rest as sent',
  payload_past_decoding_bound:
    'a payload held or decoded past its bound: content is its first part, content_length null',
  encoded_payload_cut_short:
    'an encoded payload whose bytes end before its encoding does: content is what they decode to',
  other: unknownStoredReason,
};

/** One closed set: its codes, their messages, and the free texts stored before the codes, by the code they became. */
export interface ReasonSet<Code extends string> {
  readonly codes: readonly Code[];
  readonly messages: Readonly<Record<Code, string>>;
  readonly before: ReadonlyMap<string, Code>;
  readonly other: Code;
}

export const badRecordReasons: ReasonSet<BadRecordCode> = {
  codes: badRecordCodes,
  messages: badRecordMessages,
  before: new Map<string, BadRecordCode>([
    ['corrupt gzip member', 'corrupt_gzip_member'],
    ['gzip checksum mismatch', 'gzip_checksum_mismatch'],
    ['non-gzip data between members', 'non_gzip_data'],
    ['truncated gzip member', 'truncated_gzip_member'],
    ['truncated record', 'truncated_record'],
    ['non-WARC data', 'non_warc_data'],
    ['wrong Content-Length', 'wrong_content_length'],
    ['missing or invalid Content-Length', 'invalid_content_length'],
    ['WARC header line past its limit', 'warc_header_line_too_long'],
    ['WARC header block past its limit', 'warc_header_block_too_long'],
    ['HTTP header past its limit', 'http_header_too_long'],
    ['missing WARC-Target-URI', 'missing_warc_target_uri'],
    ['unparseable WARC-Target-URI', 'unparseable_warc_target_uri'],
    ['no HTTP status line', 'no_http_status_line'],
    ['non-ARC data', 'non_arc_data'],
    ['invalid ARC header line', 'invalid_arc_header_line'],
    ['ARC header line past its limit', 'arc_header_line_too_long'],
    ['wrong Archive-length', 'wrong_archive_length'],
  ]),
  other: 'other',
};

export const skippedRecordReasons: ReasonSet<SkippedRecordCode> = {
  codes: skippedRecordCodes,
  messages: skippedRecordMessages,
  before: new Map<string, SkippedRecordCode>([['not an HTTP capture', 'not_http_capture']]),
  other: 'other',
};

export const recordWarningReasons: ReasonSet<RecordWarningCode> = {
  codes: recordWarningCodes,
  messages: recordWarningMessages,
  before: new Map<string, RecordWarningCode>([
    ['unreadable WARC-Date', 'unreadable_warc_date'],
    ['Content-Length short of the block', 'content_length_short_of_block'],
  ]),
  other: 'other',
};

export function isCode<Code extends string>(set: ReasonSet<Code>, key: string): key is Code {
  return Object.hasOwn(set.messages, key);
}

/** The code a stored key stands for: a code, a free text stored before the codes, or else `other`. */
export function codeOfStored<Code extends string>(set: ReasonSet<Code>, stored: string): Code {
  if (isCode(set, stored)) return stored;
  return set.before.get(stored) ?? set.other;
}

/**
 * Counts as a store holds them, read into codes: old free texts become their codes, keys this
 * version does not know are summed under `other`, and what is not a count (a damaged or
 * hand-edited store) is left out rather than thrown on.
 */
export function readStoredCounts<Code extends string>(set: ReasonSet<Code>, stored: unknown): ReasonCounts<Code> {
  const counts: ReasonCounts<Code> = {};
  if (typeof stored !== 'object' || stored === null) return counts;
  for (const [key, value] of Object.entries(stored)) {
    const times = typeof value === 'string' ? Number(value) : value;
    if (typeof times !== 'number' || !Number.isFinite(times) || times <= 0) continue;
    const code = codeOfStored(set, key);
    counts[code] = (counts[code] ?? 0) + times;
  }
  return counts;
}

/** `a + b`, code by code. */
export function addReasonCounts<Code extends string>(
  set: ReasonSet<Code>,
  a: ReasonCounts<Code>,
  b: ReasonCounts<Code>,
): ReasonCounts<Code> {
  const sum: ReasonCounts<Code> = {};
  for (const code of set.codes) {
    const total = (a[code] ?? 0) + (b[code] ?? 0);
    if (total > 0) sum[code] = total;
  }
  return sum;
}

/** The codes counted, the most frequent first (ties in the set's order, so the text is stable). */
export function countedCodes<Code extends string>(
  set: ReasonSet<Code>,
  counts: ReasonCounts<Code>,
): [code: Code, times: number][] {
  const counted: [Code, number][] = [];
  for (const code of set.codes) {
    const times = counts[code] ?? 0;
    if (times > 0) counted.push([code, times]);
  }
  return counted.sort(([, a], [, b]) => b - a);
}

/** `code n, code n`, the most frequent first: for lines that name many inputs, and for failure reasons. */
export function reasonCodesText<Code extends string>(set: ReasonSet<Code>, counts: ReasonCounts<Code>): string {
  return countedCodes(set, counts)
    .map(([code, times]) => `${code} ${times}`)
    .join(', ');
}

/** `code n (message); code n (message)`, the most frequent first: for the totals a person reads. */
export function reasonMessagesText<Code extends string>(set: ReasonSet<Code>, counts: ReasonCounts<Code>): string {
  return countedCodes(set, counts)
    .map(([code, times]) => `${code} ${times} (${set.messages[code]})`)
    .join('; ');
}

/** Counts of the three sets together, as a job's counters or a run's totals hold them. */
export interface ReasonTotals {
  readonly bad: BadRecordCounts;
  readonly skipped: SkippedRecordCounts;
  readonly warning: RecordWarningCounts;
}

/** The lines a person reads under a run's totals, one a set that counted anything: each code, its count and message. */
export function reasonTotalsLines(totals: ReasonTotals, indent = '  '): string[] {
  const lines: string[] = [];
  const line = <Code extends string>(what: string, set: ReasonSet<Code>, counts: ReasonCounts<Code>): void => {
    if (countedCodes(set, counts).length > 0)
      lines.push(`${indent}${what} by reason: ${reasonMessagesText(set, counts)}`);
  };
  line('bad records', badRecordReasons, totals.bad);
  line('skipped records', skippedRecordReasons, totals.skipped);
  line('rows with warnings', recordWarningReasons, totals.warning);
  return lines;
}
