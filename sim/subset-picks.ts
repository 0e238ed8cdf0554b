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
 * Picks per file for `captures` picks over the files of `fileBytes` (one size per file), a
 * sample of `crawlFiles` files, as even or as skewed as the crawl's: each file's share by the
 * spread, at most the records it holds. Rounding by a random draw keeps the total right on
 * average when a share is fractional.
 */
export function picksPerFile(
  captures: number,
  fileBytes: readonly number[],
  shape: PickShape,
  random: SeededRandom,
  crawlFiles: number,
): number[] {
  const capOf = (index: number): number => recordsOf(fileBytes[index] ?? 0, shape);
  const shares =
    shape.spread === 'even'
      ? fileBytes.map((_, index) => Math.min(capOf(index), captures / fileBytes.length))
      : skewedShares(captures, fileBytes.length, crawlFiles, capOf, random);
  return shares.map((exact) => Math.floor(exact) + (nextUnit(random) < exact - Math.floor(exact) ? 1 : 0));
}

/**
 * A skewed pick's share of each sampled file: the crawl's files ranked by a Zipf law (the
 * file of rank r holds a share 1/r of the picks, at most its records), cut into as many runs
 * of consecutive ranks as the sample has files, each sampled file the mean of one run. So the
 * sample holds the crawl's pick, scaled down, whatever its size: a Zipf law over the sample's
 * own files (as before) put 11,000 picks in the heaviest file of 4,500 and 5,400 in that of
 * 2,000, so the event simulation and the closed form planned different picks of one query.
 * The runs fall on the files in a random order, as an index's files are in no order of their
 * picks: the sample's heavy jobs are spread over its time, not all claimed first.
 */
function skewedShares(
  captures: number,
  sampleFiles: number,
  crawlFiles: number,
  capOf: (index: number) => number,
  random: SeededRandom,
): number[] {
  const files = Math.max(crawlFiles, sampleFiles);
  let harmonic = 0;
  // One pass over the crawl's ranks: bounded by its file count.
  for (let rank = 1; rank <= files; rank++) harmonic += 1 / rank;
  const crawlCaptures = captures * (files / sampleFiles);
  const order = shuffled(sampleFiles, random);
  const shares = new Array<number>(sampleFiles).fill(0);
  for (let run = 0; run < sampleFiles; run++) {
    const index = order[run] ?? run;
    const first = Math.floor((run * files) / sampleFiles);
    const end = Math.floor(((run + 1) * files) / sampleFiles);
    let sum = 0;
    for (let rank = first + 1; rank <= end; rank++) sum += Math.min(capOf(index), crawlCaptures / (harmonic * rank));
    shares[index] = sum / (end - first);
  }
  return shares;
}

/** 0 … count−1 in a random order (Fisher–Yates). */
function shuffled(count: number, random: SeededRandom): number[] {
  const order = Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(nextUnit(random) * (index + 1));
    const held = order[index] ?? index;
    order[index] = order[other] ?? other;
    order[other] = held;
  }
  return order;
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

/** The picks of each file: `captures` picks over files of the sizes given, a sample of `crawlFiles`. */
export function drawPicks(
  captures: number,
  fileBytes: readonly number[],
  shape: PickShape,
  random: SeededRandom,
  crawlFiles: number,
): ByteRange[][] {
  const counts = picksPerFile(captures, fileBytes, shape, random, crawlFiles);
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
