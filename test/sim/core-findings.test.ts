// Regression tests for behaviour of the core that the simulator found (with the fleet
// property test's replay command) and the core now guarantees.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { defaultModels, withModels } from '../../sim/models.ts';
import { defaultScenario } from '../../sim/scenario.ts';

const mebibyte = 1024 * 1024;

describe('core findings', () => {
  // One unreadable input of 8 chunks: chunk 0's fetch fails for good while the fetches of
  // the next chunks are still running (6 of them on a c6gn.large); the job fails and the
  // ledger has nothing left. `finished` must wait for those 6 answers: they free the bytes
  // the fetches reserved, and a runtime that exits on `finished` must not cut them off.
  it('`finished` comes only after every task has been answered', () => {
    const finishedWith: number[] = [];
    const result = simulate(
      {
        ...defaultScenario,
        instances: 1,
        instanceType: 'c6gn.large',
        files: 1,
        fileBytes: 8 * mebibyte,
        fileBytesSpread: 0,
        limits: { chunkBytes: mebibyte },
        models: withModels(defaultModels, { data: { badInputRate: 1 }, crash: { crashesPerInstanceHour: 0 } }),
      },
      { onFinished: (_instance, tasksInFlight) => finishedWith.push(tasksInFlight) },
    );
    expect(result.filesFailed).toBe(1);
    expect(finishedWith).toEqual([0]);
  });
});
