/**
 * A small seeded generator (mulberry32) kept in the worker state, so that retry jitter is
 * reproducible: the same seed and inputs give the same commands. Not for cryptography.
 */
export interface SeededRandom {
  state: number;
}

export function seededRandom(seed: number): SeededRandom {
  return { state: seed >>> 0 };
}

/** A float in [0, 1); advances the generator. */
export function nextUnit(random: SeededRandom): number {
  random.state = (random.state + 0x6d2b79f5) >>> 0;
  let mixed = random.state;
  mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
  mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
  return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
}
