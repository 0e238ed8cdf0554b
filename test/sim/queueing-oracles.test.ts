// Proves the simulator's clock, event heap and distributions agree with queueing theory, on a
// tandem network built from the simulator's own event queue and random streams (no faults,
// exponential service): the measured throughput of a saturated pipeline is within 5% of the
// bottleneck bound min_i(c_i / s_i); Little's law L = λW holds per stage within 5%; and an
// M/M/c stage's mean wait is within 10% of Erlang C. And the same bound holds for the worker
// core itself, run by the simulator with exponential CPU service times and no faults: one
// instance's throughput is within 5% of min(cores / CPU seconds per file, NIC / file bytes).
import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { findInstanceType } from '../../sim/instance-types.ts';
import { defaultModels, withModels } from '../../sim/models.ts';
import { erlangC, simulateTandem } from '../../sim/queueing-network.ts';
import { defaultScenario, nicBytesPerSecond } from '../../sim/scenario.ts';

const within = (measured: number, expected: number, tolerance: number): void => {
  expect(Math.abs(measured - expected) / expected, `measured ${measured}, expected ${expected}`).toBeLessThanOrEqual(
    tolerance,
  );
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
    const measured = simulateTandem({
      servers: [8, 2, 2, 4, 1],
      meanServiceMs: [40, 9, 6, 12, 2],
      arrivalsPerMs: 0.18,
      jobs: 100_000,
      seed: 3,
    });
    for (const stage of measured.stages) within(stage.meanJobs, stage.arrivalsPerMs * stage.meanSojournMs, 0.05);
  });

  it('an M/M/c stage waits as long as Erlang C says', () => {
    const servers = 4;
    const meanServiceMs = 10;
    const arrivalsPerMs = 0.3;
    const offeredLoad = arrivalsPerMs * meanServiceMs;
    const expectedWaitMs = erlangC(servers, offeredLoad) / (servers / meanServiceMs - arrivalsPerMs);
    const measured = simulateTandem({
      servers: [servers],
      meanServiceMs: [meanServiceMs],
      arrivalsPerMs,
      jobs: 200_000,
      seed: 11,
    });
    within((measured.stages[0] as { meanWaitMs: number }).meanWaitMs, expectedWaitMs, 0.1);
  });

  it.each(['c6gn.xlarge', 'c6i.xlarge'])(
    'the worker core on a %s runs at the bound of its CPU or NIC',
    (instanceType) => {
      const models = withModels(defaultModels, {
        cpu: { serviceTime: 'exponential' },
        source: { slowDownRate: 0, timeoutRate: 0 },
        sink: { slowDownRate: 0, timeoutRate: 0 },
        ledger: { commitFailureRate: 0 },
        crash: { crashesPerInstanceHour: 0 },
      });
      const type = findInstanceType(instanceType)!;
      const fileBytes = defaultScenario.fileBytes;
      const cpuSecondsPerFile =
        fileBytes / models.cpu.decodeBytesPerSecondPerCore +
        (fileBytes * models.data.rowsPerInputByte) / models.cpu.encodeRowsPerSecondPerCore;
      const boundPerHour = Math.min(type.vcpus / cpuSecondsPerFile, nicBytesPerSecond(type) / fileBytes) * 3_600;
      const result = simulate({
        ...defaultScenario,
        instances: 1,
        instanceType,
        files: 400,
        fileBytesSpread: 0,
        models,
        sampleFilesMax: 0,
      });
      expect(result.violationCount).toBe(0);
      within(result.filesPerHour, boundPerHour, 0.05);
    },
  );
});
