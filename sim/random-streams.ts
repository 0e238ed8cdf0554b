import { nextUnit, seededRandom, type SeededRandom } from '../core/seeded-random.ts';

/**
 * All randomness of a simulation flows from one seed. Each purpose draws from its own stream,
 * so that, say, turning faults on does not shift the latencies every other request gets:
 * comparing two runs (two policies, two fleet sizes) then compares like with like.
 */
export const randomPurposes = [
  'fetch',
  'upload',
  'cpu',
  'ledger',
  'faults',
  'crashes',
  'coreSeeds',
  'workload',
  // Last, so that adding it moved none of the streams above (each is mixed from its index).
  'sizing',
] as const;
export type RandomPurpose = (typeof randomPurposes)[number];

export type RandomStreams = Record<RandomPurpose, SeededRandom>;

/** splitmix32-style mixing, so neighbouring seeds and purposes give unrelated streams. */
function mixSeed(seed: number, purposeIndex: number): number {
  let mixed = (seed ^ Math.imul(purposeIndex + 1, 0x9e3779b9)) >>> 0;
  mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b) >>> 0;
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35) >>> 0;
  return (mixed ^ (mixed >>> 16)) >>> 0;
}

export function randomStreams(seed: number): RandomStreams {
  const streams = {} as Record<RandomPurpose, SeededRandom>;
  randomPurposes.forEach((purpose, index) => {
    streams[purpose] = seededRandom(mixSeed(seed, index));
  });
  return streams;
}

export function uniform(random: SeededRandom): number {
  return nextUnit(random);
}

/** Exponentially distributed with the given mean (inverse transform; 1 − u avoids log(0)). */
export function exponential(random: SeededRandom, mean: number): number {
  return -mean * Math.log(1 - nextUnit(random));
}

/** A standard normal draw (Box–Muller, one of the pair). */
export function standardNormal(random: SeededRandom): number {
  const radius = Math.sqrt(-2 * Math.log(1 - nextUnit(random)));
  return radius * Math.cos(2 * Math.PI * nextUnit(random));
}

/**
 * Lognormal with the given median and shape σ: the long right tail of request latencies
 * (most requests near the median, a few many times slower). p99 = median × e^(2.326σ).
 */
export function lognormal(random: SeededRandom, median: number, sigma: number): number {
  return median * Math.exp(sigma * standardNormal(random));
}

export function chance(random: SeededRandom, probability: number): boolean {
  return probability > 0 && nextUnit(random) < probability;
}
