/** fast-check generators of scenarios for the scripted driver: workloads, durations, faults, limits. */
import fc from 'fast-check';
import { withLimits, type WorkerLimits } from '../../core/limits.ts';
import { policies, type PerStage } from '../../core/stage.ts';
import { noFaults, type FaultRates, type Scenario } from './scripted-driver.ts';

export const mebibyte = 1024 * 1024;

const durationRange = (minMs: number, maxMs: number): fc.Arbitrary<readonly [number, number]> =>
  fc
    .tuple(fc.integer({ min: minMs, max: maxMs }), fc.integer({ min: 0, max: maxMs * 4 }))
    .map(([low, spread]) => [low, low + spread] as const);

export const durationsArbitrary: fc.Arbitrary<PerStage<readonly [number, number]>> = fc.record({
  fetch: durationRange(5, 400),
  decode: durationRange(1, 200),
  encode: durationRange(1, 200),
  upload: durationRange(5, 400),
  commit: durationRange(1, 100),
});

export const faultsArbitrary: fc.Arbitrary<FaultRates> = fc.record({
  retryable: fc.double({ min: 0, max: 0.2, noNaN: true }),
  throttled: fc.double({ min: 0, max: 0.2, noNaN: true }),
  permanent: fc.double({ min: 0, max: 0.02, noNaN: true }),
  heartbeatLost: fc.constant(0),
  leaseStolen: fc.constant(0),
  commitAnswerLost: fc.double({ min: 0, max: 0.3, noNaN: true }),
});

export interface LimitsOptions {
  /** Leases short enough that heartbeats and expiry matter within a run. */
  readonly shortLeases?: boolean;
  /** Stage caps at least the shared pools, so only the weighted pick decides who waits. */
  readonly poolBound?: boolean;
}

export function limitsArbitrary(options: LimitsOptions = {}): fc.Arbitrary<WorkerLimits> {
  return fc
    .record({
      fetch: fc.integer({ min: 1, max: 12 }),
      decode: fc.integer({ min: 1, max: 4 }),
      encode: fc.integer({ min: 1, max: 4 }),
      upload: fc.integer({ min: 1, max: 8 }),
      commit: fc.integer({ min: 1, max: 3 }),
      cpuSlotsMax: fc.integer({ min: 1, max: 4 }),
      networkStreamsMax: fc.integer({ min: 2, max: 16 }),
      chunkMebibytes: fc.constantFrom(1, 2, 4),
      budgetChunks: fc.double({ min: 0.5, max: 40, noNaN: true }),
      fetchAheadChunksMax: fc.integer({ min: 1, max: 8 }),
      readAheadStartChunks: fc.option(fc.integer({ min: 1, max: 8 })),
      rowGroupRows: fc.integer({ min: 50, max: 5_000 }),
      partMebibytes: fc.integer({ min: 5, max: 8 }),
      jobsActiveMax: fc.integer({ min: 1, max: 12 }),
      claimBatchMax: fc.integer({ min: 1, max: 6 }),
      taskAttemptsMax: fc.integer({ min: 1, max: 6 }),
      throttledAttemptsMax: fc.integer({ min: 1, max: 10 }),
      retryBaseMs: fc.integer({ min: 10, max: 200 }),
      starvationMs: fc.integer({ min: 50, max: 2_000 }),
      downstreamGain: fc.double({ min: 0, max: 8, noNaN: true }),
      policy: fc.constantFrom(...policies),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    })
    .map((drawn) => {
      const cpuSlotsMax = drawn.cpuSlotsMax;
      const networkStreamsMax = drawn.networkStreamsMax;
      const stageWorkersMax = options.poolBound
        ? {
            fetch: networkStreamsMax,
            decode: cpuSlotsMax,
            encode: cpuSlotsMax,
            upload: networkStreamsMax,
            commit: drawn.jobsActiveMax,
          }
        : {
            fetch: drawn.fetch,
            decode: drawn.decode,
            encode: drawn.encode,
            upload: drawn.upload,
            commit: drawn.commit,
          };
      const chunkBytes = drawn.chunkMebibytes * mebibyte;
      const leases = options.shortLeases ? { leaseMs: 20_000, heartbeatIntervalMs: 5_000, leaseSafetyMs: 2_000 } : {};
      return withLimits({
        stageWorkersMax,
        cpuSlotsMax,
        networkStreamsMax,
        chunkBytes,
        memoryBudgetBytes: Math.max(1, Math.floor(drawn.budgetChunks * chunkBytes)),
        fetchAheadChunksMax: drawn.fetchAheadChunksMax,
        readAheadStartChunks: drawn.readAheadStartChunks,
        rowGroupRows: drawn.rowGroupRows,
        partBytes: drawn.partMebibytes * mebibyte,
        jobsActiveMax: drawn.jobsActiveMax,
        claimBatchMax: drawn.claimBatchMax,
        taskAttemptsMax: drawn.taskAttemptsMax,
        throttledAttemptsMax: drawn.throttledAttemptsMax,
        retryBaseMs: drawn.retryBaseMs,
        retryCapMs: 5_000,
        starvationMs: drawn.starvationMs,
        downstreamGain: drawn.downstreamGain,
        policy: drawn.policy,
        seed: drawn.seed,
        claimIdleMs: 500,
        drainTimeoutMs: 3_000,
        ...leases,
      });
    });
}

export interface ScenarioOptions extends LimitsOptions {
  readonly faults?: fc.Arbitrary<FaultRates>;
  /** Decoded rows and encoded bytes may be larger than their input. */
  readonly growingTransforms?: boolean;
  readonly shutdown?: boolean;
  readonly jobsMax?: number;
}

export function scenarioArbitrary(options: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  const growthMax = options.growingTransforms ? 3 : 1;
  return fc.record({
    limits: limitsArbitrary(options),
    jobSizesBytes: fc.array(fc.integer({ min: 0, max: 24 * mebibyte }), {
      minLength: 1,
      maxLength: options.jobsMax ?? 24,
    }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    durationMs: durationsArbitrary,
    faults: options.faults ?? fc.constant(noFaults),
    rowsPerByte: fc.double({ min: 1 / 100_000, max: 1 / 1_000, noNaN: true }),
    rowBytesPerByte: fc.double({ min: 0.001, max: growthMax, noNaN: true }),
    encodedPerRowByte: fc.double({ min: 0.05, max: growthMax, noNaN: true }),
    shutdownAtMs: options.shutdown ? fc.integer({ min: 0, max: 20_000 }) : fc.constant(undefined),
    // Half the runs claim jobs from a manifest, without their size: each is sized by a HEAD first.
    unsized: fc.boolean(),
  });
}
