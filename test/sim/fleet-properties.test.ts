// Proves the worker core, run by the simulator on random small fleets (1–4 instances, crashes
// and restarts, 503 SlowDown, timeouts, failing commits, failing ledger calls, unreadable
// inputs, low request-rate
// ceilings, short leases, every policy, tight memory budgets), never breaks a checker: stage
// caps and shared pools hold, memory stays within the core's documented bound, no commit
// starts after a lost lease, each job is committed at most once, none is lost, and every job
// and the run end within their bounds; and the same scenario, crashes and faults included,
// always gives the identical result. A failure prints the fast-check seed and the exact
// `npm run sim` command that replays the failing scenario.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policies } from '../../core/stage.ts';
import { simulate } from '../../sim/fleet-simulation.ts';
import { defaultModels, withModels } from '../../sim/models.ts';
import { defaultScenario, type Scenario } from '../../sim/scenario.ts';

const mebibyte = 1024 * 1024;
const hourMs = 3_600_000;

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc
  .record({
    instances: fc.integer({ min: 1, max: 4 }),
    instanceType: fc.constantFrom('c6gn.large', 'c6i.large', 'm6i.xlarge'),
    files: fc.integer({ min: 1, max: 24 }),
    fileMebibytes: fc.integer({ min: 0, max: 24 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    policy: fc.constantFrom(...policies),
    chunkMebibytes: fc.constantFrom(1, 2, 4),
    budgetChunks: fc.double({ min: 0.5, max: 24, noNaN: true }),
    crashesPerInstanceHour: fc.constantFrom(0, 300, 1_800),
    decodeBytesPerSecondPerCore: fc.constantFrom(2_000_000, 100_000_000),
    slowDownRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
    timeoutRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
    sourceRequestsPerSecond: fc.constantFrom(5, 50, 2_000),
    commitFailureRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
    ledgerCallFailureRate: fc.constantFrom(0, 0.05, 0.3),
    badInputRate: fc.constantFrom(0, 0.1),
  })
  .map((drawn) => ({
    ...defaultScenario,
    instances: drawn.instances,
    instanceType: drawn.instanceType,
    files: drawn.files,
    fileBytes: Math.max(1, drawn.fileMebibytes * mebibyte),
    fileBytesSpread: 0.5,
    seed: drawn.seed,
    policy: drawn.policy,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    models: withModels(defaultModels, {
      source: {
        slowDownRate: drawn.slowDownRate,
        timeoutRate: drawn.timeoutRate,
        timeoutMs: 3_000,
        requestsPerSecondMax: drawn.sourceRequestsPerSecond,
      },
      sink: { slowDownRate: drawn.slowDownRate, timeoutRate: drawn.timeoutRate, timeoutMs: 3_000 },
      ledger: {
        commitFailureRate: drawn.commitFailureRate,
        callFailureRate: drawn.ledgerCallFailureRate,
        jobRetryDelayMs: 2_000,
      },
      crash: { crashesPerInstanceHour: drawn.crashesPerInstanceHour, restartMs: 5_000 },
      cpu: { decodeBytesPerSecondPerCore: drawn.decodeBytesPerSecondPerCore },
      data: { badInputRate: drawn.badInputRate, rowBytesPerInputByte: 1 / 4 },
    }),
    limits: {
      chunkBytes: drawn.chunkMebibytes * mebibyte,
      memoryBudgetBytes: Math.floor(drawn.budgetChunks * drawn.chunkMebibytes * mebibyte),
      rowGroupRows: 200,
      leaseMs: 20_000,
      heartbeatIntervalMs: 5_000,
      leaseSafetyMs: 2_000,
      claimIdleMs: 500,
      retryCapMs: 5_000,
    },
    jobEndBoundMs: 2 * hourMs,
    runBoundMs: 24 * hourMs,
  }));

/** Writes the scenario where the replay command can read it. */
function replayCommand(scenario: Scenario): string {
  const folder = mkdtempSync(join(tmpdir(), 'sim-replay-'));
  const path = join(folder, 'scenario.json');
  writeFileSync(path, JSON.stringify(scenario, null, 2));
  return `npm run sim -- --scenario ${path} --seed ${scenario.seed}`;
}

describe('the core in the simulator', () => {
  it('breaks no checker on random small fleets with faults and crashes', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        let result;
        try {
          result = simulate(scenario);
        } catch (error) {
          throw new Error(`${(error as Error).message}\nreplay: ${replayCommand(scenario)}`, { cause: error });
        }
        if (result.violationCount > 0) {
          throw new Error(`${result.violations.join('\n')}\nreplay: ${replayCommand(scenario)}`);
        }
        expect(result.filesDone + result.filesFailed).toBe(scenario.files);
      }),
      { numRuns: 1_000, verbose: 1 },
    );
  });

  it('gives identical results for the same scenario, crashes and faults included', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        expect(JSON.stringify(simulate(scenario))).toBe(JSON.stringify(simulate(scenario)));
      }),
      { numRuns: 100, verbose: 1 },
    );
  });
});
