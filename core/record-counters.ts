import {
  addReasonCounts,
  readStoredCounts,
  badRecordReasons,
  type BadRecordCounts,
  recordWarningReasons,
  type RecordWarningCounts,
  skippedRecordReasons,
  type SkippedRecordCounts,
} from './record-reasons.ts';

/**
 * Counts of records by WARC-Type and of bad records by reason, for one chunk or one job; and,
 * apart from damage, records skipped and rows kept with a warning, by reason. Reasons are the
 * codes of `record-reasons.ts`.
 */
export interface RecordCounters {
  /** e.g. `{ response: 10, request: 10, metadata: 10, warcinfo: 1 }` */
  readonly byType: Readonly<Record<string, number>>;
  /** e.g. `{ truncated_gzip_member: 1 }`; a bad record is never dropped silently. */
  readonly badByReason: Readonly<BadRecordCounts>;
  /**
   * Records of a row type that are no capture of the web and make no row, not damage: e.g.
   * `{ not_http_capture: 2 }` for Heritrix's `dns:` and `whois:` records. Absent: none.
   */
  readonly skippedByReason?: Readonly<SkippedRecordCounts>;
  /** Rows kept with a column left null or a length mended, e.g. `{ unreadable_warc_date: 1 }`. Absent: none. */
  readonly warningByReason?: Readonly<RecordWarningCounts>;
}

export const emptyRecordCounters: RecordCounters = {
  byType: {},
  badByReason: {},
  skippedByReason: {},
  warningByReason: {},
};

/** Adds two count tables; keys are few (record types, reason codes), so this stays cheap. */
export function addRecordCounters(a: RecordCounters, b: RecordCounters): RecordCounters {
  return {
    byType: addCounts(a.byType, b.byType),
    badByReason: addReasonCounts(badRecordReasons, a.badByReason, b.badByReason),
    skippedByReason: addReasonCounts(skippedRecordReasons, a.skippedByReason ?? {}, b.skippedByReason ?? {}),
    warningByReason: addReasonCounts(recordWarningReasons, a.warningByReason ?? {}, b.warningByReason ?? {}),
  };
}

/**
 * Counters as a store kept them, read into codes: reasons stored as free text before the codes
 * become their codes, keys this version does not know count as `other`. Never throws.
 */
export function readStoredRecordCounters(stored: unknown): RecordCounters {
  const fields: Record<string, unknown> = typeof stored === 'object' && stored !== null ? { ...stored } : {};
  const byType: Record<string, number> = {};
  if (typeof fields.byType === 'object' && fields.byType !== null) {
    for (const [type, times] of Object.entries(fields.byType))
      if (typeof times === 'number' && Number.isFinite(times)) byType[type] = times;
  }
  return {
    byType,
    badByReason: readStoredCounts(badRecordReasons, fields.badByReason),
    skippedByReason: readStoredCounts(skippedRecordReasons, fields.skippedByReason),
    warningByReason: readStoredCounts(recordWarningReasons, fields.warningByReason),
  };
}

function addCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = { ...a };
  for (const [key, count] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + count;
  return sum;
}

export function totalCount(counts: Readonly<Record<string, number | undefined>> | undefined): number {
  let total = 0;
  for (const count of Object.values(counts ?? {})) total += count ?? 0;
  return total;
}
