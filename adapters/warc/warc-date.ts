/**
 * Parses a WARC-Date into milliseconds since the epoch, UTC, or null when it is not a date.
 *
 * WARC takes W3C date-times (the W3CDTF profile of ISO 8601): `2024-05-18T01:58:11Z` as nearly
 * every writer has it, and also a fraction of a second of any length, minute precision
 * (`2019-08-15T01:02Z`), a zone offset (`+02:00`, or `-0700` as some writers leave out the
 * colon), and the coarser forms `YYYY-MM-DD`, `YYYY-MM` and `YYYY`. An offset is applied, so
 * the result is the UTC instant (warcio and cdxj-indexer drop it, which shifts the capture by
 * the offset). A time with no zone is read as UTC, as WARC's dates are UTC and warcio reads
 * them. WARC 0.17 and 0.18 writers (and ARC-derived tools) write 14 digits, `20240518015811`.
 */
const commonPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const w3cPattern = new RegExp(
  '^(\\d{4})(?:-(\\d{2})(?:-(\\d{2})' +
    '(?:T(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d+))?)?(Z|[+-]\\d{2}:?\\d{2})?)?)?)?$',
);
const digitsPattern = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
/** Digits of a fraction that can change the milliseconds; the rest are dropped. */
const fractionDigitsUsed = 3;

export function parseWarcDate(value: string | null): number | null {
  if (value === null) return null;
  // The form of nearly every record first: one small pattern, no zone to apply.
  const common = commonPattern.exec(value) ?? digitsPattern.exec(value);
  if (common !== null) return utc(common.slice(1, 7).map(Number), 0);
  if (value.length > 64) return null;
  const match = w3cPattern.exec(value);
  if (match === null) return null;
  const [, year, month = '1', day = '1', hour = '0', minute = '0', second = '0', fraction, zone] = match;
  const milliseconds =
    fraction === undefined ? 0 : Number(fraction.slice(0, fractionDigitsUsed).padEnd(fractionDigitsUsed, '0'));
  const time = utc([year, month, day, hour, minute, second].map(Number), milliseconds);
  if (time === null) return null;
  const offset = zoneOffsetMinutes(zone);
  return offset === null ? null : time - offset * 60_000;
}

/**
 * The instant of a calendar date and time in UTC (year, month, day, hour, minute, second), or
 * null when it is no such date (2024-02-31).
 */
function utc(fields: number[], milliseconds: number): number | null {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = fields;
  // A leap second (60) is allowed and rolls into the next minute.
  if (hour > 23 || minute > 59 || second > 60) return null;
  const time = Date.UTC(year, month - 1, day, hour, minute, second, milliseconds);
  // Date.UTC rolls 2024-02-31 over into March: a date that does not round-trip is invalid.
  const date = new Date(time);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? time : null;
}

/** Minutes east of UTC of `Z`, `+hh:mm` or `-hhmm`; 0 when there is none; null when out of range. */
function zoneOffsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(-2));
  if (hours > 23 || minutes > 59) return null;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}
