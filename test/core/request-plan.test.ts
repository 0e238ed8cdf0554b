/**
 * Proves the request plan of a subset (core/request-plan.ts): whatever the picks, every pick
 * lies whole in exactly one request and its picks are consecutive; no request is longer than a
 * chunk unless it holds one pick alone; two neighbouring requests are apart by more than the
 * gap rule allows, or could not have been one without passing a chunk; requests are in file
 * order and never overlap. The gap rule is the fixed cost times the stream rate, and the
 * bytes handed to the decoder are the picks, gaps dropped. A subset job's size is the bytes
 * its picks name.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import {
  coalesceGapBytesOf,
  normalizedPicks,
  overlappingPicks,
  pickedBytes,
  pickedBytesOf,
  planRequests,
} from '../../core/request-plan.ts';
import { newJobState } from '../../core/job-state.ts';
import { defaultLimits } from '../../core/limits.ts';
import type { ByteRange } from '../../core/source.ts';

const runs = { numRuns: Number(process.env.CORE_PROPERTY_RUNS ?? 300) };

/** Picks that do not overlap, in file order: gaps and lengths drawn, then laid end to end. */
const picksArbitrary = fc
  .array(fc.record({ gap: fc.nat({ max: 5_000 }), length: fc.integer({ min: 1, max: 3_000 }) }), { maxLength: 60 })
  .map((steps) => {
    let at = 0;
    return steps.map(({ gap, length }) => {
      const pick = { offsetBytes: at + gap, lengthBytes: length };
      at = pick.offsetBytes + length;
      return pick;
    });
  });

const optionsArbitrary = fc.record({
  chunkBytes: fc.integer({ min: 1, max: 20_000 }),
  gapBytesMax: fc.nat({ max: 8_000 }),
});

const endOf = (range: ByteRange): number => range.offsetBytes + range.lengthBytes;

describe('planRequests', () => {
  it('covers every pick exactly once, with consecutive picks per request, in file order', () => {
    fc.assert(
      fc.property(picksArbitrary, optionsArbitrary, (picks, options) => {
        const requests = planRequests(picks, options);
        const carried = requests.flatMap((request) =>
          Array.from({ length: request.endPick - request.firstPick }, (_, index) => request.firstPick + index),
        );
        expect(carried).toEqual(picks.map((_, index) => index));
        for (const request of requests) {
          const inside = picks.slice(request.firstPick, request.endPick);
          expect(request.offsetBytes).toBe(inside[0]?.offsetBytes);
          expect(endOf(request)).toBe(Math.max(...inside.map(endOf)));
          // Containment is what the source's slicing relies on: each pick in its own request only.
          const containing = requests.filter(
            (other) =>
              other.offsetBytes <= (inside[0]?.offsetBytes ?? -1) && endOf(other) >= endOf(inside.at(-1) ?? request),
          );
          expect(containing).toEqual([request]);
        }
        for (let index = 1; index < requests.length; index += 1)
          expect(requests[index]?.offsetBytes).toBeGreaterThanOrEqual(
            endOf(requests[index - 1] ?? { offsetBytes: 0, lengthBytes: 0 }),
          );
      }),
      runs,
    );
  });

  it('never asks more than a chunk, unless one pick alone is longer', () => {
    fc.assert(
      fc.property(picksArbitrary, optionsArbitrary, (picks, options) => {
        for (const request of planRequests(picks, options))
          if (request.endPick - request.firstPick > 1)
            expect(request.lengthBytes).toBeLessThanOrEqual(options.chunkBytes);
          else expect(request.lengthBytes).toBe(picks[request.firstPick]?.lengthBytes);
      }),
      runs,
    );
  });

  it('bridges every gap the rule allows and no other: two requests are apart by more, or one would pass a chunk', () => {
    fc.assert(
      fc.property(picksArbitrary, optionsArbitrary, (picks, options) => {
        const requests = planRequests(picks, options);
        for (const request of requests)
          for (let index = request.firstPick + 1; index < request.endPick; index += 1) {
            const gap =
              (picks[index]?.offsetBytes ?? 0) - endOf(picks[index - 1] ?? { offsetBytes: 0, lengthBytes: 0 });
            expect(gap).toBeLessThanOrEqual(options.gapBytesMax);
          }
        for (let index = 1; index < requests.length; index += 1) {
          const before = requests[index - 1] ?? requests[0];
          const after = requests[index] ?? requests[0];
          if (before === undefined || after === undefined) continue;
          const gap = after.offsetBytes - endOf(before);
          const firstPickEnd = endOf(picks[after.firstPick] ?? after);
          const wouldPassChunk = firstPickEnd - before.offsetBytes > options.chunkBytes;
          expect(gap > options.gapBytesMax || wouldPassChunk).toBe(true);
        }
      }),
      runs,
    );
  });

  it('sends one request for picks back to back within a chunk, and one a pick when every gap is too wide', () => {
    const adjacent = [0, 100, 200, 300].map((offsetBytes) => ({ offsetBytes, lengthBytes: 100 }));
    expect(planRequests(adjacent, { chunkBytes: 400, gapBytesMax: 0 })).toHaveLength(1);
    expect(planRequests(adjacent, { chunkBytes: 399, gapBytesMax: 0 })).toHaveLength(2);
    const spread = [0, 1_000, 2_000].map((offsetBytes) => ({ offsetBytes, lengthBytes: 100 }));
    expect(planRequests(spread, { chunkBytes: 10_000, gapBytesMax: 899 })).toHaveLength(3);
    expect(planRequests(spread, { chunkBytes: 10_000, gapBytesMax: 900 })).toHaveLength(1);
  });
});

describe('the gap rule', () => {
  it('bridges a gap that streams in less time than a request costs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1_000, max: 1e9 }), (costMs, rate) => {
        const gap = coalesceGapBytesOf({ requestFixedCostMs: costMs, streamBytesPerSecond: rate });
        expect((gap / rate) * 1000).toBeLessThanOrEqual(costMs);
        expect(((gap + 1) / rate) * 1000).toBeGreaterThan(costMs);
      }),
      runs,
    );
  });
});

describe('picks', () => {
  it('are sorted, each once; overlaps are found', () => {
    const picks = normalizedPicks([
      { offsetBytes: 50, lengthBytes: 10 },
      { offsetBytes: 0, lengthBytes: 10 },
      { offsetBytes: 50, lengthBytes: 10 },
    ]);
    expect(picks).toEqual([
      { offsetBytes: 0, lengthBytes: 10 },
      { offsetBytes: 50, lengthBytes: 10 },
    ]);
    expect(overlappingPicks(picks)).toBeNull();
    expect(overlappingPicks([...picks, { offsetBytes: 55, lengthBytes: 1 }])).not.toBeNull();
  });

  it('reach the decoder as their bytes in order, the gaps dropped', () => {
    fc.assert(
      fc.property(picksArbitrary, optionsArbitrary, (picks, options) => {
        const fileBytes = Math.max(0, ...picks.map(endOf));
        const file = Uint8Array.from({ length: fileBytes }, (_, index) => (index * 7 + 3) % 251);
        const handed = planRequests(picks, options).flatMap((request) => [
          ...pickedBytes(picks, request, file.subarray(request.offsetBytes, endOf(request))),
        ]);
        const expected = picks.flatMap((pick) => [...file.subarray(pick.offsetBytes, endOf(pick))]);
        expect(handed).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('that lie past the end of the file fail the read, naming the range', () => {
    const picks = [{ offsetBytes: 10, lengthBytes: 20 }];
    expect(() => pickedBytes(picks, { offsetBytes: 10, lengthBytes: 20 }, new Uint8Array(5))).toThrow(FailureError);
    expect(() => pickedBytes(picks, { offsetBytes: 10, lengthBytes: 20 }, new Uint8Array(5))).toThrow(/10\+20/);
  });
});

describe('the size of a subset job', () => {
  it('is the bytes its picks name, whatever size the ledger holds; its requests fetch the picks and the gaps they bridge', () => {
    fc.assert(
      fc.property(picksArbitrary, fc.option(fc.nat({ max: 1e9 })), (picks, ledgerSize) => {
        const input = {
          uri: 's3://b/x.warc.gz',
          filename: 'x.warc.gz',
          crawl: null,
          subset: null,
          segment: null,
          picks,
        };
        const leased = { jobId: 'j', input, sizeBytes: ledgerSize, attempt: 1, outputKey: 'x.parquet' };
        const job = newJobState(leased, 0, defaultLimits, 0);
        const picked = picks.reduce((sum, pick) => sum + pick.lengthBytes, 0);
        expect(pickedBytesOf(picks)).toBe(picked);
        expect(job.claimed.sizeBytes).toBe(picked);
        const fetched = (job.requests ?? []).reduce((sum, request) => sum + request.lengthBytes, 0);
        expect(fetched).toBeGreaterThanOrEqual(picked);
      }),
      runs,
    );
  });
});
