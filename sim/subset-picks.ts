/**
 * The captures an index query picks, drawn for the planner: how many of a file's captures are
 * picked (the spread over files) and which (record positions drawn uniformly in the file).
 * Both the event simulation (a subset workload, fleet-simulation.ts) and the closed form
 * (subset-plan.ts) draw their picks here, so they plan the same picks for the same seed.
 *
 * A file is CommonCrawl-like: records `recordSpacingBytes` apart (a response and the request
 * and metadata records after it), each picked capture a response `captureBytes` long.
 */
import { nextUnit, type SeededRandom } from '../core/seeded-random.ts';
import type { ByteRange } from '../core/source.ts';

/** `even`: the same share of picks a file; `skewed`: Zipf-like, a few files hold most, as a query for one site. */
export const pickSpreads = ['even', 'skewed'] as const;
export type PickSpread = (typeof pickSpreads)[number];

export interface PickShape {
  readonly spread: PickSpread;
  readonly recordSpacingBytes: number;
  readonly captureBytes: number;
}

/** Draws past the wanted count a file may take to find distinct positions, per pick wanted. */
const drawsPerPickMax = 64;

/** Records a file of `fileBytes` holds. */
export function recordsOf(fileBytes: number, shape: PickShape): number {
  return Math.floor(fileBytes / shape.recordSpacingBytes);
}

/**
 * Picks per file for `captures` picks over `files` files, of which `fileBytes` (one size per
 * file) are drawn: each file's share by the spread, at most the records it holds. Rounding by
 * a random draw keeps the total right on average when a share is fractional.
 */
export function picksPerFile(
  captures: number,
  fileBytes: readonly number[],
  shape: PickShape,
  random: SeededRandom,
): number[] {
  const weights = fileBytes.map((_, index) => (shape.spread === 'even' ? 1 : 1 / (index + 1)));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight, index) => {
    const exact = Math.min(recordsOf(fileBytes[index] ?? 0, shape), (captures * weight) / total);
    return Math.floor(exact) + (nextUnit(random) < exact - Math.floor(exact) ? 1 : 0);
  });
}

/** `count` distinct record positions of a file of `fileBytes`, as picked ranges in file order. */
export function picksOfFile(count: number, fileBytes: number, shape: PickShape, random: SeededRandom): ByteRange[] {
  const capacity = recordsOf(fileBytes, shape);
  const chosen = new Set<number>();
  // Above half the capacity every position is taken in order; below, most draws are new, and
  // the draws are bounded all the same.
  if (count > capacity / 2)
    for (let position = 0; position < capacity && chosen.size < count; position++) chosen.add(position);
  for (let draw = 0; chosen.size < count && draw < count * drawsPerPickMax; draw++)
    chosen.add(Math.floor(nextUnit(random) * capacity));
  return [...chosen]
    .sort((a, b) => a - b)
    .map((position) => ({ offsetBytes: position * shape.recordSpacingBytes, lengthBytes: shape.captureBytes }));
}

/** The picks of each file: `captures` picks over files of the sizes given. */
export function drawPicks(
  captures: number,
  fileBytes: readonly number[],
  shape: PickShape,
  random: SeededRandom,
): ByteRange[][] {
  const counts = picksPerFile(captures, fileBytes, shape, random);
  return counts.map((count, index) => picksOfFile(count, fileBytes[index] ?? 0, shape, random));
}

/** The picks of a sorted list that lie whole within `range`: how many and their bytes (a binary search, then a walk). */
export function picksWithin(picks: readonly ByteRange[], range: ByteRange): { count: number; bytes: number } {
  let low = 0;
  let high = picks.length;
  // Halves [low, high) each turn: at most log2(picks) + 1 turns.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((picks[middle]?.offsetBytes ?? Infinity) < range.offsetBytes) low = middle + 1;
    else high = middle;
  }
  let count = 0;
  let bytes = 0;
  const end = range.offsetBytes + range.lengthBytes;
  for (let index = low; index < picks.length; index += 1) {
    const pick = picks[index];
    if (pick === undefined || pick.offsetBytes + pick.lengthBytes > end) break;
    count += 1;
    bytes += pick.lengthBytes;
  }
  return { count, bytes };
}
