/**
 * The commit in two steps, driven by hand through the real `step`: the object is completed
 * once, then the ledger write is retried alone with the core's backoff; a transient ledger
 * error does not fail the job; a lease that lapses while the write waits ends the job as
 * lost, never failed; tries that run out fail it retryably; a lost lease reported while the
 * object completes ends it as lost once that answer comes.
 */
import { describe, expect, it } from 'vitest';
import type { Command, CommandOf } from '../../core/commands.ts';
import { inputFault, ourFault, remoteFault, type Failure } from '../../core/failure.ts';
import type { Input } from '../../core/inputs.ts';
import { withLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type WorkerState } from '../../core/worker-state.ts';

const limits = withLimits({
  taskAttemptsMax: 3,
  retryBaseMs: 100,
  retryCapMs: 1_000,
  leaseMs: 20_000,
  heartbeatIntervalMs: 5_000,
  leaseSafetyMs: 2_000,
  claimIdleMs: 1_000_000,
  metricsIntervalMs: 1_000_000,
});

const lease = { jobId: 'job-0', attempt: 1 };
const serializationFailure = remoteFault('serialization failure (SQLSTATE 40001)');

class Driver {
  readonly state: WorkerState;
  nowMs = 0;
  wakeAtMs: number | null = null;
  readonly commands: Command[] = [];

  constructor(driverLimits = limits) {
    this.state = createWorkerState(driverLimits, { invariantChecks: 'full' });
  }

  feed(inputs: Input[], atMs = this.nowMs): Command[] {
    this.nowMs = atMs;
    const result = step(this.state, atMs, inputs);
    this.wakeAtMs = result.wakeAtMs;
    this.commands.push(...result.commands);
    return result.commands;
  }

  /** Wakes at the core's next wake-up, as a driver's timer would. */
  wake(): Command[] {
    expect(this.wakeAtMs).not.toBeNull();
    return this.feed([{ kind: 'timer' }], this.wakeAtMs as number);
  }

  of<K extends Command['kind']>(kind: K, commands: readonly Command[] = this.commands): CommandOf<K>[] {
    return commands.filter((command): command is CommandOf<K> => command.kind === kind);
  }
}

/** Claims one small job and answers every task with success up to its first commit step. */
function jobAtCommit(driverLimits = limits): { driver: Driver; completeObject: CommandOf<'completeObject'> } {
  const driver = new Driver(driverLimits);
  driver.feed([]);
  const input = { uri: 'file:///job-0.warc.gz', filename: 'job-0.warc.gz', crawl: null, subset: null, segment: null };
  let commands = driver.feed(
    [
      {
        kind: 'jobsClaimed',
        exhausted: false,
        jobs: [{ ...lease, input, sizeBytes: 1_000, outputKey: 'job-0.parquet' }],
      },
    ],
    1,
  );
  const counters = { byType: { response: 3 }, badByReason: {} };
  for (let round = 0; round < 10; round += 1) {
    const completeObject = driver.of('completeObject', commands)[0];
    if (completeObject !== undefined) return { driver, completeObject };
    const answers: Input[] = [];
    for (const command of commands) {
      if (command.kind === 'fetchChunk')
        answers.push({ kind: 'chunkFetched', taskId: command.taskId, bytes: command.lengthBytes });
      if (command.kind === 'decodeChunk')
        answers.push({ kind: 'chunkDecoded', taskId: command.taskId, rows: 3, rowBytes: 300, counters });
      if (command.kind === 'encodeRowGroup')
        answers.push({ kind: 'rowGroupEncoded', taskId: command.taskId, bytes: 200 });
      if (command.kind === 'uploadPart') answers.push({ kind: 'partUploaded', taskId: command.taskId });
    }
    commands = driver.feed(answers, driver.nowMs + 10);
  }
  throw new Error('the job never reached its commit');
}

function failed(taskId: number, failure: Failure): Input {
  return { kind: 'taskFailed', taskId, failure };
}

describe('a commit in two steps', () => {
  it('completes the object first, then writes the ledger; no step before its time', () => {
    const { driver, completeObject } = jobAtCommit();
    expect(completeObject).toMatchObject({ jobId: 'job-0', outputKey: 'job-0.parquet' });
    expect(driver.of('commitJob')).toEqual([]);
    const commands = driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5);
    const [commit] = driver.of('commitJob', commands);
    expect(commit).toMatchObject({ lease, outputKey: 'job-0.parquet', summary: { rows: 3, outputBytes: 200 } });
    driver.feed([{ kind: 'jobCommitted', taskId: commit!.taskId }], driver.nowMs + 5);
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ jobId: 'job-0', outcome: 'committed' })]);
    expect(driver.of('completeObject')).toHaveLength(1);
    expect(driver.of('dropJob')).toEqual([]);
  });

  it('retries a failed ledger write alone, after the backoff, and commits: the object is completed once', () => {
    const { driver, completeObject } = jobAtCommit();
    const [first] = driver.of(
      'commitJob',
      driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5),
    );
    const failedAtMs = driver.nowMs + 5;
    expect(driver.feed([failed(first!.taskId, serializationFailure)], failedAtMs)).toEqual([]);
    const [second] = driver.of('commitJob', driver.wake());
    expect(driver.nowMs - failedAtMs).toBeGreaterThanOrEqual(limits.retryBaseMs / 2);
    expect(second).toMatchObject({ lease, summary: first!.summary });
    expect(second!.taskId).not.toBe(first!.taskId);
    driver.feed([{ kind: 'jobCommitted', taskId: second!.taskId }], driver.nowMs + 5);
    expect(driver.of('completeObject')).toHaveLength(1);
    expect(driver.of('failJob')).toEqual([]);
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ outcome: 'committed' })]);
    expect(driver.state.counters).toMatchObject({ jobsCommitted: 1, jobsFailed: 0, retries: 1 });
  });

  it('retries a failed object completion as the object, before any ledger write', () => {
    const { driver, completeObject } = jobAtCommit();
    driver.feed([failed(completeObject.taskId, remoteFault('CompleteMultipartUpload: 500'))], driver.nowMs + 5);
    const [again] = driver.of('completeObject', driver.wake());
    expect(again).toMatchObject({ jobId: 'job-0' });
    expect(driver.of('commitJob')).toEqual([]);
  });

  it('fails the job retryably, never for good, when every try of the ledger write fails', () => {
    const { driver, completeObject } = jobAtCommit();
    let commands = driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5);
    for (let attempt = 1; attempt <= limits.taskAttemptsMax; attempt += 1) {
      const [commit] = driver.of('commitJob', commands);
      expect(commit, `try ${attempt}`).toBeDefined();
      driver.feed([failed(commit!.taskId, serializationFailure)], driver.nowMs + 5);
      commands = attempt < limits.taskAttemptsMax ? driver.wake() : [];
    }
    const [failJob] = driver.of('failJob');
    expect(failJob?.failure).toMatchObject({ retryable: true, fault: 'remote' });
    expect(failJob?.failure.reason).toMatch(
      /^recording the job done in the ledger failed \(its object is published\): serialization failure/,
    );
    expect(driver.of('commitJob')).toHaveLength(limits.taskAttemptsMax);
    expect(driver.of('completeObject')).toHaveLength(1);
  });

  it('gives a ledger write that cannot pass up at once, and still fails the job retryably', () => {
    const { driver, completeObject } = jobAtCommit();
    const [commit] = driver.of(
      'commitJob',
      driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5),
    );
    driver.feed(
      [failed(commit!.taskId, ourFault('permission denied for table ledger_jobs (SQLSTATE 42501)'))],
      driver.nowMs + 5,
    );
    expect(driver.of('commitJob')).toHaveLength(1);
    expect(driver.of('failJob')[0]?.failure).toMatchObject({
      retryable: true,
      fault: 'ours',
      reason: expect.stringMatching(/permission denied/),
    });
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ outcome: 'failed' })]);
  });

  it('ends the job as lost, not failed, when its lease lapses while the ledger write waits', () => {
    const { driver, completeObject } = jobAtCommit();
    const [commit] = driver.of(
      'commitJob',
      driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5),
    );
    driver.feed([failed(commit!.taskId, serializationFailure)], driver.nowMs + 5);
    // No heartbeat is answered: the lease runs out before the write's next try.
    const lapsedAtMs = limits.leaseMs - limits.leaseSafetyMs;
    driver.feed([{ kind: 'timer' }], lapsedAtMs + 1);
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ outcome: 'lost' })]);
    expect(driver.of('failJob')).toEqual([]);
    expect(driver.of('commitJob')).toHaveLength(1);
  });

  it('keeps trying the ledger write past the first lease while heartbeats renew it, and commits then', () => {
    const patient = withLimits({ ...limits, taskAttemptsMax: 40 });
    const { driver, completeObject } = jobAtCommit(patient);
    let commands = driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5);
    const firstLeaseEndMs = limits.leaseMs - limits.leaseSafetyMs;
    // Every try fails until well past the end of the first lease; each heartbeat is answered.
    let tries = 0;
    for (let wakes = 0; wakes < 200; wakes += 1) {
      for (const heartbeat of driver.of('heartbeat', commands)) {
        driver.feed([{ kind: 'leasesRenewed', jobIds: ['job-0'], sentAtMs: heartbeat.sentAtMs }], driver.nowMs + 1);
      }
      const [commit] = driver.of('commitJob', commands);
      if (commit !== undefined && driver.nowMs > firstLeaseEndMs + 5_000) {
        driver.feed([{ kind: 'jobCommitted', taskId: commit.taskId }], driver.nowMs + 5);
        break;
      }
      if (commit !== undefined) {
        tries += 1;
        driver.feed([failed(commit.taskId, serializationFailure)], driver.nowMs + 5);
      }
      commands = driver.wake();
    }
    expect(tries).toBeGreaterThan(5);
    expect(tries).toBeLessThan(patient.taskAttemptsMax);
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ outcome: 'committed' })]);
    expect(driver.of('completeObject')).toHaveLength(1);
  });

  it('ends the job as lost when the lease is reported lost while the object completes, writing no ledger', () => {
    const { driver, completeObject } = jobAtCommit();
    driver.feed([{ kind: 'leaseLost', jobId: 'job-0' }], driver.nowMs + 1);
    expect(driver.of('jobEnded')).toEqual([]);
    driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5);
    expect(driver.of('commitJob')).toEqual([]);
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ outcome: 'lost' })]);
  });

  it('leaves a lost lease reported during the ledger write to that write: done is done', () => {
    const { driver, completeObject } = jobAtCommit();
    const [commit] = driver.of(
      'commitJob',
      driver.feed([{ kind: 'objectCompleted', taskId: completeObject.taskId }], driver.nowMs + 5),
    );
    // A heartbeat racing the write hears the lease gone because the job is done.
    driver.feed([{ kind: 'leaseLost', jobId: 'job-0' }], driver.nowMs + 1);
    driver.feed([{ kind: 'jobCommitted', taskId: commit!.taskId }], driver.nowMs + 5);
    expect(driver.of('jobEnded')).toEqual([expect.objectContaining({ outcome: 'committed' })]);
  });

  it('fails a job for good on an input fault before the commit, as before', () => {
    const driver = new Driver();
    driver.feed([]);
    const input = { uri: 'file:///bad.warc.gz', filename: 'bad.warc.gz', crawl: null, subset: null, segment: null };
    const commands = driver.feed(
      [{ kind: 'jobsClaimed', exhausted: false, jobs: [{ ...lease, input, sizeBytes: 10, outputKey: 'bad.parquet' }] }],
      1,
    );
    const [fetch] = driver.of('fetchChunk', commands);
    driver.feed([failed(fetch!.taskId, inputFault('not a WARC file'))], 5);
    expect(driver.of('failJob')[0]?.failure).toMatchObject({ retryable: false, fault: 'input' });
  });
});
