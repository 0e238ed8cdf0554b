/**
 * Parses a WARC-Date into milliseconds since the epoch, UTC, or null when it is not a date.
 * WARC 1.0 writes `2024-05-18T01:58:11Z`; WARC 1.1 may add a fraction of a second; WARC 0.17
 * and 0.18 writers (and ARC-derived tools) sometimes write 14 digits, `20240518015811`.
 */
const isoPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const digitsPattern = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

export function parseWarcDate(value: string | null): number | null {
  if (value === null) return null;
  const match = isoPattern.exec(value) ?? digitsPattern.exec(value);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const milliseconds = match[7] === undefined ? 0 : Math.floor(Number(`0.${match[7]}`) * 1000);
  const time = Date.UTC(year, month - 1, day, hour, minute, second, milliseconds);
  // Date.UTC rolls 2024-02-31 over into March: a date that does not round-trip is invalid.
  const date = new Date(time);
  const valid = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    && hour < 24 && minute < 60 && second < 61;
  return valid ? time : null;
}
