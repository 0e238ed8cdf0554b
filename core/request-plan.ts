/**
 * The ranged GETs that fetch the picked captures of one file (`--input index:…`): picked
 * ranges that lie close together share one request when fetching the gap between them costs
 * less than sending another request, and no request is longer than a chunk, unless one picked
 * range alone is (a record over 32 MiB is fetched alone, in one request of its own length).
 *
 * The gap rule. A request costs a fixed latency before its first byte (`requestFixedCostMs`:
 * the round trip and the server's lookup), and a byte of gap costs `1 / streamBytesPerSecond`
 * of the same stream's time. Bridging a gap of g bytes instead of sending a second request
 * pays g / rate and saves the fixed cost, so a gap is bridged when
 *
 *   g < requestFixedCostMs / 1000 × streamBytesPerSecond.
 *
 * With CommonCrawl's defaults (60 ms to the first byte of a ranged GET from inside AWS's
 * us-east-1, 16 MiB/s on one stream, see core/limits.ts) that is about 1 MiB. A worker whose
 * request rate is capped (`--source-requests-per-second`) pays a request dearer still, which
 * this rule leaves out: it errs towards more requests, never towards fetching more than a
 * request would have cost. `--coalesce-gap-kb` overrides the rule.
 */
import { FailureError, inputFault } from './failure.ts';
import type { ByteRange } from './source.ts';

/** What a request costs, for the gap rule. */
export interface RequestCosts {
  /** Time from sending a ranged GET to its first byte. */
  readonly requestFixedCostMs: number;
  /** Bytes a second one stream delivers once it flows. */
  readonly streamBytesPerSecond: number;
}

/** The longest gap between two picked ranges that one request bridges, by the rule above. */
export function coalesceGapBytesOf(costs: RequestCosts): number {
  return Math.floor((costs.requestFixedCostMs / 1000) * costs.streamBytesPerSecond);
}

/** One planned request and the picked ranges (indexes into the picks, in order) it carries. */
export interface PlannedRequest extends ByteRange {
  readonly firstPick: number;
  /** One past the last pick it carries. */
  readonly endPick: number;
}

export interface RequestPlanOptions {
  readonly chunkBytes: number;
  readonly gapBytesMax: number;
}

function endOf(range: ByteRange): number {
  return range.offsetBytes + range.lengthBytes;
}

function compareRanges(left: ByteRange, right: ByteRange): number {
  return left.offsetBytes - right.offsetBytes || left.lengthBytes - right.lengthBytes;
}

/**
 * Picked ranges in the order every part of a subset run reads them: by offset, then length,
 * each once. Two rows of an index naming the same range are one capture, exported once.
 */
export function normalizedPicks<Pick extends ByteRange>(picks: readonly Pick[]): Pick[] {
  const sorted = [...picks].sort(compareRanges);
  return sorted.filter((pick, index) => index === 0 || compareRanges(sorted[index - 1] ?? pick, pick) !== 0);
}

/**
 * The bytes a subset picks: its size. The bytes its requests fetch are more by the gaps they
 * bridge, but those depend on a worker's gap rule, and the gaps are dropped before a byte is
 * counted as read (`pickedBytes`), so that progress, its total and `status` speak of the same bytes.
 */
export function pickedBytesOf(picks: readonly ByteRange[]): number {
  return picks.reduce((sum, pick) => sum + pick.lengthBytes, 0);
}

/** The first pair of picks (normalized) that overlap, or null: an index names each byte once. */
export function overlappingPicks(picks: readonly ByteRange[]): [ByteRange, ByteRange] | null {
  for (let index = 1; index < picks.length; index += 1) {
    const previous = picks[index - 1];
    const pick = picks[index];
    if (previous !== undefined && pick !== undefined && pick.offsetBytes < endOf(previous)) return [previous, pick];
  }
  return null;
}

/**
 * The requests for `picks` (normalized, none overlapping), in file order. Every pick lies
 * whole in exactly one request and the picks of a request are consecutive; a request starts
 * at its first pick and ends at the end of its last, so requests never overlap either.
 */
export function planRequests(picks: readonly ByteRange[], options: RequestPlanOptions): PlannedRequest[] {
  const requests: PlannedRequest[] = [];
  let start = 0;
  let end = 0;
  let firstPick = 0;
  // One pass over the picks: each either joins the open request or closes it and opens one.
  for (let index = 0; index < picks.length; index += 1) {
    const pick = picks[index] ?? { offsetBytes: 0, lengthBytes: 0 };
    const joinedEnd = Math.max(end, endOf(pick));
    const joins =
      index > firstPick && pick.offsetBytes - end <= options.gapBytesMax && joinedEnd - start <= options.chunkBytes;
    if (joins) {
      end = joinedEnd;
      continue;
    }
    if (index > firstPick) requests.push({ offsetBytes: start, lengthBytes: end - start, firstPick, endPick: index });
    firstPick = index;
    start = pick.offsetBytes;
    end = endOf(pick);
  }
  if (picks.length > firstPick)
    requests.push({ offsetBytes: start, lengthBytes: end - start, firstPick, endPick: picks.length });
  return requests;
}

/**
 * The picked bytes of one request's answer, pick after pick, the gaps between them dropped:
 * what the decoder of a subset reads (it cuts them again by the picks' lengths). `bytes` is
 * the answer to `request`; a pick the answer ends short of (the file is shorter than the index
 * says) is an input fault of the whole job, because the picks after it would be misread.
 */
export function pickedBytes(picks: readonly ByteRange[], request: ByteRange, bytes: Uint8Array): Uint8Array {
  const inside: ByteRange[] = [];
  // From the first pick at or after the request's start (a binary search: a file may hold
  // tens of thousands of picks, one request each), to the first past its end.
  for (let index = firstPickFrom(picks, request.offsetBytes); index < picks.length; index += 1) {
    const pick = picks[index];
    if (pick === undefined || endOf(pick) > endOf(request)) break;
    inside.push(pick);
  }
  const total = inside.reduce((sum, pick) => sum + pick.lengthBytes, 0);
  const out = new Uint8Array(total);
  let filled = 0;
  for (const pick of inside) {
    const from = pick.offsetBytes - request.offsetBytes;
    if (from + pick.lengthBytes > bytes.length) return shortAnswer(pick, request, bytes.length);
    out.set(bytes.subarray(from, from + pick.lengthBytes), filled);
    filled += pick.lengthBytes;
  }
  return out;
}

/** The index of the first pick (sorted by offset) starting at or after `offsetBytes`. */
function firstPickFrom(picks: readonly ByteRange[], offsetBytes: number): number {
  let low = 0;
  let high = picks.length;
  // Halves [low, high) each turn: at most log2(picks) + 1 turns.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((picks[middle]?.offsetBytes ?? Infinity) < offsetBytes) low = middle + 1;
    else high = middle;
  }
  return low;
}

function shortAnswer(pick: ByteRange, request: ByteRange, answered: number): never {
  throw new FailureError(
    inputFault(
      `picked range ${pick.offsetBytes}+${pick.lengthBytes} lies past the end of the file ` +
        `(a read of ${request.lengthBytes} bytes from ${request.offsetBytes} gave ${answered}): ` +
        'the index does not describe this file',
    ),
  );
}
