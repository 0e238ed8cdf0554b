/**
 * Proves the core's memory bound when decoding grows data, as the content schema's does (rows
 * several times their chunk): over output ratios from 0.02 to 8 row bytes per input byte, with
 * the driver's stated `decodeOutputRatio` drawn independently (understated, right or
 * overstated), held bytes stay within capacity.ts's bound and every run finishes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOutputRatio } from '../../core/capacity.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import { faultsArbitrary, scenarioArbitrary } from './scenario-arbitrary.ts';
import { runScenario, type Scenario } from './scripted-driver.ts';

const runs = { numRuns: Number(process.env.CORE_PROPERTY_RUNS ?? 60) };

const ratioArbitrary = fc.double({ min: 0.02, max: 8, noNaN: true });

/** A scenario whose decodes produce `rowBytesPerByte` and whose driver states `statedRatio`. */
const growingScenarioArbitrary = fc
  .tuple(scenarioArbitrary({ faults: faultsArbitrary }), ratioArbitrary, ratioArbitrary, fc.boolean())
  .map(([scenario, rowBytesPerByte, drawnStated, statesItRight]): Scenario => {
    const decodeOutputRatio = statesItRight ? rowBytesPerByte : drawnStated;
    const limits: WorkerLimits = { ...scenario.limits, decodeOutputRatio };
    return { ...scenario, limits, rowBytesPerByte };
  });

/**
 * The scripted driver floors each chunk's row bytes from the job's start, so a chunk may make a
 * byte more than its length times the ratio, and the ratio the core learns from one chunk may
 * cover another's rows but for that byte; a byte per chunk whose rows are held, far fewer than this.
 */
const roundingSlackBytes = 1024;

/**
 * capacity.ts's bound: max(budget, jobsActiveMax × part + one chunk), plus what decodes make
 * beyond their reservation. One decode alone past the budget adds at most its chunk's growth;
 * a driver that understates the ratio adds at most that growth for each decode running when
 * the real ratio first shows (at most `cpuSlotsMax`).
 */
function boundBytes(limits: WorkerLimits, rowBytesPerByte: number): number {
  const base = Math.max(limits.memoryBudgetBytes, limits.jobsActiveMax * limits.partBytes + limits.chunkBytes);
  const growthBytes = Math.ceil(Math.max(0, rowBytesPerByte - 1) * limits.chunkBytes);
  const decodesOver = limits.decodeOutputRatio >= rowBytesPerByte ? 1 : limits.cpuSlotsMax;
  return base + decodesOver * growthBytes + roundingSlackBytes;
}

describe('the memory bound when decoding grows data', () => {
  it('keeps held bytes within the bound over output ratios 0.02–8, and every run finishes with nothing held', () => {
    fc.assert(
      fc.property(growingScenarioArbitrary, (scenario) => {
        const bound = boundBytes(scenario.limits, scenario.rowBytesPerByte);
        const result = runScenario(scenario, (state) => {
          expect(state.heldBytes).toBeGreaterThanOrEqual(0);
          expect(state.decodeOutputBytesReserved).toBeGreaterThanOrEqual(0);
          expect(state.heldBytes).toBeLessThanOrEqual(bound);
        });
        expect(result.finished).toBe(true);
        expect(result.state.heldBytes).toBe(0);
        expect(result.state.decodeOutputBytesReserved).toBe(0);
      }),
      runs,
    );
  });

  it('holds no more than max(budget, parts gathering + one chunk) plus one lone decode once the stated ratio covers the real one', () => {
    fc.assert(
      fc.property(growingScenarioArbitrary, (scenario) => {
        const limits = scenario.limits;
        const base = Math.max(limits.memoryBudgetBytes, limits.jobsActiveMax * limits.partBytes + limits.chunkBytes);
        const loneGrowthBytes = Math.ceil(Math.max(0, scenario.rowBytesPerByte - 1) * limits.chunkBytes);
        let covered = limits.decodeOutputRatio >= scenario.rowBytesPerByte;
        runScenario(scenario, (state) => {
          // Decodes started before the figure caught up may still answer: check only after they have.
          const stale = [...state.inFlight.values()].some(
            (task) => task.stage === 'decode' && task.outputReservedBytes < task.bytes * (scenario.rowBytesPerByte - 1),
          );
          if (covered && !stale)
            expect(state.heldBytes).toBeLessThanOrEqual(base + loneGrowthBytes + roundingSlackBytes);
          if (decodeOutputRatio(state) >= scenario.rowBytesPerByte) covered = true;
        });
      }),
      runs,
    );
  });

  it('starts a decode that grows data only when its growth fits the budget, or alone when the pipeline is stalled', () => {
    fc.assert(
      fc.property(growingScenarioArbitrary, (scenario) => {
        runScenario(scenario, (state, record) => {
          const decodeTaskIds = new Set(
            record.commands.flatMap((command) => (command.kind === 'decodeChunk' ? [command.taskId] : [])),
          );
          const growing = [...state.inFlight.values()].filter(
            (task) => decodeTaskIds.has(task.taskId) && task.outputReservedBytes > 0,
          );
          if (growing.length === 0) return;
          // Alone: nothing else in flight holds or reserves memory (a HEAD, or the decode of an empty input, may start beside it).
          const others = [...state.inFlight.values()].filter((task) => task !== growing[0]);
          const alone =
            growing.length === 1 && others.every((task) => task.bytes === 0 && task.outputReservedBytes === 0);
          const committedBytes = state.heldBytes + state.decodeOutputBytesReserved;
          expect(committedBytes <= scenario.limits.memoryBudgetBytes || alone).toBe(true);
        });
      }),
      runs,
    );
  });
});
