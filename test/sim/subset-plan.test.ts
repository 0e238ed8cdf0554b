/**
 * The subset planner (sim/subset-plan.ts): it counts what the core's request plan asks, so
 * coalescing never asks more requests than one a capture nor fetches less than was picked;
 * one request a capture fetches exactly the picked bytes; a dense pick (1 in 3) saves most
 * requests, a sparse one (1 in 1,000) almost none; more instances never take longer; and the
 * bound it names is the ceiling that the figures say binds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSubsetScenario, planSubset, type SubsetScenario } from '../../sim/subset-plan.ts';

const small: SubsetScenario = { ...defaultSubsetScenario, files: 200, captures: 200_000, fileBytes: 64 * 1024 ** 2 };
const perFile = Math.floor(small.fileBytes / small.recordSpacingBytes);

describe('the subset planner', () => {
  it('coalesces to fewer requests and more bytes, never fewer bytes than picked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 3 }), (captures, seed) => {
        const scenario = { ...small, files: 20, captures, seed };
        const coalesced = planSubset(scenario);
        const single = planSubset({ ...scenario, gapBytesMax: 0 });
        expect(single.requests).toBeCloseTo(single.captures, 6);
        expect(single.bytesFetched).toBeCloseTo(single.bytesPicked, 0);
        expect(coalesced.requests).toBeLessThanOrEqual(single.requests);
        expect(coalesced.bytesFetched).toBeGreaterThanOrEqual(coalesced.bytesPicked);
      }),
      { numRuns: 30 },
    );
  });

  it('saves most requests on a pick of 1 in 3 and almost none on 1 in 1,000', () => {
    const dense = planSubset({ ...small, captures: Math.round((small.files * perFile) / 3) });
    const sparse = planSubset({ ...small, captures: Math.round((small.files * perFile) / 1000) });
    expect(dense.requests / dense.captures).toBeLessThan(0.01);
    expect(sparse.requests / sparse.captures).toBeGreaterThan(0.9);
  });

  it('takes no longer with more instances, and names the ceiling that binds', () => {
    // A sparse pick is requests, each small: the workers' request ceilings bind, then the fleet's.
    const sparse = { ...small, captures: 2_000 };
    const few = planSubset({ ...sparse, instances: 2 });
    const many = planSubset({ ...sparse, instances: 20 });
    expect(many.hours).toBeLessThanOrEqual(few.hours);
    expect(few.bound).toBe('request rate');
    expect(few.hours).toBeCloseTo(few.requests / (2 * 20) / 3600, 9);
    const fleetBound = planSubset({ ...sparse, instances: 500 });
    expect(fleetBound.hours).toBeCloseTo(fleetBound.requests / small.fleetRequestsPerSecond / 3600, 9);
  });
});
