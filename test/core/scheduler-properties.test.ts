/**
 * Proves the scheduler core's invariants over random workloads, durations, failure and
 * throttle sequences, leases and shutdowns, by driving the real `step` with a scripted driver
 * and checking every step of the trace. fast-check prints the seed and path of any failure;
 * `FC_SEED=<seed> npx vitest run test/core/scheduler-properties.test.ts -t "<name>"` replays it
 * (CORE_PROPERTY_RUNS sets how many runs each property makes, 60 by default).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowed } from '../../core/remote-limit.ts';
import { canStart } from '../../core/capacity.ts';
import type { Command, CommandOf } from '../../core/commands.ts';
import type { Input } from '../../core/inputs.ts';
import { stages, type Stage } from '../../core/stage.ts';
import { cpuActive, networkActive } from '../../core/worker-state.ts';
import { queuedEntries } from '../../core/ready-queue.ts';
import { faultsArbitrary, scenarioArbitrary } from './scenario-arbitrary.ts';
import { runScenario, type RunResult, type Scenario, type StepRecord } from './scripted-driver.ts';

const runs = {
  numRuns: Number(process.env.CORE_PROPERTY_RUNS ?? 60),
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
};

function commandsOf<K extends Command['kind']>(record: StepRecord, kind: K): CommandOf<K>[] {
  return record.commands.filter((command): command is CommandOf<K> => command.kind === kind);
}

function inputsOf<K extends Input['kind']>(record: StepRecord, kind: K): Extract<Input, { kind: K }>[] {
  return record.inputs.filter((input): input is Extract<Input, { kind: K }> => input.kind === kind);
}

/** Task commands with the job they belong to, in dispatch order. */
type TaskCommand = CommandOf<
  'fetchChunk' | 'decodeChunk' | 'encodeRowGroup' | 'uploadPart' | 'completeObject' | 'commitJob'
>;
const taskKinds = new Set(['fetchChunk', 'decodeChunk', 'encodeRowGroup', 'uploadPart', 'completeObject', 'commitJob']);
function jobOf(command: TaskCommand): string {
  return command.kind === 'commitJob' ? command.lease.jobId : command.jobId;
}

function maxDurationMs(scenario: Scenario): number {
  return Math.max(...stages.map((stage) => scenario.durationMs[stage][1]));
}

describe('scheduler core properties', () => {
  it('never exceeds a stage cap, the shared CPU and network pools, or a remote AIMD limit when dispatching', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary }), (scenario) => {
        const caps = scenario.limits.stageWorkersMax;
        runScenario(scenario, (state, record) => {
          for (const stage of stages) expect(state.active[stage]).toBeLessThanOrEqual(caps[stage]);
          expect(cpuActive(state)).toBeLessThanOrEqual(scenario.limits.cpuSlotsMax);
          expect(networkActive(state)).toBeLessThanOrEqual(scenario.limits.networkStreamsMax);
          // HEADs and upload starts are requests to a remote too, under the same limits.
          if (commandsOf(record, 'fetchChunk').length + commandsOf(record, 'sizeInput').length > 0)
            expect(state.active.fetch).toBeLessThanOrEqual(allowed(state.remotes.source));
          if (commandsOf(record, 'uploadPart').length + commandsOf(record, 'startUpload').length > 0)
            expect(state.active.upload).toBeLessThanOrEqual(allowed(state.remotes.sink));
        });
      }),
      runs,
    );
  });

  it('keeps held bytes within max(budget, encoded bytes gathering for parts + one chunk) when transforms shrink data', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary }), (scenario) => {
        const { memoryBudgetBytes, jobsActiveMax, partBytes, chunkBytes } = scenario.limits;
        const bound = Math.max(memoryBudgetBytes, jobsActiveMax * partBytes + chunkBytes);
        const result = runScenario(scenario, (state) => {
          expect(state.heldBytes).toBeGreaterThanOrEqual(0);
          expect(state.heldBytes).toBeLessThanOrEqual(bound);
        });
        // `finished` waits for every answer, so at the end nothing is held: the accounting balances.
        expect(result.state.inFlight.size).toBe(0);
        expect(result.state.heldBytes).toBe(0);
      }),
      runs,
    );
  });

  it('admits a new chunk only within the budget, or alone when the pipeline is stalled, even when decoding and encoding grow data', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ growingTransforms: true }), (scenario) => {
        const reserved = new Set<string>();
        runScenario(scenario, (state, record) => {
          const fresh = commandsOf(record, 'fetchChunk').filter((fetch) => {
            const key = `${fetch.jobId}#${fetch.chunkIndex}#${state.jobs.get(fetch.jobId)?.claimed.attempt}`;
            const isFresh = !reserved.has(key);
            reserved.add(key);
            return isFresh;
          });
          if (fresh.length === 0) return;
          const tasksStarted = record.commands.filter((command) => taskKinds.has(command.kind)).length;
          const alone = fresh.length === 1 && tasksStarted === 1 && state.inFlight.size === 1;
          expect(state.heldBytes <= scenario.limits.memoryBudgetBytes || alone).toBe(true);
        });
      }),
      runs,
    );
  });

  it('is work-conserving: after every step no stage could start a ready task', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary }), (scenario) => {
        runScenario(scenario, (state) => {
          for (const stage of stages) expect(canStart(state, stage), `stage ${stage} left idle`).toBe(false);
        });
      }),
      runs,
    );
  });

  it('keeps per-job order: decodes in chunk order after their fetch, one at a time; row groups in order; parts contiguous; commit last', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary }), (scenario) => {
        checkPerJobOrder(scenario, runScenario(scenario));
      }),
      runs,
    );
  });

  it('sizes a job before fetching it, and starts an upload once, before its parts, exactly when it needs one', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary }), (scenario) => {
        checkOneOffTasks(scenario, runScenario(scenario));
      }),
      runs,
    );
  });

  it('starves no stage: under the weighted policy, ready work never waits past starvationMs plus a few task durations', () => {
    fc.assert(
      fc.property(
        scenarioArbitrary({ poolBound: true }).filter((scenario) => scenario.limits.policy === 'weighted'),
        (scenario) => {
          const boundMs = scenario.limits.starvationMs + 3 * maxDurationMs(scenario);
          runScenario(scenario, (state, record) => {
            for (const stage of stages) {
              if (stage === 'fetch' || state.readyCount[stage] === 0) continue;
              expect(record.nowMs - state.waitingSinceMs[stage], `${stage} waited`).toBeLessThanOrEqual(boundMs);
            }
          });
        },
      ),
      runs,
    );
  });

  it('ends every claimed job exactly once, commits each input at most once, and loses none', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary }), (scenario) => {
        const result = runScenario(scenario);
        expect(result.finished).toBe(true);
        checkEveryJobEndsOnce(result);
        for (const count of result.ledger.committed.values()) expect(count).toBe(1);
        expect(result.ledger.committed.size + result.ledger.failed.size).toBe(scenario.jobSizesBytes.length);
      }),
      runs,
    );
  });

  it('accepts a ledger write that landed unheard as done by the same attempt: no job redone, each object completed once', () => {
    const lostAnswers = faultsArbitrary.map((faults) => ({
      ...faults,
      retryable: 0,
      throttled: 0,
      permanent: 0,
      commitAnswerLost: 0.5,
    }));
    fc.assert(
      fc.property(scenarioArbitrary({ faults: lostAnswers }), (scenario) => {
        const result = runScenario(scenario);
        expect(result.finished).toBe(true);
        checkEveryJobEndsOnce(result);
        const jobs = scenario.jobSizesBytes.length;
        const commits = result.trace.flatMap((record) => commandsOf(record, 'commitJob'));
        // Answers were lost, and each lost one was retried, not taken for a lost lease.
        if (commits.length > jobs) expect(result.ledger.commitRefused).toEqual([]);
        expect(result.ledger.committed.size).toBe(jobs);
        for (const count of result.ledger.committed.values()) expect(count).toBe(1);
        for (const attempt of result.ledger.completedBy.values()) expect(attempt).toBe(1);
        expect(result.ledger.objectsCompleted.size).toBe(jobs);
        for (const count of result.ledger.objectsCompleted.values()) expect(count).toBe(1);
        expect(result.ledger.failed.size).toBe(0);
      }),
      runs,
    );
  });

  it('bounds retries: a task is dispatched at most taskAttemptsMax + throttledAttemptsMax - 1 times', () => {
    fc.assert(
      fc.property(
        scenarioArbitrary({
          faults: faultsArbitrary.map((faults) => ({ ...faults, retryable: faults.retryable * 2 })),
        }),
        (scenario) => {
          const limit = scenario.limits.taskAttemptsMax + scenario.limits.throttledAttemptsMax - 1;
          const dispatches = new Map<string, number>();
          const attempts = new Map<string, number>();
          runScenario(scenario, (_state, record) => {
            for (const input of inputsOf(record, 'jobsClaimed'))
              for (const job of input.jobs) attempts.set(job.jobId, job.attempt);
            for (const command of record.commands) {
              if (!taskKinds.has(command.kind)) continue;
              const task = command as TaskCommand;
              const index =
                'chunkIndex' in task
                  ? task.chunkIndex
                  : 'partNumber' in task
                    ? task.partNumber
                    : 'rowGroupIndex' in task
                      ? task.rowGroupIndex
                      : 0;
              const key = `${jobOf(task)}@${attempts.get(jobOf(task))}/${task.kind}/${index}`;
              dispatches.set(key, (dispatches.get(key) ?? 0) + 1);
            }
          });
          for (const [key, count] of dispatches) expect(count, key).toBeLessThanOrEqual(limit);
        },
      ),
      runs,
    );
  });

  it('drains on shutdown: claims nothing after it, and finishes by the drain deadline plus the two steps of a commit', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary, shutdown: true }), (scenario) => {
        const shutdownAtMs = scenario.shutdownAtMs as number;
        const result = runScenario(scenario);
        expect(result.finished).toBe(true);
        const shutdownStep = result.trace.findIndex((record) => inputsOf(record, 'shutdownRequested').length > 0);
        if (shutdownStep >= 0) {
          for (const record of result.trace.slice(shutdownStep)) expect(commandsOf(record, 'claimJobs')).toEqual([]);
          // A commit in flight at the deadline finishes: its object, then its ledger write.
          expect(result.endMs).toBeLessThanOrEqual(
            shutdownAtMs + scenario.limits.drainTimeoutMs + 2 * maxDurationMs(scenario) + 1,
          );
        }
        checkEveryJobEndsOnce(result);
      }),
      runs,
    );
  });

  it('keeps every AIMD limit between its floor and its ceiling', () => {
    fc.assert(
      fc.property(
        scenarioArbitrary({
          faults: faultsArbitrary.map((faults) => ({ ...faults, throttled: faults.throttled * 2 })),
        }),
        (scenario) => {
          runScenario(scenario, (state) => {
            for (const remote of [state.remotes.source, state.remotes.sink]) {
              expect(remote.limit).toBeGreaterThanOrEqual(remote.floor);
              expect(remote.limit).toBeLessThanOrEqual(remote.ceiling);
            }
          });
        },
      ),
      runs,
    );
  });

  it('is deterministic: the same seed and inputs give the same commands', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ faults: faultsArbitrary, shutdown: true }), (scenario) => {
        const first = runScenario(scenario).trace;
        const second = runScenario(scenario).trace;
        expect(JSON.stringify(second)).toBe(JSON.stringify(first));
      }),
      { numRuns: 30 },
    );
  });

  it('never commits a lost lease: no commit after leaseLost, nor once the lease may have expired', () => {
    const leaseFaults = faultsArbitrary.map((faults) => ({ ...faults, heartbeatLost: 0.4, leaseStolen: 0.3 }));
    fc.assert(
      fc.property(scenarioArbitrary({ faults: leaseFaults, shortLeases: true, jobsMax: 8 }), (scenario) => {
        const result = runScenario(scenario);
        checkNoCommitAfterLostLease(scenario, result);
        // Stolen leases and lost commit answers together still record each input once, and a job
        // done is never handed out again: the attempt that completed it is its last claim. The
        // driver's ledger fences every write as the real ledgers do, so a fail from an attempt
        // whose lease was taken unseen (a heartbeat answer lost) is refused, not queued again
        // (stale-lease-writes.test.ts replays the case seed -1960025633 found).
        for (const count of result.ledger.committed.values()) expect(count).toBe(1);
        for (const [jobId, attempt] of result.ledger.completedBy)
          expect(result.ledger.attempts.get(jobId), `${jobId} claimed again after it was done`).toBe(attempt);
      }),
      runs,
    );
  });

  it('retries a chunk or a part in place: no chunk is decoded twice or fetched after its decode, within one lease', () => {
    fc.assert(
      fc.property(
        scenarioArbitrary({ faults: faultsArbitrary.map((faults) => ({ ...faults, retryable: 0.3, permanent: 0 })) }),
        (scenario) => {
          const decoded = new Set<string>();
          const uploaded = new Map<string, string>();
          const attempts = new Map<string, number>();
          runScenario(scenario, (_state, record) => {
            for (const input of inputsOf(record, 'jobsClaimed'))
              for (const job of input.jobs) attempts.set(job.jobId, job.attempt);
            for (const fetch of commandsOf(record, 'fetchChunk'))
              expect(decoded.has(`${fetch.jobId}@${attempts.get(fetch.jobId)}#${fetch.chunkIndex}`)).toBe(false);
            for (const decode of commandsOf(record, 'decodeChunk')) {
              const key = `${decode.jobId}@${attempts.get(decode.jobId)}#${decode.chunkIndex}`;
              expect(decoded.has(key)).toBe(false);
              decoded.add(key);
            }
            for (const upload of commandsOf(record, 'uploadPart')) {
              // A retried part is the same bytes: same number, same range.
              const key = `${upload.jobId}@${attempts.get(upload.jobId)}#${upload.partNumber}`;
              const range = `${upload.offsetBytes}+${upload.lengthBytes}`;
              expect(uploaded.get(key) ?? range).toBe(range);
              uploaded.set(key, range);
            }
          });
        },
      ),
      runs,
    );
  });

  it('runs one CPU task a lane at a time, and every CPU task of a job on the lane it was pinned to', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const laneOfTask = new Map<number, number>();
        const busyLanes = new Set<number>();
        const laneOfJob = new Map<string, number>();
        const attempts = new Map<string, number>();
        runScenario(scenario, (_state, record) => {
          for (const input of inputsOf(record, 'jobsClaimed'))
            for (const job of input.jobs) attempts.set(job.jobId, job.attempt);
          for (const input of record.inputs) {
            const lane = 'taskId' in input ? laneOfTask.get(input.taskId) : undefined;
            if (lane === undefined || !('taskId' in input)) continue;
            busyLanes.delete(lane);
            laneOfTask.delete(input.taskId);
          }
          for (const command of record.commands) {
            if (command.kind !== 'decodeChunk' && command.kind !== 'encodeRowGroup') continue;
            expect(command.cpuLane).toBeGreaterThanOrEqual(0);
            expect(command.cpuLane).toBeLessThan(scenario.limits.cpuSlotsMax);
            expect(busyLanes.has(command.cpuLane)).toBe(false);
            busyLanes.add(command.cpuLane);
            laneOfTask.set(command.taskId, command.cpuLane);
            const job = `${command.jobId}@${attempts.get(command.jobId)}`;
            expect(laneOfJob.get(job) ?? command.cpuLane).toBe(command.cpuLane);
            laneOfJob.set(job, command.cpuLane);
          }
        });
      }),
      runs,
    );
  });

  it('serves the oldest job first within a stage under the weighted policy', () => {
    fc.assert(
      fc.property(
        scenarioArbitrary().filter((scenario) => scenario.limits.policy === 'weighted'),
        (scenario) => {
          runScenario(scenario, (state, record) => {
            for (const command of record.commands) {
              if (!taskKinds.has(command.kind) || command.kind === 'fetchChunk') continue;
              const job = state.jobs.get(jobOf(command as TaskCommand));
              if (job === undefined) continue;
              const stage = stageOfCommand[command.kind as keyof typeof stageOfCommand];
              for (const waiting of queuedEntries(state, stage)) {
                if (waiting.job.ended || job.seq <= waiting.job.seq) continue;
                // An older job is passed over only while its CPU lane is busy (core/cpu-lanes.ts).
                expect(stage === 'decode' || stage === 'encode').toBe(true);
                expect(waiting.job.cpuLane).toBeGreaterThanOrEqual(0);
                expect(state.laneBusy[waiting.job.cpuLane]).toBe(true);
              }
            }
          });
        },
      ),
      runs,
    );
  });

  it('commits exactly the rows the decoder produced, and reports counters that add up', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const rowsDecoded = new Map<string, number>();
        const taskJob = new Map<number, string>();
        const result = runScenario(scenario, (_state, record) => {
          for (const decode of commandsOf(record, 'decodeChunk')) taskJob.set(decode.taskId, decode.jobId);
          for (const decoded of inputsOf(record, 'chunkDecoded')) {
            const jobId = taskJob.get(decoded.taskId) as string;
            rowsDecoded.set(jobId, (rowsDecoded.get(jobId) ?? 0) + decoded.rows);
          }
        });
        const commits = result.trace.flatMap((record) => commandsOf(record, 'commitJob'));
        for (const commit of commits) expect(commit.summary.rows).toBe(rowsDecoded.get(commit.lease.jobId));
        const committedRows = commits.reduce((sum, commit) => sum + commit.summary.rows, 0);
        expect(result.state.counters.rows).toBe(committedRows);
        expect(result.state.counters.jobsCommitted).toBe(scenario.jobSizesBytes.length);
      }),
      runs,
    );
  });
});

const stageOfCommand = {
  fetchChunk: 'fetch',
  decodeChunk: 'decode',
  encodeRowGroup: 'encode',
  uploadPart: 'upload',
  completeObject: 'commit',
  commitJob: 'commit',
} as const satisfies Record<string, Stage>;

function checkEveryJobEndsOnce(result: RunResult): void {
  const claimed = new Map<string, number>();
  const ended = new Map<string, number>();
  for (const record of result.trace) {
    for (const input of inputsOf(record, 'jobsClaimed'))
      for (const job of input.jobs) claimed.set(`${job.jobId}@${job.attempt}`, 0);
    // A job's attempt is named by the latest claim of it.
    for (const command of commandsOf(record, 'jobEnded')) {
      const attempt = [...claimed.keys()].filter((key) => key.startsWith(`${command.jobId}@`)).length;
      const key = `${command.jobId}@${attempt}`;
      ended.set(key, (ended.get(key) ?? 0) + 1);
    }
  }
  for (const key of claimed.keys()) expect(ended.get(key), `job ${key}`).toBe(1);
}

function checkPerJobOrder(scenario: Scenario, result: RunResult): void {
  const limits = scenario.limits;
  interface JobTrace {
    nextDecode: number;
    decodeRunning: boolean;
    fetched: Set<number>;
    nextRowGroup: number;
    encodeRunning: boolean;
    lastDecodeDone: boolean;
    finalEncoded: boolean;
    partEnd: number;
    parts: Map<number, CommandOf<'uploadPart'>>;
    uploaded: Set<number>;
    committed: boolean;
    objectCompleted: boolean;
  }
  const jobs = new Map<string, JobTrace>();
  const tasks = new Map<number, { jobId: string; command: TaskCommand }>();
  const fresh = (): JobTrace => ({
    nextDecode: 0,
    decodeRunning: false,
    fetched: new Set(),
    nextRowGroup: 0,
    encodeRunning: false,
    lastDecodeDone: false,
    finalEncoded: false,
    partEnd: 0,
    parts: new Map(),
    uploaded: new Set(),
    committed: false,
    objectCompleted: false,
  });
  for (const record of result.trace) {
    for (const input of inputsOf(record, 'jobsClaimed')) for (const job of input.jobs) jobs.set(job.jobId, fresh());
    for (const input of record.inputs) {
      if (!('taskId' in input)) continue;
      const task = tasks.get(input.taskId);
      if (task === undefined) continue;
      const job = jobs.get(task.jobId) as JobTrace;
      const command = task.command;
      const ok = input.kind !== 'taskFailed';
      if (command.kind === 'fetchChunk' && ok) job.fetched.add(command.chunkIndex);
      if (command.kind === 'decodeChunk') {
        job.decodeRunning = false;
        if (ok && command.final) job.lastDecodeDone = true;
      }
      if (command.kind === 'encodeRowGroup') {
        job.encodeRunning = false;
        if (ok && command.final) job.finalEncoded = true;
      }
      if (command.kind === 'uploadPart' && ok) job.uploaded.add(command.partNumber);
      if (command.kind === 'completeObject' && ok) job.objectCompleted = true;
    }
    for (const command of record.commands) {
      if (!taskKinds.has(command.kind)) continue;
      const task = command as TaskCommand;
      const job = jobs.get(jobOf(task)) as JobTrace;
      tasks.set(task.taskId, { jobId: jobOf(task), command: task });
      if (task.kind === 'decodeChunk') {
        expect(task.chunkIndex).toBe(job.nextDecode);
        expect(job.decodeRunning).toBe(false);
        expect(job.fetched.has(task.chunkIndex)).toBe(true);
        job.nextDecode += 1;
        job.decodeRunning = true;
      } else if (task.kind === 'encodeRowGroup') {
        expect(task.rowGroupIndex).toBe(job.nextRowGroup);
        expect(job.encodeRunning).toBe(false);
        if (task.final) expect(job.lastDecodeDone).toBe(true);
        job.nextRowGroup += 1;
        job.encodeRunning = true;
      } else if (task.kind === 'uploadPart') {
        const known = job.parts.get(task.partNumber);
        if (known === undefined) {
          expect(task.partNumber).toBe(job.parts.size + 1);
          expect(task.offsetBytes).toBe(job.partEnd);
          if (!task.final) expect(task.lengthBytes).toBeGreaterThanOrEqual(limits.partBytesMin);
          expect(task.partNumber).toBeLessThanOrEqual(limits.partsMax);
          job.parts.set(task.partNumber, task);
          job.partEnd += task.lengthBytes;
        }
      } else if (task.kind === 'completeObject') {
        expect(job.finalEncoded).toBe(true);
        expect(job.uploaded.size).toBe(job.parts.size);
        expect(job.objectCompleted, 'an object completed twice').toBe(false);
      } else if (task.kind === 'commitJob') {
        expect(job.objectCompleted, 'a ledger write before its object was complete').toBe(true);
        expect(task.summary.outputBytes).toBe(job.partEnd);
      }
    }
  }
}

function checkNoCommitAfterLostLease(scenario: Scenario, result: RunResult): void {
  const { leaseMs, leaseSafetyMs } = scenario.limits;
  const lease = new Map<string, { validUntilMs: number; lost: boolean }>();
  let claimSentAtMs = 0;
  const heartbeatLeases = new Map<number, string[]>();
  for (const record of result.trace) {
    for (const input of record.inputs) {
      if (input.kind === 'jobsClaimed')
        for (const job of input.jobs) lease.set(job.jobId, { validUntilMs: claimSentAtMs + leaseMs, lost: false });
      if (input.kind === 'leaseLost') {
        const known = lease.get(input.jobId);
        if (known) known.lost = true;
      }
      if (input.kind === 'leasesRenewed') {
        for (const jobId of input.jobIds) {
          const known = lease.get(jobId);
          if (known && (heartbeatLeases.get(input.sentAtMs) ?? []).includes(jobId))
            known.validUntilMs = Math.max(known.validUntilMs, input.sentAtMs + leaseMs);
        }
      }
    }
    for (const command of record.commands) {
      if (command.kind === 'claimJobs') claimSentAtMs = record.nowMs;
      if (command.kind === 'heartbeat')
        heartbeatLeases.set(
          command.sentAtMs,
          command.leases.map((held) => held.jobId),
        );
      if (command.kind === 'commitJob' || command.kind === 'completeObject') {
        const jobId = command.kind === 'commitJob' ? command.lease.jobId : command.jobId;
        const known = lease.get(jobId);
        expect(known?.lost, `commit of ${jobId} after its lease was lost`).toBe(false);
        expect(record.nowMs).toBeLessThan((known?.validUntilMs ?? 0) - leaseSafetyMs);
      }
    }
  }
}

/** What one claim of a job (jobs are claimed again after a failure) did of its one-off tasks. */
interface OneOffTrace {
  sized: boolean;
  starts: number;
  started: boolean;
  parts: { partNumber: number; lengthBytes: number; final: boolean }[];
}

/**
 * Per claim of a job: no chunk fetched before its size came (for a job claimed without one);
 * a start at most once in flight and never again once done; no part uploaded before the start
 * is done; and a job whose parts were uploaded started its upload exactly when it has more than
 * one part or a first part of at least `partBytesMin`.
 */
function checkOneOffTasks(scenario: Scenario, result: RunResult): void {
  const live = new Map<string, OneOffTrace>();
  const taskJob = new Map<number, string>();
  const ended: OneOffTrace[] = [];
  for (const record of result.trace) {
    for (const input of record.inputs) {
      if (input.kind === 'inputSized') (live.get(taskJob.get(input.taskId) ?? '') as OneOffTrace).sized = true;
      if (input.kind === 'uploadStarted') (live.get(taskJob.get(input.taskId) ?? '') as OneOffTrace).started = true;
    }
    for (const command of record.commands) {
      if (command.kind === 'jobEnded') {
        const trace = live.get(command.jobId);
        if (trace !== undefined && command.outcome === 'committed') ended.push(trace);
        live.delete(command.jobId);
        continue;
      }
      if (!('taskId' in command) || command.kind === 'commitJob') continue;
      let trace = live.get(command.jobId);
      if (trace === undefined) {
        trace = { sized: !scenario.unsized, starts: 0, started: false, parts: [] };
        live.set(command.jobId, trace);
      }
      taskJob.set(command.taskId, command.jobId);
      if (command.kind === 'fetchChunk') expect(trace.sized, `fetch of ${command.jobId} before its size`).toBe(true);
      if (command.kind === 'startUpload') {
        expect(trace.started, `start of ${command.jobId} after it started`).toBe(false);
        trace.starts += 1;
      }
      if (command.kind === 'uploadPart') {
        if (trace.starts > 0) expect(trace.started, `part of ${command.jobId} before its start`).toBe(true);
        if (!trace.parts.some((part) => part.partNumber === command.partNumber)) trace.parts.push(command);
      }
    }
  }
  for (const trace of ended) {
    const first = trace.parts.find((part) => part.partNumber === 1);
    const needsStart =
      trace.parts.length > 1 || (first !== undefined && first.lengthBytes >= scenario.limits.partBytesMin);
    expect(trace.started).toBe(needsStart);
  }
}
