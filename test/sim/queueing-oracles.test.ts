// Proves the simulator's clock, event heap and distributions agree with queueing theory, on a
// tandem network built from the simulator's own event queue and random streams (no faults,
// exponential service): the measured throughput of a saturated pipeline is within 5% of the
// bottleneck bound min_i(c_i / s_i); Little's law L = λW holds per stage within 5%; and an
// M/M/c stage's mean wait is within 10% of Erlang C.
import { describe, expect, it } from 'vitest';
import { erlangC, simulateTandem } from '../../sim/queueing-network.ts';

const within = (measured: number, expected: number, tolerance: number): void => {
  expect(Math.abs(measured - expected) / expected, `measured ${measured}, expected ${expected}`).toBeLessThanOrEqual(tolerance);
};

describe('queueing oracles', () => {
  it('a saturated pipeline runs at the bottleneck bound min_i(c_i / s_i)', () => {
    // fetch, decode, encode, upload, commit: capacities 0.5, 0.2, 0.4, 0.6, 1.0 jobs/ms.
    const servers = [16, 4, 4, 6, 4];
    const meanServiceMs = [32, 20, 10, 10, 4];
    const bound = Math.min(...servers.map((count, index) => count / (meanServiceMs[index] as number)));
    const measured = simulateTandem({ servers, meanServiceMs, arrivalsPerMs: 'saturated', jobs: 100_000, seed: 7 });
    within(measured.throughputPerMs, bound, 0.05);
  });

  it("Little's law L = λW holds at every stage", () => {
    const measured = simulateTandem({ servers: [8, 2, 2, 4, 1], meanServiceMs: [40, 9, 6, 12, 2], arrivalsPerMs: 0.18, jobs: 100_000, seed: 3 });
    for (const stage of measured.stages) within(stage.meanJobs, stage.arrivalsPerMs * stage.meanSojournMs, 0.05);
  });

  it('an M/M/c stage waits as long as Erlang C says', () => {
    const servers = 4;
    const meanServiceMs = 10;
    const arrivalsPerMs = 0.3;
    const offeredLoad = arrivalsPerMs * meanServiceMs;
    const expectedWaitMs = erlangC(servers, offeredLoad) / (servers / meanServiceMs - arrivalsPerMs);
    const measured = simulateTandem({ servers: [servers], meanServiceMs: [meanServiceMs], arrivalsPerMs, jobs: 200_000, seed: 11 });
    within((measured.stages[0] as { meanWaitMs: number }).meanWaitMs, expectedWaitMs, 0.1);
  });
});
