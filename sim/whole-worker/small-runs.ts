/**
 * The small whole-worker runs the property tests make, and how a failing one is reported: its
 * seed and the command that replays it exactly.
 */
import type { WorkerLimits } from '../../core/limits.ts';
import { seededRandom } from '../../core/seeded-random.ts';
import { withModels } from '../models.ts';
import { defaultScenario, type Scenario } from '../scenario.ts';
import { drawFaultPlan, type FaultPlan } from './fault-plan.ts';
import { simulateWholeWorker, type WholeWorkerResult } from './whole-worker-simulation.ts';

const mebibyte = 1024 * 1024;

/**
 * Two workers of two vCPUs, twelve files of 48–80 MiB. Small parts and row groups, so every
 * job has several chunks, row groups and parts; short leases, so that a crashed worker's jobs
 * come back within a few simulated minutes; retries of a failed job a second apart. A job may
 * be claimed twenty times: crashes charge it, and only bad inputs may fail for good.
 */
export function smallScenario(seed: number): Scenario {
  return {
    ...defaultScenario,
    instances: 2,
    instanceType: 'c6gn.large',
    files: 12,
    fileBytes: 64 * mebibyte,
    fileBytesSpread: 0.25,
    seed,
    sampleInstancesMax: 0,
    sampleFilesMax: 0,
    models: withModels(defaultScenario.models, { ledger: { jobAttemptsMax: 20, jobRetryDelayMs: 1_000 } }),
  };
}

export const smallLimits: Partial<WorkerLimits> = {
  chunkBytes: 8 * mebibyte,
  rowGroupRows: 400,
  partBytes: 32 * 1024,
  partBytesMin: 16 * 1024,
  leaseMs: 60_000,
  heartbeatIntervalMs: 10_000,
  leaseSafetyMs: 6_000,
  claimIdleMs: 1_000,
};

/**
 * About half the inputs of a small run are enqueued without a size, so that the cores' HEADs
 * (`sizeInput`) meet the fault plan too: errors, throttling, crashes before and after the call.
 */
export const smallRunUnsizedShare = 0.5;

/** A small run whose faults are drawn from its seed too. */
export function smallRun(
  seed: number,
  options: { oneStepCommitForTests?: boolean; splitDecode?: boolean } = {},
): Promise<WholeWorkerResult> {
  const plan: FaultPlan = drawFaultPlan(seededRandom(seed ^ 0x0fa17));
  const { splitDecode, ...rest } = options;
  const limits = splitDecode === undefined ? smallLimits : { ...smallLimits, splitDecode };
  return simulateWholeWorker({
    scenario: smallScenario(seed),
    plan,
    limits,
    unsizedInputShare: smallRunUnsizedShare,
    ...rest,
  });
}

/** The environment variable that makes the property tests run one seed: the replay. */
export const replaySeedVariable = 'WHOLE_SIM_SEED';

export function replayCommand(seed: number, testFile: string): string {
  return `${replaySeedVariable}=${seed} npx vitest run ${testFile}`;
}

/** What a failed run prints: its seed, its violations, and how to replay it. */
export function failureReport(result: WholeWorkerResult, testFile: string): string {
  return [
    `whole-worker simulation, seed ${result.seed}: ${result.violations.length} violation(s)`,
    ...result.violations.map((violation) => `  ${violation}`),
    `replay: ${replayCommand(result.seed, testFile)}`,
  ].join('\n');
}
