/**
 * DuckDB's casts of a quoted literal, for the subset `--where` accepts: a string to an integer
 * column's type, and a `TIMESTAMP '…'` (or a string compared with `fetch_time`) to an instant.
 * What DuckDB reads in more ways than these (hex, digit separators, `epoch`, time zone names)
 * is refused with a reason rather than read differently. Each returns the value or, for a text
 * it does not take, the reason.
 */

/** What DuckDB trims around a number it casts from a string. */
const numberPattern = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;

/**
 * A string cast to an integer type as DuckDB casts it: spaces around it ignored, a fraction or
 * an exponent rounded half away from zero ('200.5' is 201), out of the type's range refused.
 */
export function castToInteger(text: string, range: readonly [number, number]): number | string {
  const match = numberPattern.exec(text);
  if (match === null) return `'${text}' is not a number`;
  const value = Number(match[1]);
  const rounded = Math.sign(value) * Math.round(Math.abs(value));
  if (!Number.isFinite(rounded) || rounded < range[0] || rounded > range[1])
    return `'${text}' is outside ${range[0]}..${range[1]}`;
  return rounded === 0 ? 0 : rounded;
}

const timestampPattern =
  /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:T| +)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?(?:(Z| *UTC)|([+-]\d{2}(?::?\d{2})?))?$/;

const millisecondsPerDay = 86_400_000;

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const timestampForm = "write YYYY-MM-DD[ HH:MM[:SS[.ffffff]]] in UTC, as in TIMESTAMP '2024-03-01 12:00:00'";

/**
 * A timestamp literal as DuckDB's TIMESTAMP reads it, in milliseconds since the epoch (a
 * fraction keeps the microseconds; digits past them are cut, as DuckDB cuts them). `24:00:00`
 * is the next day's start, as in DuckDB. An offset other than zero is refused: DuckDB's
 * TIMESTAMP drops it without shifting the time, which reads as a mistake waiting to happen,
 * while `fetch_time` is UTC.
 */
export function timestampMilliseconds(text: string): number | string {
  const match = timestampPattern.exec(text);
  if (match === null) return `'${text}' is not a timestamp: ${timestampForm}`;
  const [, yearText, monthText, dayText, hourText, minuteText, secondText, fraction, , offset] = match;
  if (offset !== undefined && !/^[+-]00(?::?00)?$/.test(offset))
    return `'${text}' has a time zone offset: fetch_time is UTC, ${timestampForm}`;
  const year = Number(yearText);
  const month = Number(monthText);
  const day = Number(dayText);
  const hour = Number(hourText ?? 0);
  const minute = Number(minuteText ?? 0);
  const second = Number(secondText ?? 0);
  const micros = Number((fraction ?? '').slice(0, 6).padEnd(6, '0'));
  const endOfDay = hour === 24 && minute === 0 && second === 0 && micros === 0;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return `'${text}' is not a date of the calendar`;
  if ((hour > 23 && !endOfDay) || minute > 59 || second > 59) return `'${text}' is not a time of day`;
  const seconds = hour * 3_600 + minute * 60 + second;
  return daysFromCivil(year, month, day) * millisecondsPerDay + seconds * 1_000 + micros / 1_000;
}
