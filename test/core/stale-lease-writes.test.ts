/**
 * A worker can fail a job whose lease another worker has taken, without knowing it: the
 * heartbeat that would have reported the lease lost went unanswered, and the lease is still
 * within the time the worker trusts it for. The ledger must refuse that stale write, as the
 * real ledgers do (their writes are fenced by attempt and lease; ledger-contract.ts checks it
 * on PostgreSQL and the embedded ledger). fast-check found this case (seed -1960025633 of the
 * lost-lease property in scheduler-properties.test.ts): the scripted driver's ledger took the
 * stale fail, queued the stolen job a second time, and the two attempts claimed from those
 * entries each committed the input. Replayed here as an explicit scenario.
 */
import { describe, expect, it } from 'vitest';
import type { Command, CommandOf } from '../../core/commands.ts';
import { remoteFault, type Failure } from '../../core/failure.ts';
import { withLimits } from '../../core/limits.ts';
import { FakeLedger, noFaults, runScenario, type RunResult, type Scenario } from './scripted-driver.ts';

const mebibyte = 1024 * 1024;
/** One job at a time, one try a task: the first failed HEAD fails the job. */
const limits = withLimits({
  leaseMs: 20_000,
  heartbeatIntervalMs: 5_000,
  leaseSafetyMs: 2_000,
  taskAttemptsMax: 1,
  throttledAttemptsMax: 1,
  jobsActiveMax: 1,
  claimBatchMax: 1,
  chunkBytes: mebibyte,
  partBytes: 5 * mebibyte,
});

/**
 * The first HEAD takes 6 s, so the heartbeat at 5 s comes while it is out: that heartbeat's
 * lease is taken by another worker and its answer is lost; then the HEAD fails.
 */
function staleFailScenario(): Scenario {
  let headsFailed = 0;
  return {
    limits,
    jobSizesBytes: [mebibyte],
    seed: 11,
    durationMs: { fetch: [6_000, 6_000], decode: [5, 20], encode: [5, 20], upload: [5, 20], commit: [1, 5] },
    faults: noFaults,
    rowsPerByte: 1 / 1_000,
    rowBytesPerByte: 0.5,
    encodedPerRowByte: 0.5,
    unsized: true,
    oneOffFailure: (kind): Failure | null => {
      if (kind !== 'sizeInput' || headsFailed > 0) return null;
      headsFailed += 1;
      return remoteFault('HEAD: connection reset');
    },
    leasesStolenAt: (beat) => beat === 1,
    heartbeatAnswered: (beat) => beat !== 1,
  };
}

function commandsOf<K extends Command['kind']>(result: RunResult, kind: K): CommandOf<K>[] {
  return result.trace.flatMap((record) =>
    record.commands.filter((command): command is CommandOf<K> => command.kind === kind),
  );
}

describe('a write from an attempt whose lease was taken unseen', () => {
  it('refuses the stale fail, so the job is queued once and committed once, by the attempt that took it', () => {
    const result = runScenario(staleFailScenario());
    expect(result.finished).toBe(true);
    // One claim after the steal, and it is the one that commits; nothing is claimed after.
    expect(result.ledger.attempts.get('job-0')).toBe(2);
    expect(result.ledger.completedBy.get('job-0')).toBe(2);
    expect(result.ledger.committed.get('job-0')).toBe(1);
    expect(commandsOf(result, 'commitJob').map((commit) => commit.lease.attempt)).toEqual([2]);
    expect(result.ledger.failed.size).toBe(0);
    // The scenario reaches the case: attempt 1 failed the job after its lease was taken.
    const fails = commandsOf(result, 'failJob');
    expect(fails.map((fail) => fail.lease)).toEqual([{ jobId: 'job-0', attempt: 1 }]);
    expect(result.ledger.failRefused).toEqual(['job-0']);
    expect(commandsOf(result, 'heartbeat')[0]?.leases).toEqual([{ jobId: 'job-0', attempt: 1 }]);
  });

  it("the driver's ledger refuses a fail or a commit from an attempt that no longer holds the lease", () => {
    const ledger = new FakeLedger([mebibyte]);
    const first = ledger.claim(1, 0, limits.leaseMs).jobs[0];
    expect(first?.attempt).toBe(1);
    ledger.steal('job-0', 1, 1_000);
    expect(ledger.fail('job-0', 1, true, 1_000)).toBe(false);
    expect(ledger.queue).toEqual(['job-0']);
    const second = ledger.claim(1, 2_000, limits.leaseMs).jobs[0];
    expect(second?.attempt).toBe(2);
    expect(ledger.complete('job-0', 1, 2_000)).toBe(false);
    expect(ledger.fail('job-0', 1, true, 2_000)).toBe(false);
    expect(ledger.complete('job-0', 2, 2_000)).toBe(true);
    expect(ledger.fail('job-0', 2, true, 2_000)).toBe(false);
    expect(ledger.queue).toEqual([]);
    expect(ledger.committed.get('job-0')).toBe(1);
  });
});
