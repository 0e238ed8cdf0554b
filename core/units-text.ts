/**
 * Numbers as a person reads them, the same everywhere the project prints them (progress line,
 * summary, `status`, planner): data in decimal units (kB, MB, GB, TB: 1 GB = 10^9 bytes, as
 * S3, EC2 network figures and `aws s3 ls --human-readable`'s neighbours in the cloud count
 * them), binary MiB/GiB only for memory budgets, durations in s / min / h, and counts with
 * the noun agreeing ("1 file", "2 files").
 */

const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Three significant digits past the first unit: "812 B", "4.20 MB", "48.2 MB", "1.24 GB". */
export function bytesText(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 999.5 && unit < decimalUnits.length - 1) {
    value /= 1_000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
  return `${value.toFixed(digits)} ${decimalUnits[unit] ?? 'PB'}`;
}

/** A data rate: "48.2 MB/s". */
export function rateText(bytesPerSecond: number): string {
  return `${bytesText(bytesPerSecond)}/s`;
}

/** Binary units, for memory budgets only: "512 MiB", "3.50 GiB". */
export function memoryText(bytes: number): string {
  const mebibytes = bytes / 1024 ** 2;
  return mebibytes >= 1024 ? `${(mebibytes / 1024).toFixed(2)} GiB` : `${Math.round(mebibytes)} MiB`;
}

/** "45 s", "3 min 05 s", "2 h 07 min": whole seconds below an hour, whole minutes past it. */
export function durationText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1_000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * An integer with a comma between each three digits, as `toLocaleString('en-US')` writes it:
 * whose first call loads the locale's data, 12-16 ms at the end of every run, after the work.
 */
export function groupedDigits(count: number): string {
  if (!Number.isSafeInteger(count)) return count.toLocaleString('en-US');
  const digits = String(Math.abs(count));
  const head = digits.length % 3 || 3;
  let grouped = digits.slice(0, head);
  // One turn a group of three: bounded by the digits.
  for (let at = head; at < digits.length; at += 3) grouped += `,${digits.slice(at, at + 3)}`;
  return count < 0 ? `-${grouped}` : grouped;
}

/** A count with its noun: "1 file", "3 files", "1,204 records". The plural is the noun plus "s" unless given. */
export function countText(count: number, noun: string, plural = `${noun}s`): string {
  return `${groupedDigits(count)} ${count === 1 ? noun : plural}`;
}
