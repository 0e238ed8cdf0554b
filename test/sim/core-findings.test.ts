// Pins down behaviour of the core found by the simulator that its contract does not cover,
// as expected failures (`it.fails`): each test states what the contract leads a driver to
// expect, fails today, and will be reported as failing once the core changes, so that it can
// become a plain test. Found with the fleet property test's replay command.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { defaultModels, withModels } from '../../sim/models.ts';
import { defaultScenario } from '../../sim/scenario.ts';

const mebibyte = 1024 * 1024;

describe('core findings', () => {
  // One unreadable input of 8 chunks: chunk 0's fetch fails for good while the fetches of
  // the next chunks are still running (6 of them on a c6gn.large); the job fails, the ledger
  // has nothing left, and the core emits `finished` (step.ts finishWhenDone looks at jobs and
  // claims, not at tasks in flight). Their answers still come, but a finished core ignores
  // every input, so the bytes those fetches reserved stay counted as held for good, and a
  // runtime that exits on `finished` cuts 6 requests off mid-way.
  it.fails('`finished` comes only after every task has been answered', () => {
    const finishedWith: number[] = [];
    const result = simulate({
      ...defaultScenario,
      instances: 1,
      instanceType: 'c6gn.large',
      files: 1,
      fileBytes: 8 * mebibyte,
      fileBytesSpread: 0,
      limits: { chunkBytes: mebibyte },
      models: withModels(defaultModels, { data: { badInputRate: 1 }, crash: { crashesPerInstanceHour: 0 } }),
    }, { onFinished: (_instance, tasksInFlight) => finishedWith.push(tasksInFlight) });
    expect(result.filesFailed).toBe(1);
    expect(finishedWith).toEqual([0]);
  });
});
