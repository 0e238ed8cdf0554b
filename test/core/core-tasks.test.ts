/**
 * Sizing a job claimed without a size (a HEAD) and starting an object's multipart upload are
 * tasks the core dispatches, under the caps, the remote's adaptive limit and the retry rules
 * of a chunk fetch and a part upload (core/job-lifecycle.ts). Driven by the scripted driver on
 * virtual time: a throttled HEAD lowers the source's limit; HEAD retries are spaced by the
 * core's backoff and bounded by its attempt limits and by the lease's trust; a missing input
 * fails at once; shutdown stops them; a job being sized is renewed like any job held.
 */
import { describe, expect, test } from 'vitest';
import type { Command, CommandOf } from '../../core/commands.ts';
import { inputFault, remoteFault, type Failure } from '../../core/failure.ts';
import { withLimits, type WorkerLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState } from '../../core/worker-state.ts';
import { noFaults, runScenario, type RunResult, type Scenario } from './scripted-driver.ts';

const mebibyte = 1024 * 1024;
/** Retries 20–200 ms apart, six throttles and three other failures at most. */
const limits = withLimits({
  retryBaseMs: 40,
  retryCapMs: 200,
  throttledAttemptsMax: 6,
  taskAttemptsMax: 3,
  chunkBytes: mebibyte,
  partBytes: 5 * mebibyte,
});

// The AIMD rule cuts on one throttle, so a single throttled HEAD or start shows that its answer
// reaches the remote's controller; the windowed rule's reaction to bursts is tested in
// remote-limit.test.ts.
const cutOnEveryThrottle = withLimits({ ...limits, throttleRule: 'aimd' });

function scenario(overrides: Partial<Scenario> & { limits?: WorkerLimits } = {}): Scenario {
  return {
    limits,
    jobSizesBytes: [3 * mebibyte],
    seed: 7,
    durationMs: { fetch: [5, 20], decode: [5, 20], encode: [5, 20], upload: [5, 20], commit: [1, 5] },
    faults: noFaults,
    rowsPerByte: 1 / 1_000,
    rowBytesPerByte: 0.5,
    encodedPerRowByte: 0.5,
    unsized: true,
    ...overrides,
  };
}

const throttled = (): Failure => remoteFault('HEAD answered HTTP 503', { throttled: true });

function commandsOf<K extends Command['kind']>(result: RunResult, kind: K): CommandOf<K>[] {
  return result.trace.flatMap((record) =>
    record.commands.filter((command): command is CommandOf<K> => command.kind === kind),
  );
}

function endedAs(result: RunResult): string[] {
  return commandsOf(result, 'jobEnded').map((ended) => `${ended.jobId} ${ended.outcome}`);
}

describe('sizing a job claimed without a size', () => {
  test('retries HEADs answered 503, spaced by the core backoff, then fetches and commits the job', () => {
    const result = runScenario(scenario({ oneOffFailure: (_, __, head) => (head <= 3 ? throttled() : null) }));
    expect(result.finished).toBe(true);
    expect(endedAs(result)).toEqual(['job-0 committed']);
    const heads = result.ledger.headsAtMs.get('job-0#1') ?? [];
    expect(heads).toHaveLength(4);
    // Equal jitter waits at least half of each window (20, 40, 80 ms), plus the HEAD's own time.
    heads.slice(1).forEach((atMs, index) => {
      expect(atMs - (heads[index] ?? 0)).toBeGreaterThanOrEqual((limits.retryBaseMs * 2 ** index) / 2);
    });
    // No chunk of the job was fetched before its size was known.
    const firstFetch = result.trace.findIndex((record) => record.commands.some((c) => c.kind === 'fetchChunk'));
    const sized = result.trace.findIndex((record) => record.inputs.some((input) => input.kind === 'inputSized'));
    expect(sized).toBeGreaterThanOrEqual(0);
    expect(firstFetch).toBeGreaterThanOrEqual(sized);
    expect(commandsOf(result, 'fetchChunk')).toHaveLength(3);
  });

  test('a throttled HEAD lowers the source limit as a throttled GET does, and successes raise it again', () => {
    const limitsSeen: number[] = [];
    const result = runScenario(
      scenario({ limits: cutOnEveryThrottle, oneOffFailure: (_, __, head) => (head === 1 ? throttled() : null) }),
      (state) => {
        limitsSeen.push(state.remotes.source.limit);
      },
    );
    const ceiling = limits.stageWorkersMax.fetch;
    expect(limitsSeen[0]).toBe(ceiling);
    expect(Math.min(...limitsSeen)).toBe(Math.floor(ceiling * limits.remoteDecreaseFactor));
    expect(result.state.remotes.source.cuts).toBe(1);
    expect(result.state.counters.throttles).toBe(1);
    expect(result.state.remotes.source.limit).toBeGreaterThan(Math.min(...limitsSeen));
    expect(result.state.remotes.sink.cuts).toBe(0);
  });

  test('gives up after the throttle limit of a chunk fetch and fails the job with the throttled failure', () => {
    const result = runScenario(scenario({ oneOffFailure: () => throttled() }));
    expect(result.ledger.headsAtMs.get('job-0#1')).toHaveLength(limits.throttledAttemptsMax);
    const failed = commandsOf(result, 'failJob')[0];
    expect(failed?.failure).toMatchObject({
      fault: 'remote',
      throttled: true,
      reason: expect.stringMatching(/^sizing the input failed: HEAD answered HTTP 503/),
    });
    expect(commandsOf(result, 'fetchChunk')).toHaveLength(0);
  });

  test('gives up after the attempt limit on other retryable failures', () => {
    const result = runScenario(scenario({ oneOffFailure: () => remoteFault('connection reset') }));
    expect(result.ledger.headsAtMs.get('job-0#1')).toHaveLength(limits.taskAttemptsMax);
    expect(commandsOf(result, 'failJob')[0]?.failure).toMatchObject({ fault: 'remote', retryable: true });
  });

  test("fails a missing input at once, as the input's fault", () => {
    const result = runScenario(scenario({ oneOffFailure: () => inputFault('HEAD answered HTTP 404') }));
    expect(result.ledger.headsAtMs.get('job-0#1')).toHaveLength(1);
    expect(commandsOf(result, 'failJob')[0]?.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(result.ledger.failed.has('job-0')).toBe(true);
  });

  test('renews the lease of a job being sized, so retries may outlast the first lease', () => {
    const leased = withLimits({
      ...limits,
      leaseMs: 2_000,
      heartbeatIntervalMs: 500,
      leaseSafetyMs: 200,
      retryBaseMs: 400,
      retryCapMs: 400,
      throttledAttemptsMax: 12,
    });
    const result = runScenario(
      scenario({ limits: leased, oneOffFailure: (_, __, head) => (head <= 8 ? throttled() : null) }),
    );
    const heads = result.ledger.headsAtMs.get('job-0#1') ?? [];
    expect(heads).toHaveLength(9);
    expect(heads.at(-1)).toBeGreaterThan(leased.leaseMs);
    const beats = commandsOf(result, 'heartbeat').filter((beat) => beat.sentAtMs < (heads.at(-1) ?? 0));
    expect(beats.length).toBeGreaterThan(0);
    for (const beat of beats) expect(beat.leases.map((lease) => lease.jobId)).toContain('job-0');
    expect(endedAs(result)).toEqual(['job-0 committed']);
  });

  test('starts no retry that would end after the lease stops being trusted, and fails the job with the HEAD failure', () => {
    const leased = withLimits({
      ...limits,
      leaseMs: 2_000,
      heartbeatIntervalMs: 500,
      leaseSafetyMs: 200,
      retryBaseMs: 400,
      retryCapMs: 400,
      throttledAttemptsMax: 100,
    });
    // Heartbeats go unanswered: the claim's lease is never renewed.
    const result = runScenario(
      scenario({ limits: leased, oneOffFailure: () => throttled(), heartbeatAnswered: () => false }),
    );
    const heads = result.ledger.headsAtMs.get('job-0#1') ?? [];
    const trustedUntilMs = leased.leaseMs - leased.leaseSafetyMs;
    expect(heads.length).toBeGreaterThanOrEqual(2);
    expect(heads.length).toBeLessThan(leased.throttledAttemptsMax);
    expect(heads.at(-1)).toBeLessThan(trustedUntilMs);
    // The fake ledger hands a retryable failure back for another attempt; the first one failed.
    expect(endedAs(result)[0]).toBe('job-0 failed');
    expect(commandsOf(result, 'failJob')[0]?.failure).toMatchObject({ throttled: true });
  });

  test('shutdown stops the sizing at once: the job goes back to the ledger uncharged, no HEAD follows', () => {
    const slow = withLimits({ ...limits, retryBaseMs: 10_000, retryCapMs: 10_000 });
    const result = runScenario(scenario({ limits: slow, oneOffFailure: () => throttled(), shutdownAtMs: 100 }));
    const heads = result.ledger.headsAtMs.get('job-0#1') ?? [];
    expect(heads).toHaveLength(1);
    expect(endedAs(result)).toEqual(['job-0 released']);
    expect(commandsOf(result, 'failJob')).toHaveLength(0);
    expect(result.endMs).toBeLessThan(1_000);
  });

  test('a job claimed after shutdown, sized or not, goes straight back', () => {
    const state = createWorkerState(limits, { invariantChecks: 'full' });
    step(state, 0, []);
    step(state, 1, [{ kind: 'shutdownRequested' }]);
    const input = { uri: 'sim://a.warc.gz', filename: 'a.warc.gz', crawl: null, subset: null, segment: null };
    const { commands } = step(state, 2, [
      {
        kind: 'jobsClaimed',
        exhausted: false,
        jobs: [
          { jobId: 'a', input, sizeBytes: null, attempt: 1, outputKey: 'a.parquet' },
          { jobId: 'b', input, sizeBytes: 10, attempt: 1, outputKey: 'b.parquet' },
        ],
      },
    ]);
    expect(commands.filter((command) => command.kind === 'sizeInput')).toHaveLength(0);
    expect(commands.filter((command) => command.kind === 'releaseJob')).toHaveLength(2);
  });

  test('asks nothing of jobs claimed with their size, and starts them in claim order', () => {
    const result = runScenario(scenario({ unsized: false, jobSizesBytes: [mebibyte, 2 * mebibyte, 0] }));
    expect(commandsOf(result, 'sizeInput')).toHaveLength(0);
    expect(endedAs(result).sort()).toEqual(['job-0 committed', 'job-1 committed', 'job-2 committed']);
  });

  test('HEADs share the fetch cap and the source limit with chunk fetches', () => {
    const narrow = withLimits({ ...limits, stageWorkersMax: { fetch: 2 }, jobsActiveMax: 6, claimBatchMax: 6 });
    let peakFetchStage = 0;
    let peakHeads = 0;
    const result = runScenario(scenario({ limits: narrow, jobSizesBytes: Array(6).fill(mebibyte) }), (state) => {
      peakFetchStage = Math.max(peakFetchStage, state.active.fetch);
      const heads = [...state.inFlight.values()].filter((task) => task.stage === 'fetch' && task.index < 0).length;
      peakHeads = Math.max(peakHeads, heads);
    });
    expect(result.finished).toBe(true);
    expect(commandsOf(result, 'sizeInput')).toHaveLength(6);
    expect(peakHeads).toBe(2);
    expect(peakFetchStage).toBe(2);
  });
});

describe('starting an upload', () => {
  test('an object of several parts is started once, before any of its parts', () => {
    const result = runScenario(scenario({ unsized: false, jobSizesBytes: [40 * mebibyte] }));
    expect(result.finished).toBe(true);
    const kinds = result.trace.flatMap((record) =>
      record.commands.filter((c) => c.kind === 'startUpload' || c.kind === 'uploadPart').map((c) => c.kind),
    );
    expect(commandsOf(result, 'uploadPart').length).toBeGreaterThan(1);
    expect(kinds[0]).toBe('startUpload');
    expect(kinds.filter((kind) => kind === 'startUpload')).toHaveLength(1);
    expect(result.ledger.startsAtMs.get('job-0#1')).toHaveLength(1);
    expect(endedAs(result)).toEqual(['job-0 committed']);
  });

  test('an object of one small part is never started: the sink writes it whole', () => {
    const result = runScenario(scenario({ unsized: false, jobSizesBytes: [mebibyte] }));
    expect(commandsOf(result, 'uploadPart')).toHaveLength(1);
    expect(commandsOf(result, 'startUpload')).toHaveLength(0);
    expect(endedAs(result)).toEqual(['job-0 committed']);
  });

  test('a throttled start lowers the sink limit and is retried; its parts wait for it', () => {
    const flaky = scenario({
      limits: cutOnEveryThrottle,
      unsized: false,
      jobSizesBytes: [40 * mebibyte],
      oneOffFailure: (kind, _, tries) => (kind === 'startUpload' && tries <= 2 ? throttled() : null),
    });
    let sinkDecreases = 0;
    const result = runScenario(flaky, (state) => {
      sinkDecreases = Math.max(sinkDecreases, state.remotes.sink.cuts);
    });
    const starts = commandsOf(result, 'startUpload');
    const firstPart = result.trace.findIndex((record) => record.commands.some((c) => c.kind === 'uploadPart'));
    const started = result.trace.findIndex((record) => record.inputs.some((input) => input.kind === 'uploadStarted'));
    expect(started).toBeGreaterThanOrEqual(0);
    expect(firstPart).toBeGreaterThanOrEqual(started);
    expect(starts).toHaveLength(3);
    // Each start was sent after the last cut, so each throttle cuts the limit again.
    expect(sinkDecreases).toBe(2);
    expect(result.state.remotes.source.cuts).toBe(0);
    expect(endedAs(result)).toEqual(['job-0 committed']);
  });
});
