/**
 * Model-based test: fast-check drives the real core and a small reference model with the same
 * random sequence of events (claims, task completions, retryable / throttled / permanent
 * failures, lost leases, shutdown, time passing), and after every event checks that the core
 * holds the jobs the model holds, runs each at the stage the model expects, and ends each the
 * way the model says. Jobs are one chunk, one row group and one part, so a job's life is the
 * five stages in order, the commit in its two steps (the object, then the ledger write); a job
 * claimed without its size is sized first (a HEAD, under the fetch stage's caps).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowed } from '../../core/remote-limit.ts';
import type { Command, JobOutcome } from '../../core/commands.ts';
import type { Failure } from '../../core/failure.ts';
import type { Input } from '../../core/inputs.ts';
import { withLimits } from '../../core/limits.ts';
import type { Stage } from '../../core/stage.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type WorkerState } from '../../core/worker-state.ts';

const attemptsMax = 3;
const limits = withLimits({
  stageWorkersMax: { fetch: 64, decode: 64, encode: 64, upload: 64, commit: 64 },
  cpuSlotsMax: 64,
  networkStreamsMax: 128,
  chunkBytes: 1024 * 1024,
  rowGroupRows: 1_000_000,
  jobsActiveMax: 8,
  claimBatchMax: 4,
  taskAttemptsMax: attemptsMax,
  throttledAttemptsMax: attemptsMax,
  drainTimeoutMs: 1_000,
  claimIdleMs: 20,
  retryBaseMs: 10,
  retryCapMs: 100,
});

/** The model's steps: the five stages, and sizing before them for a job claimed without a size. */
type ModelStage = Stage | 'size';

const nextStage: Record<ModelStage, ModelStage | 'done'> = {
  size: 'fetch',
  fetch: 'decode',
  decode: 'encode',
  encode: 'upload',
  upload: 'commit',
  commit: 'done',
};
const stageOfKind: Record<string, ModelStage> = {
  sizeInput: 'size',
  fetchChunk: 'fetch',
  decodeChunk: 'decode',
  encodeRowGroup: 'encode',
  uploadPart: 'upload',
  completeObject: 'commit',
  commitJob: 'commit',
};

interface ModelJob {
  stage: ModelStage;
  /** Waiting out a retry delay: no task may run until the core redispatches it. */
  backoff: boolean;
  failures: Map<string, number>;
  throttles: Map<string, number>;
  leaseLostDuringCommit: boolean;
  /** The commit's first step is done: what is left is the ledger write. */
  objectCompleted: boolean;
}

/** Each step of the commit counts its own tries. */
function stepOf(job: ModelJob): string {
  return job.stage === 'commit' && job.objectCompleted ? 'commit-ledger' : job.stage;
}

interface Model {
  readonly jobs: Map<string, ModelJob>;
  readonly ended: Map<string, JobOutcome>;
  draining: boolean;
  drainDeadlineMs: number;
}

interface Real {
  readonly state: WorkerState;
  nowMs: number;
  wakeAtMs: number | null;
  claimCount: number;
  nextJob: number;
  readonly tasks: Map<number, { jobId: string; stage: ModelStage }>;
  readonly ended: Map<string, JobOutcome>;
  claimedWhileDraining: boolean;
}

function runStep(real: Real, inputs: Input[]): void {
  const result = step(real.state, real.nowMs, inputs);
  real.wakeAtMs = result.wakeAtMs;
  for (const command of result.commands) absorb(real, command);
}

function absorb(real: Real, command: Command): void {
  if (command.kind === 'claimJobs') {
    real.claimCount = command.count;
    if (real.state.draining) real.claimedWhileDraining = true;
  }
  if (command.kind === 'jobEnded') real.ended.set(command.jobId, command.outcome);
  const stage = stageOfKind[command.kind];
  if (stage !== undefined && 'taskId' in command) {
    const jobId = command.kind === 'commitJob' ? command.lease.jobId : (command as { jobId: string }).jobId;
    real.tasks.set(command.taskId, { jobId, stage });
  }
}

/** Tasks of live jobs, so answers name something the core is still waiting for. */
function liveTasks(real: Real): [number, { jobId: string; stage: ModelStage }][] {
  return [...real.tasks.entries()].sort(([a], [b]) => a - b);
}

function check(model: Model, real: Real): void {
  expect([...real.state.jobs.keys()].sort()).toEqual([...model.jobs.keys()].sort());
  expect(Object.fromEntries(real.ended)).toEqual(Object.fromEntries(model.ended));
  const running = new Map<string, ModelStage>();
  for (const [, task] of real.tasks) {
    if (!model.jobs.has(task.jobId)) continue;
    expect(running.has(task.jobId), `two tasks of ${task.jobId} in flight`).toBe(false);
    running.set(task.jobId, task.stage);
  }
  for (const [jobId, job] of model.jobs) {
    const stage = running.get(jobId);
    if (stage !== undefined) {
      expect(stage).toBe(job.stage);
      job.backoff = false;
    } else {
      // Caps are wide here, but throttling can narrow a remote's AIMD limit below them.
      const saturated =
        ((job.stage === 'fetch' || job.stage === 'size') &&
          real.state.active.fetch >= allowed(real.state.remotes.source)) ||
        (job.stage === 'upload' && real.state.active.upload >= allowed(real.state.remotes.sink));
      expect(job.backoff || saturated, `${jobId} should be running ${job.stage}`).toBe(true);
    }
  }
  expect(real.claimedWhileDraining).toBe(false);
}

function endModelJob(model: Model, jobId: string, outcome: JobOutcome): void {
  model.jobs.delete(jobId);
  model.ended.set(jobId, outcome);
}

/** The ledger answers a claim; the last `unsized` of the jobs come without a size, and are sized first. */
class ClaimCommand implements fc.Command<Model, Real> {
  constructor(
    readonly count: number,
    readonly unsized: number,
  ) {}
  check = (): boolean => true;
  run(model: Model, real: Real): void {
    if (real.claimCount === 0) return;
    const count = Math.min(this.count, real.claimCount);
    const sizedCount = Math.max(0, count - this.unsized);
    const jobs = Array.from({ length: count }, (_, index) => {
      const jobId = `job-${real.nextJob++}`;
      const input = { uri: `${jobId}.warc.gz`, filename: `${jobId}.warc.gz`, crawl: null, subset: null, segment: null };
      const sizeBytes = index < sizedCount ? 1_000 : null;
      return { jobId, input, sizeBytes, attempt: 1, outputKey: `${jobId}.parquet` };
    });
    real.claimCount = 0;
    runStep(real, [{ kind: 'jobsClaimed', jobs, exhausted: false }]);
    for (const job of jobs) {
      // A claim answered after shutdown hands its jobs straight back.
      if (model.draining) {
        model.ended.set(job.jobId, 'released');
        continue;
      }
      model.jobs.set(job.jobId, {
        stage: job.sizeBytes === null ? 'size' : 'fetch',
        backoff: false,
        failures: new Map(),
        throttles: new Map(),
        leaseLostDuringCommit: false,
        objectCompleted: false,
      });
    }
    check(model, real);
  }
  toString = (): string => `claim(${this.count}, ${this.unsized} unsized)`;
}

class AnswerCommand implements fc.Command<Model, Real> {
  constructor(
    readonly pick: number,
    readonly outcome: 'success' | 'retryable' | 'throttled' | 'permanent',
  ) {}
  check = (): boolean => true;
  run(model: Model, real: Real): void {
    const tasks = liveTasks(real);
    if (tasks.length === 0) return;
    const [taskId, task] = tasks[this.pick % tasks.length] as [number, { jobId: string; stage: Stage }];
    real.tasks.delete(taskId);
    runStep(real, [this.answerFor(taskId, task.stage, model.jobs.get(task.jobId)?.objectCompleted ?? false)]);
    const job = model.jobs.get(task.jobId);
    if (job !== undefined) this.advanceModel(model, task.jobId, job, real.nowMs);
    check(model, real);
  }

  private answerFor(taskId: number, stage: ModelStage, objectCompleted: boolean): Input {
    if (this.outcome !== 'success') return { kind: 'taskFailed', taskId, failure: this.failure() };
    const counters = { byType: { response: 1 }, badByReason: {} };
    if (stage === 'size') return { kind: 'inputSized', taskId, bytes: 1_000 };
    if (stage === 'fetch') return { kind: 'chunkFetched', taskId, bytes: 1_000 };
    if (stage === 'decode') return { kind: 'chunkDecoded', taskId, rows: 1, rowBytes: 10, counters };
    if (stage === 'encode') return { kind: 'rowGroupEncoded', taskId, bytes: 100 };
    if (stage === 'upload') return { kind: 'partUploaded', taskId };
    return objectCompleted ? { kind: 'jobCommitted', taskId } : { kind: 'objectCompleted', taskId };
  }

  private failure(): Failure {
    if (this.outcome === 'throttled')
      return { reason: '503 SlowDown', fault: 'remote', retryable: true, throttled: true };
    if (this.outcome === 'retryable') return { reason: 'reset', fault: 'remote', retryable: true, throttled: false };
    return { reason: 'not found', fault: 'input', retryable: false, throttled: false };
  }

  private advanceModel(model: Model, jobId: string, job: ModelJob, nowMs: number): void {
    if (this.outcome === 'success' && job.stage === 'commit' && !job.objectCompleted) {
      // A lease reported lost while the object completed is lost: the ledger was not written.
      if (job.leaseLostDuringCommit) return endModelJob(model, jobId, 'lost');
      job.objectCompleted = true;
      return;
    }
    if (this.outcome === 'success') {
      const next = nextStage[job.stage];
      if (next === 'done') return endModelJob(model, jobId, 'committed');
      job.stage = next;
      return;
    }
    if (job.stage === 'commit' && job.leaseLostDuringCommit) return endModelJob(model, jobId, 'lost');
    const retriesInPlace = job.stage !== 'decode' && job.stage !== 'encode';
    const pastDeadline = model.draining && nowMs >= model.drainDeadlineMs;
    if (this.outcome === 'permanent' || !retriesInPlace) return endModelJob(model, jobId, 'failed');
    if (pastDeadline) return endModelJob(model, jobId, 'released');
    const counts = this.outcome === 'throttled' ? job.throttles : job.failures;
    const count = (counts.get(stepOf(job)) ?? 0) + 1;
    counts.set(stepOf(job), count);
    if (count >= attemptsMax) return endModelJob(model, jobId, 'failed');
    job.backoff = true;
  }
  toString = (): string => `answer(${this.pick}, ${this.outcome})`;
}

class LoseLeaseCommand implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>): boolean => model.jobs.size > 0;
  run(model: Model, real: Real): void {
    const jobIds = [...model.jobs.keys()].sort();
    const jobId = jobIds[this.pick % jobIds.length] as string;
    const job = model.jobs.get(jobId) as ModelJob;
    const committing = [...real.tasks.values()].some((task) => task.jobId === jobId && task.stage === 'commit');
    runStep(real, [{ kind: 'leaseLost', jobId }]);
    if (committing) job.leaseLostDuringCommit = true;
    else endModelJob(model, jobId, 'lost');
    check(model, real);
  }
  toString = (): string => `loseLease(${this.pick})`;
}

class AdvanceTimeCommand implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  run(model: Model, real: Real): void {
    real.nowMs = Math.max(real.nowMs + 1, Math.min(real.wakeAtMs ?? Infinity, real.nowMs + this.ms));
    runStep(real, [{ kind: 'timer' }]);
    if (model.draining && real.nowMs >= model.drainDeadlineMs) {
      const committing = new Set(
        [...real.tasks.values()].filter((task) => task.stage === 'commit').map((task) => task.jobId),
      );
      // A job whose object is published goes on to its ledger write.
      for (const [jobId, job] of [...model.jobs])
        if (!committing.has(jobId) && !job.objectCompleted) endModelJob(model, jobId, 'released');
    }
    check(model, real);
  }
  toString = (): string => `advance(${this.ms})`;
}

class ShutdownCommand implements fc.Command<Model, Real> {
  check = (model: Readonly<Model>): boolean => !model.draining;
  run(model: Model, real: Real): void {
    model.draining = true;
    model.drainDeadlineMs = real.nowMs + limits.drainTimeoutMs;
    runStep(real, [{ kind: 'shutdownRequested' }]);
    // A job still being sized goes back at once: it has done nothing yet.
    for (const [jobId, job] of [...model.jobs]) if (job.stage === 'size') endModelJob(model, jobId, 'released');
    check(model, real);
  }
  toString = (): string => 'shutdown';
}

const answers = fc
  .tuple(
    fc.nat({ max: 2 }),
    fc.constantFrom(
      'success',
      'success',
      'success',
      'retryable',
      'throttled',
      'throttled',
      'permanent',
    ) as fc.Arbitrary<AnswerCommand['outcome']>,
  )
  .map(([pick, outcome]) => new AnswerCommand(pick, outcome));

// Answers dominate and shutdown is rare, so runs live long enough to meet retries and leases.
const commandsArbitrary = fc.commands(
  [
    fc
      .tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 0, 0, 1, 2))
      .map(([count, unsized]) => new ClaimCommand(count, unsized)),
    answers,
    answers,
    answers,
    answers,
    // Picks among the oldest few tasks, so one job meets several failures in a row.
    fc
      .tuple(
        fc.nat({ max: 2 }),
        fc.constantFrom(
          'success',
          'success',
          'success',
          'retryable',
          'throttled',
          'throttled',
          'permanent',
        ) as fc.Arbitrary<AnswerCommand['outcome']>,
      )
      .map(([pick, outcome]) => new AnswerCommand(pick, outcome)),
    fc.nat({ max: 2 }).map((pick) => new LoseLeaseCommand(pick)),
    fc.integer({ min: 1, max: 2_000 }).map((ms) => new AdvanceTimeCommand(ms)),
    fc.integer({ min: 1, max: 200 }).map((ms) => new AdvanceTimeCommand(ms)),
    fc.integer({ min: 0, max: 9 }).map((roll) => (roll === 0 ? new ShutdownCommand() : new AdvanceTimeCommand(50))),
  ],
  { size: '+1', maxCommands: 200 },
);

describe('scheduler core against a reference model', () => {
  it('holds, runs and ends jobs exactly as the model says', () => {
    fc.assert(
      fc.property(commandsArbitrary, (commands) => {
        const real: Real = {
          state: createWorkerState(limits, { invariantChecks: 'full' }),
          nowMs: 0,
          wakeAtMs: null,
          claimCount: 0,
          nextJob: 0,
          tasks: new Map(),
          ended: new Map(),
          claimedWhileDraining: false,
        };
        runStep(real, []);
        const model: Model = { jobs: new Map(), ended: new Map(), draining: false, drainDeadlineMs: Infinity };
        fc.modelRun(() => ({ model, real }), commands);
      }),
      { numRuns: 1_000 },
    );
  });
});
