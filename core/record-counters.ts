/**
 * Counts of records by WARC-Type and of bad records by reason, for one chunk or one job; and,
 * apart from damage, records skipped and rows kept with a warning, by reason.
 */
export interface RecordCounters {
  /** e.g. `{ response: 10, request: 10, metadata: 10, warcinfo: 1 }` */
  readonly byType: Readonly<Record<string, number>>;
  /** e.g. `{ 'truncated gzip member': 1 }`; a bad record is never dropped silently. */
  readonly badByReason: Readonly<Record<string, number>>;
  /**
   * Records of a row type that are no capture of the web and make no row, not damage: e.g.
   * `{ 'not an HTTP capture': 2 }` for Heritrix's `dns:` and `whois:` records. Absent: none.
   */
  readonly skippedByReason?: Readonly<Record<string, number>>;
  /** Rows kept with a column left null or a length mended, e.g. `{ 'unreadable WARC-Date': 1 }`. Absent: none. */
  readonly warningByReason?: Readonly<Record<string, number>>;
}

export const emptyRecordCounters: RecordCounters = {
  byType: {},
  badByReason: {},
  skippedByReason: {},
  warningByReason: {},
};

/** Adds two count tables; keys are few (record types, bad-record reasons), so this stays cheap. */
export function addRecordCounters(a: RecordCounters, b: RecordCounters): RecordCounters {
  return {
    byType: addCounts(a.byType, b.byType),
    badByReason: addCounts(a.badByReason, b.badByReason),
    skippedByReason: addCounts(a.skippedByReason ?? {}, b.skippedByReason ?? {}),
    warningByReason: addCounts(a.warningByReason ?? {}, b.warningByReason ?? {}),
  };
}

function addCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = { ...a };
  for (const [key, count] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + count;
  return sum;
}

export function totalCount(counts: Readonly<Record<string, number>> | undefined): number {
  let total = 0;
  for (const count of Object.values(counts ?? {})) total += count;
  return total;
}
