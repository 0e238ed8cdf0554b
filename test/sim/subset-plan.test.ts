/**
 * The subset planner (sim/subset-plan.ts): it counts what the core's request plan asks, so
 * coalescing never asks more requests than one a capture nor fetches less than was picked;
 * one request a capture fetches exactly the picked bytes; a dense pick (1 in 3) saves most
 * requests, a sparse one (1 in 1,000) almost none; more instances never take longer; and the
 * bound it names is the ceiling that the figures say binds; a capture's CPU time is that of
 * the schema and inflate mode planned (the picked-range decoder reads a capture as the whole
 * file's decoder would), and the closed form of a simulation's scenario takes its models' rates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultModels, withModels } from '../../sim/models.ts';
import { defaultScenario, defaultSubsetWorkload } from '../../sim/scenario.ts';
import { closedFormOf, defaultSubsetScenario, planSubset, type SubsetScenario } from '../../sim/subset-plan.ts';
import { coalesceGapBytesOf, planRequests } from '../../core/request-plan.ts';
import { seededRandom } from '../../core/seeded-random.ts';
import { drawPicks } from '../../sim/subset-picks.ts';

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

describe("the subset planner's CPU time a capture", () => {
  // No request ceiling, streams to spare, one core: the CPU binds whatever the schema.
  const cpuBound: SubsetScenario = {
    ...small,
    captures: 2_000,
    instances: 1,
    coresPerInstance: 1,
    workerRequestsPerSecond: null,
    fleetRequestsPerSecond: Infinity,
    fetchStreamsPerInstance: 10_000,
  };
  const { cpu, schema } = defaultModels;
  const cases = [
    {
      schema: 'index',
      inflate: 'head-only',
      decode: cpu.decodeBytesPerSecondPerCore,
      encode: cpu.encodeRowsPerSecondPerCore,
    },
    {
      schema: 'index',
      inflate: 'full',
      decode: cpu.fullInflateDecodeBytesPerSecondPerCore,
      encode: cpu.encodeRowsPerSecondPerCore,
    },
    // The content schema inflates in full whatever `--inflate` says.
    {
      schema: 'content',
      inflate: 'head-only',
      decode: schema.contentDecodeBytesPerSecondPerCore,
      encode: schema.contentEncodeRowsPerSecondPerCore,
    },
    {
      schema: 'content',
      inflate: 'full',
      decode: schema.contentDecodeBytesPerSecondPerCore,
      encode: schema.contentEncodeRowsPerSecondPerCore,
    },
  ] as const;

  it.each(cases)('plans $schema with $inflate inflate at the rates of that schema and mode', (rates) => {
    const plan = planSubset({ ...cpuBound, schema: rates.schema, inflate: rates.inflate });
    const secondsPerCapture = cpuBound.captureBytes / rates.decode + 1 / rates.encode;
    expect(plan.bound).toBe('cpu');
    expect(plan.hours * 3600).toBeCloseTo(plan.captures * secondsPerCapture, 6);
  });

  it('plans a content subset some ten times as long as the head-only index one', () => {
    const index = planSubset(cpuBound);
    const content = planSubset({ ...cpuBound, schema: 'content' });
    // 0.855 ms a capture against 0.074 ms at the default rates: 11.5 times.
    expect(content.hours / index.hours).toBeGreaterThan(10);
    expect(content.hours / index.hours).toBeLessThan(13);
  });

  it("takes a simulation's schema, inflate mode and calibrated rates into its closed form", () => {
    const models = withModels(defaultScenario.models, {
      schema: { output: 'content', contentDecodeBytesPerSecondPerCore: 40_000_000 },
    });
    const closed = closedFormOf({ ...defaultScenario, models, subset: defaultSubsetWorkload });
    expect(closed.schema).toBe('content');
    expect(closed.cpuSecondsPerCapture).toBeCloseTo(
      defaultSubsetWorkload.captureBytes / 40_000_000 + 1 / schema.contentEncodeRowsPerSecondPerCore,
      12,
    );
    const full = closedFormOf({
      ...defaultScenario,
      models: withModels(defaultScenario.models, { cpu: { inflate: 'full' } }),
      subset: defaultSubsetWorkload,
    });
    expect(full.inflate).toBe('full');
    expect(full.cpuSecondsPerCapture).toBeCloseTo(
      defaultSubsetWorkload.captureBytes / cpu.fullInflateDecodeBytesPerSecondPerCore +
        1 / cpu.encodeRowsPerSecondPerCore,
      12,
    );
  });
});

describe('a skewed pick drawn for a sample', () => {
  // The crawl's pick scaled down: the same requests for the crawl whatever the sample's size.
  // A Zipf law over the sample's own files (before) planned 8% more requests from 2,000 files
  // than from 4,500, the closed form's sample against the simulation's.
  it('plans the same requests for the crawl from samples of 1,000, 2,000 and 4,500 of its 90,000 files', () => {
    const crawl = { files: 90_000, captures: 2_000_000 };
    const shape = { ...defaultSubsetScenario, spread: 'skewed' as const };
    const gapBytesMax = coalesceGapBytesOf(defaultSubsetScenario);
    const crawlRequests = [1_000, 2_000, 4_500].map((sampled) => {
      const sizes = Array.from({ length: sampled }, () => shape.fileBytes);
      const picks = drawPicks(crawl.captures * (sampled / crawl.files), sizes, shape, seededRandom(7), crawl.files);
      const requests = picks.reduce(
        (sum, filePicks) => sum + planRequests(filePicks, { chunkBytes: shape.chunkBytes, gapBytesMax }).length,
        0,
      );
      return (requests * crawl.files) / sampled;
    });
    console.log(
      `crawl requests from samples of 1,000, 2,000, 4,500 files: ${crawlRequests.map(Math.round).join(', ')}`,
    );
    const low = Math.min(...crawlRequests);
    const high = Math.max(...crawlRequests);
    expect(high / low).toBeLessThan(1.03);
  });

  it("holds the crawl's picks, at most each file's records, its heavy files in no order", () => {
    const shape = { ...defaultSubsetScenario, spread: 'skewed' as const };
    const sizes = Array.from({ length: 1_000 }, () => shape.fileBytes);
    const records = Math.floor(shape.fileBytes / shape.recordSpacingBytes);
    const counts = drawPicks(20_000, sizes, shape, seededRandom(3), 90_000).map((picks) => picks.length);
    const total = counts.reduce((sum, count) => sum + count, 0);
    // The crawl's 1.8 million picks by the Zipf law, each file at most its records: the first
    // four hold every record (the first's share is 150,000) and lose what does not fit.
    const ranks = Array.from({ length: 90_000 }, (_, index) => index + 1);
    const harmonic = ranks.reduce((sum, rank) => sum + 1 / rank, 0);
    const crawlPicks = ranks.reduce((sum, rank) => sum + Math.min(records, 1_800_000 / (harmonic * rank)), 0);
    expect(Math.abs((total * 90) / crawlPicks - 1)).toBeLessThan(0.01);
    expect(Math.max(...counts)).toBeLessThanOrEqual(records);
    // The heaviest is not the first file, as ranks laid in file order would put it.
    expect(counts.indexOf(Math.max(...counts))).toBeGreaterThan(0);
  });
});
