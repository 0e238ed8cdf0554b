/**
 * The short name of a subset's set of picked ranges: the `<pick>` of its output key
 * (`<name>.<pick>.parquet`) and part of its job id. It depends on the set only (the ranges
 * are normalized before it is taken), so the same query re-run resumes the same jobs and
 * writes the same keys, and a subset never meets the whole file's `<name>.parquet`.
 */
import { createHash } from 'node:crypto';
import type { ByteRange } from '../../core/source.ts';

/**
 * Hex digits of SHA-256 kept: 48 bits tell apart the subsets of one file that one output
 * holds (a handful of queries) with a collision chance below 1 in 10^12 for 1,000 of them.
 */
const pickKeyHexDigits = 12;

/** The ranges as text, `offset+length` joined by commas: what the key hashes. */
export function picksText(picks: readonly ByteRange[]): string {
  return picks.map((pick) => `${pick.offsetBytes}+${pick.lengthBytes}`).join(',');
}

export function pickKeyOf(picks: readonly ByteRange[]): string {
  return createHash('sha256').update(picksText(picks)).digest('hex').slice(0, pickKeyHexDigits);
}
