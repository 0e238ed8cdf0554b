/**
 * Proves the throttling rule of each remote (core/remote-limit.ts): the limit stays in
 * [floor, ceiling] whatever the answers; a burst of throttles halves it within one window and
 * cuts it once for the requests that were in flight at the cut; random throttles at a rate a
 * healthy remote shows (1–2%) leave it within 5% of its clean value on average, where the
 * `aimd` rule kept for comparison falls to a fraction of it; and after a cut it climbs back to
 * the limit before the cut within `remoteRecoveryRounds` rounds, not one slot a round.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultLimits, withLimits, type WorkerLimits } from '../../core/limits.ts';
import { allowed, onRemoteAnswer, remoteLimit, throttleRules, type RemoteLimit } from '../../core/remote-limit.ts';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';

/** An answer to request `dispatchSeq`; by default the worker uses its whole limit. */
function answer(
  remote: RemoteLimit,
  limits: WorkerLimits,
  throttled: boolean,
  dispatchSeq: number,
  nextDispatchSeq: number,
  inFlight = allowed(remote),
): void {
  onRemoteAnswer(remote, limits, { throttled, dispatchSeq, nextDispatchSeq, inFlight });
}

/**
 * A closed loop: the remote keeps `allowed` requests in flight and answers them in order, each
 * throttled with probability `throttleRate`; returns the limit's mean over `answers` answers.
 */
function meanLimitUnderNoise(
  limits: WorkerLimits,
  ceiling: number,
  throttleRate: number,
  seed: number,
  answers: number,
) {
  const remote = remoteLimit(1, ceiling);
  const random = seededRandom(seed);
  const inFlight: number[] = [];
  let nextDispatch = 0;
  let sum = 0;
  for (let count = 0; count < answers; count++) {
    while (inFlight.length < allowed(remote)) inFlight.push(nextDispatch++);
    const dispatch = inFlight.shift() ?? nextDispatch++;
    answer(remote, limits, nextUnit(random) < throttleRate, dispatch, nextDispatch, inFlight.length + 1);
    sum += allowed(remote);
  }
  return { mean: sum / answers, cuts: remote.cuts };
}

/** Throttles every request from now on, keeping `allowed` in flight, until `answers` answers. */
function burst(remote: RemoteLimit, limits: WorkerLimits, firstDispatch: number, answers: number): number {
  const inFlight: number[] = [];
  let nextDispatch = firstDispatch;
  for (let count = 0; count < answers; count++) {
    while (inFlight.length < allowed(remote)) inFlight.push(nextDispatch++);
    answer(remote, limits, true, inFlight.shift() ?? nextDispatch++, nextDispatch, inFlight.length + 1);
  }
  return nextDispatch;
}

describe('the windowed throttling rule', () => {
  it('cuts once for a burst of throttles from requests sent before the cut', () => {
    const remote = remoteLimit(1, 32);
    // 32 requests in flight (dispatch numbers 0..31) all come back 503.
    for (let dispatch = 0; dispatch < 32; dispatch++) answer(remote, defaultLimits, true, dispatch, 32);
    expect(allowed(remote)).toBe(16);
    expect(remote.cuts).toBe(1);
  });

  it('ignores throttles spread at the healthy share, and fewer than the minimum in a row', () => {
    const limits = defaultLimits;
    const remote = remoteLimit(1, 32);
    const every = Math.round(1 / limits.remoteHealthyThrottleFraction);
    for (let dispatch = 0; dispatch < limits.remoteWindowAnswers * 10; dispatch++)
      answer(remote, limits, dispatch % every === every - 1, dispatch, dispatch + 1);
    expect(remote.cuts).toBe(0);
    // A fresh window opened by all those answers: fewer throttles in a row than the minimum.
    const next = limits.remoteWindowAnswers * 10;
    for (let dispatch = next; dispatch < next + limits.remoteThrottlesToCutMin - 1; dispatch++)
      answer(remote, limits, true, dispatch, dispatch + 1);
    expect(remote.cuts).toBe(0);
    expect(allowed(remote)).toBe(32);
  });

  it('halves the limit within one window of a burst, whatever came before', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 256 }),
        fc.integer({ min: 10, max: 400 }),
        fc.double({ min: 0.01, max: 0.45, noNaN: true }),
        fc.integer({ min: 2, max: 10 }),
        fc.array(fc.boolean(), { maxLength: 300 }),
        (ceiling, windowAnswers, healthy, cutMin, before) => {
          // validateLimits' relation: a window's half must be enough to cut.
          const throttlesToCutMin = Math.min(cutMin, Math.floor(windowAnswers / 2));
          const limits = withLimits({
            remoteWindowAnswers: windowAnswers,
            remoteHealthyThrottleFraction: healthy,
            remoteThrottlesToCutMin: throttlesToCutMin,
          });
          const remote = remoteLimit(1, ceiling);
          before.forEach((throttled, dispatch) => answer(remote, limits, throttled, dispatch, dispatch + 1));
          const limitBefore = allowed(remote);
          const cutsBefore = remote.cuts;
          burst(remote, limits, before.length, windowAnswers);
          expect(remote.cuts).toBeGreaterThan(cutsBefore);
          expect(allowed(remote)).toBeLessThanOrEqual(Math.max(1, Math.floor(limitBefore / 2)));
        },
      ),
    );
  });

  it('stays within 5% of its clean value, on average, under up to 1% random throttles, and within 15% up to 2%', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 128 }),
        fc.double({ min: 0, max: 0.02, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (ceiling, throttleRate, seed) => {
          const { mean } = meanLimitUnderNoise(defaultLimits, ceiling, throttleRate, seed, 50_000);
          // At 2% a window cuts about once in 120 (core/limits.ts): a few cuts a run, each recovered.
          expect(mean).toBeGreaterThanOrEqual((throttleRate <= 0.01 ? 0.95 : 0.85) * ceiling);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('returns to the limit before a cut within its recovery rounds, then grows past it', () => {
    const limits = defaultLimits;
    const remote = remoteLimit(1, 256);
    // Brought down from 256 to 100, a limit that saw a cut, then cut once more.
    remote.limit = 100;
    burst(remote, limits, 0, limits.remoteWindowAnswers);
    expect(allowed(remote)).toBe(50);
    let successes = 0;
    const limitAt: number[] = [];
    for (let round = 1; round <= 2 * limits.remoteRecoveryRounds; round++) {
      for (let count = 0; count < 100; count++) {
        successes += 1;
        answer(remote, limits, false, 10_000 + successes, 10_001 + successes);
      }
      limitAt[round] = remote.limit;
    }
    // Fast at first: more than half the way back (1 − (3/4)³ of it) in the first quarter of the rounds.
    expect(limitAt[limits.remoteRecoveryRounds / 4]).toBeGreaterThan(50 + 0.5 * 50);
    // Slow near the limit before the cut (about one slot a round), and at it after the recovery rounds.
    const k = limits.remoteRecoveryRounds;
    expect(limitAt[k]).toBeGreaterThanOrEqual(100);
    expect(limitAt[k]).toBeLessThan(105);
    expect((limitAt[k] ?? 0) - (limitAt[k - 1] ?? 0)).toBeLessThan(2);
    // Then beyond it, as fast as it came.
    expect(limitAt[2 * k]).toBeGreaterThanOrEqual(150);
  });

  it('climbs back from the floor after a sustained burst', () => {
    const remote = remoteLimit(2, 40);
    const next = burst(remote, defaultLimits, 0, 2_000);
    expect(allowed(remote)).toBe(2);
    let successes = 0;
    while (allowed(remote) < 40 && successes < 10_000) {
      successes += 1;
      answer(remote, defaultLimits, false, next + successes, next + successes + 1);
    }
    expect(allowed(remote)).toBe(40);
    // The additive rule took about the sum 2+3+…+39 = 779 successes for this climb.
    expect(successes).toBeLessThan(779 / 2);
  });
});

describe('every throttling rule', () => {
  it('keeps the limit within [floor, ceiling] for any answers, in any order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...throttleRules),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 8, max: 256 }),
        fc.array(fc.record({ throttled: fc.boolean(), lag: fc.nat({ max: 300 }) }), { maxLength: 1_000 }),
        (throttleRule, floor, ceiling, answers) => {
          const limits = withLimits({ throttleRule });
          const remote = remoteLimit(floor, ceiling);
          answers.forEach(({ throttled, lag }, index) => {
            answer(remote, limits, throttled, Math.max(0, index - lag), index + 1);
            expect(allowed(remote)).toBeGreaterThanOrEqual(floor);
            expect(allowed(remote)).toBeLessThanOrEqual(ceiling);
          });
        },
      ),
    );
  });
});

describe('the aimd rule, kept for comparison', () => {
  it('takes random throttles for congestion: 1% of them hold the limit far below its clean value', () => {
    const aimd = withLimits({ throttleRule: 'aimd' });
    const windowed = meanLimitUnderNoise(defaultLimits, 107, 0.01, 1, 100_000);
    const old = meanLimitUnderNoise(aimd, 107, 0.01, 1, 100_000);
    console.log(
      `1% random throttles, ceiling 107: windowed mean ${windowed.mean.toFixed(1)} (${windowed.cuts} cuts), aimd ${old.mean.toFixed(1)} (${old.cuts} cuts)`,
    );
    expect(old.mean).toBeLessThan(0.5 * 107);
    expect(windowed.mean).toBeGreaterThan(0.95 * 107);
  });
});
