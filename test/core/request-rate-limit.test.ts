/**
 * Proves the request-rate governor (core/request-rate.ts) inside the core's rules, with the
 * scripted driver: whatever the scenario and its faults, the fetches (and part uploads) a
 * worker starts in any span of T ms are at most the burst plus the rate times T; the run
 * still ends with every job done or failed (a task held back for a token is woken, never
 * forgotten); and with no ceiling set the core starts tasks exactly as before.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateLimits, withLimits, type WorkerLimits } from '../../core/limits.ts';
import { nextTokenAtMs, rateAllows, refillTokens, requestRate, takeToken } from '../../core/request-rate.ts';
import type { Remote } from '../../core/stage.ts';
import { faultsArbitrary, scenarioArbitrary } from './scenario-arbitrary.ts';
import { runScenario, type StepRecord } from './scripted-driver.ts';

const runs = { numRuns: Number(process.env.CORE_PROPERTY_RUNS ?? 40) };

/** The times at which the core started requests to `remote`. */
function startTimes(trace: readonly StepRecord[], remote: Remote): number[] {
  const kind = remote === 'source' ? 'fetchChunk' : 'uploadPart';
  return trace.flatMap((record) => record.commands.filter((command) => command.kind === kind).map(() => record.nowMs));
}

/** The most requests started within any span of `spanMs` (two pointers over the sorted times). */
function mostWithin(times: readonly number[], spanMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) > spanMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

const ratesArbitrary = fc.record({
  source: fc.double({ min: 0.5, max: 50, noNaN: true }),
  sink: fc.option(fc.double({ min: 0.5, max: 50, noNaN: true }), { nil: null }),
  burstSeconds: fc.double({ min: 0.1, max: 2, noNaN: true }),
});

describe('the request-rate governor in the core', () => {
  it('starts no more requests in any span than the burst plus the rate over it, and the run still ends', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary, jobsMax: 8 }), ratesArbitrary, (scenario, rates) => {
        const limits: WorkerLimits = {
          ...scenario.limits,
          remoteRequestsPerSecondMax: { source: rates.source, sink: rates.sink },
          remoteRequestBurstSeconds: rates.burstSeconds,
        };
        const result = runScenario({ ...scenario, limits });
        expect(result.finished).toBe(true);
        for (const remote of ['source', 'sink'] as const) {
          const perSecond = limits.remoteRequestsPerSecondMax[remote];
          if (perSecond === null) continue;
          const burst = Math.max(1, perSecond * rates.burstSeconds);
          const times = startTimes(result.trace, remote);
          for (const spanMs of [0, 100, 1_000, 10_000])
            expect(mostWithin(times, spanMs)).toBeLessThanOrEqual(Math.floor(burst + (perSecond * spanMs) / 1000));
        }
      }),
      runs,
    );
  }, 120_000);

  it('changes nothing when no remote has a ceiling', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ jobsMax: 6 }), (scenario) => {
        const unlimited = runScenario({
          ...scenario,
          limits: { ...scenario.limits, remoteRequestsPerSecondMax: { source: null, sink: null } },
        });
        const generous = runScenario({
          ...scenario,
          limits: { ...scenario.limits, remoteRequestsPerSecondMax: { source: 1e9, sink: 1e9 } },
        });
        expect(generous.trace.map((record) => record.commands)).toEqual(
          unlimited.trace.map((record) => record.commands),
        );
      }),
      { numRuns: 20 },
    );
  }, 120_000);

  it('wakes the core when the next token comes, never before it', () => {
    const rate = requestRate(4, 0.5);
    refillTokens(rate, 1_000);
    takeToken(rate);
    takeToken(rate);
    expect(rateAllows(rate)).toBe(false);
    // Two tokens spent at 4 a second: the next is 250 ms away.
    expect(nextTokenAtMs(rate)).toBe(1_250);
    refillTokens(rate, 1_249);
    expect(rateAllows(rate)).toBe(false);
    refillTokens(rate, 1_250);
    expect(rateAllows(rate)).toBe(true);
    expect(nextTokenAtMs(rate)).toBe(Infinity);
  });

  it('refuses a rate that is not positive, and a burst of no time', () => {
    for (const source of [0, -1, Number.NaN, Infinity]) {
      expect(() => validateLimits(withLimits({ remoteRequestsPerSecondMax: { source, sink: null } }))).toThrow(
        /remoteRequestsPerSecondMax.source/,
      );
    }
    expect(() => validateLimits(withLimits({ remoteRequestBurstSeconds: 0 }))).toThrow(/remoteRequestBurstSeconds/);
    expect(() => validateLimits(withLimits({ remoteRequestsPerSecondMax: { source: 20, sink: null } }))).not.toThrow();
  });
});
