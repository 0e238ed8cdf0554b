/**
 * Proves what the embedded ledger's journal rests on: the records a ledger machine's
 * operations return rebuild it. A machine restored from the records written so far (the
 * journal as replayed), or from its snapshot (the journal after compaction), answers every
 * later operation as the original does, claim order included, for random sequences of
 * operations by several workers on a clock that moves. Also that stale queue entries (one per
 * renewal) are dropped, so claims stay right under many heartbeats.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { inputFault, remoteFault } from '../../core/failure.ts';
import type { InputRef, Lease } from '../../core/input-ref.ts';
import type { EnqueuedJob } from '../../core/ledger.ts';
import { LedgerMachine, type LedgerRecord } from '../../core/ledger-machine.ts';

const schedule = { attemptsMax: 3, retryBaseMs: 500, retryCapMs: 800 };
const runIds = ['run-a', 'run-b'];

function job(index: number): EnqueuedJob {
  const input: InputRef = {
    uri: `s3://bucket/${index}.warc.gz`,
    filename: `${index}.warc.gz`,
    sizeBytes: 100 + index,
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    segment: null,
  };
  // Inputs 8 and 9 share their output keys with 0 and 1.
  return { jobId: `job-${index}`, input, sizeBytes: input.sizeBytes ?? null, outputKey: `out/${index % 8}.parquet` };
}

type Operation =
  | { readonly kind: 'enqueue'; readonly run: number; readonly picks: readonly number[] }
  | {
      readonly kind: 'claim';
      readonly run: number;
      readonly worker: number;
      readonly count: number;
      readonly leaseMs: number;
    }
  | { readonly kind: 'heartbeat'; readonly run: number; readonly worker: number; readonly pick: number }
  | { readonly kind: 'complete' | 'release' | 'fail' | 'throttle'; readonly run: number; readonly pick: number }
  | { readonly kind: 'reclaim' | 'retryFailed'; readonly run: number }
  | { readonly kind: 'progress'; readonly run: number; readonly worker: number }
  | { readonly kind: 'advance'; readonly ms: number };

const run = fc.nat({ max: runIds.length - 1 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('enqueue' as const), run, picks: fc.array(fc.nat({ max: 9 }), { maxLength: 5 }) }),
  fc.record({
    kind: fc.constant('claim' as const),
    run,
    worker: fc.nat({ max: 2 }),
    count: fc.integer({ min: 1, max: 4 }),
    leaseMs: fc.constantFrom(50, 1_000),
  }),
  fc.record({ kind: fc.constant('heartbeat' as const), run, worker: fc.nat({ max: 2 }), pick: fc.nat({ max: 5 }) }),
  fc.record({ kind: fc.constantFrom('complete', 'release', 'fail', 'throttle'), run, pick: fc.nat({ max: 5 }) }),
  fc.record({ kind: fc.constantFrom('reclaim', 'retryFailed'), run }),
  fc.record({ kind: fc.constant('progress' as const), run, worker: fc.nat({ max: 2 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1_200 }) }),
);

/** A machine, its clock and the leases it handed out, newest last. */
interface Subject {
  readonly machine: LedgerMachine;
  readonly records: LedgerRecord[];
  readonly leases: Lease[][];
  nowMs: number;
}

function leaseOf(subject: Subject, runIndex: number, pick: number): Lease {
  const leases = subject.leases[runIndex] ?? [];
  return leases[leases.length - 1 - (pick % Math.max(leases.length, 1))] ?? { jobId: 'job-0', attempt: 1 };
}

/** Applies one operation; returns its answer, for comparison. */
function apply(subject: Subject, op: Operation): unknown {
  if (op.kind === 'advance') {
    subject.nowMs += op.ms;
    return null;
  }
  const runId = runIds[op.run]!;
  const { machine, nowMs } = subject;
  const outcome = (() => {
    switch (op.kind) {
      case 'enqueue':
        return machine.enqueue(runId, op.picks.map(job), undefined, nowMs);
      case 'claim':
        return machine.claim(runId, `w${op.worker}`, op.count, op.leaseMs, nowMs);
      case 'heartbeat':
        return machine.heartbeat(runId, `w${op.worker}`, [leaseOf(subject, op.run, op.pick)], 1_000, nowMs);
      case 'complete':
        return machine.complete(runId, leaseOf(subject, op.run, op.pick), resultOf(op.pick), nowMs);
      case 'release':
        return machine.release(runId, leaseOf(subject, op.run, op.pick), nowMs);
      case 'fail':
        return machine.fail(runId, leaseOf(subject, op.run, op.pick), inputFault('broken'), nowMs);
      case 'throttle':
        return machine.fail(runId, leaseOf(subject, op.run, op.pick), remoteFault('503', { throttled: true }), nowMs);
      case 'reclaim':
        return machine.reclaimExpired(runId, nowMs);
      case 'retryFailed':
        return machine.retryFailed(runId, nowMs);
      case 'progress':
        return machine.progress(
          runId,
          { workerId: `w${op.worker}`, currentInput: null, records: 1, bytes: 2, badRecords: 0, status: 'running' },
          nowMs,
        );
    }
  })();
  subject.records.push(...outcome.records);
  if (op.kind === 'claim') {
    const claimed = (outcome.answer as unknown as { jobs: Lease[] }).jobs;
    subject.leases[op.run]?.push(...claimed.map(({ jobId, attempt }) => ({ jobId, attempt })));
  }
  return outcome.answer;
}

/** A result as a worker sends it: every counter field present, no zero counts (a replay reads other shapes into this one). */
function resultOf(rows: number) {
  const counters = { byType: {}, badByReason: { other: rows + 1 }, skippedByReason: {}, warningByReason: {} };
  return { rows, inputBytes: rows * 10, outputBytes: rows, counters };
}

function fresh(): Subject {
  return { machine: new LedgerMachine(schedule), records: [], leases: runIds.map(() => []), nowMs: 1_000_000 };
}

/** A machine rebuilt from records, with the original's clock and leases. */
function restored(original: Subject, records: readonly LedgerRecord[]): Subject {
  const subject = fresh();
  for (const record of records) subject.machine.restore(JSON.parse(JSON.stringify(record)) as LedgerRecord);
  subject.nowMs = original.nowMs;
  original.leases.forEach((leases, index) => subject.leases[index]?.push(...leases));
  return subject;
}

function everything(subject: Subject) {
  return runIds.map((runId) => ({
    stats: subject.machine.stats(runId),
    listing: subject.machine.runListing(runId),
    jobs: Array.from({ length: 10 }, (_, index) => subject.machine.job(runId, `job-${index}`) ?? null),
    progress: subject.machine.workerProgress(runId),
  }));
}

describe('ledger machine', () => {
  test('restored from its records or its snapshot, it answers every later operation as the original', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), fc.array(operation, { maxLength: 60 }), (before, after) => {
        const original = fresh();
        for (const op of before) apply(original, op);
        const fromJournal = restored(original, original.records);
        const fromSnapshot = restored(original, original.machine.snapshot());
        expect(fromSnapshot.machine.snapshotRecordCount()).toBe(original.machine.snapshotRecordCount());
        for (const op of after) {
          const answer = apply(original, op);
          expect(apply(fromJournal, op), JSON.stringify(op)).toEqual(answer);
          expect(apply(fromSnapshot, op), JSON.stringify(op)).toEqual(answer);
        }
        expect(everything(fromJournal)).toEqual(everything(original));
        expect(everything(fromSnapshot)).toEqual(everything(original));
      }),
      { numRuns: 300 },
    );
  });

  test('many renewals leave the claims right: stale queue entries are dropped', () => {
    const machine = new LedgerMachine(schedule);
    machine.enqueue('run', [job(0), job(1)], undefined, 0);
    const [held] = machine.claim('run', 'w0', 1, 100, 0).answer.jobs;
    // 10,000 renewals, each leaving a stale entry behind, well past the rebuild slack.
    for (let nowMs = 1; nowMs <= 10_000; nowMs += 1) {
      expect(machine.heartbeat('run', 'w0', [held!], 100, nowMs).answer.renewed).toEqual([held!.jobId]);
    }
    expect(machine.claim('run', 'w1', 2, 1_000, 10_000).answer.jobs.map((claimed) => claimed.jobId)).toEqual(['job-1']);
    // Neither the first lease's old ends nor its renewals make it claimable before its last end.
    expect(machine.claim('run', 'w1', 2, 100, 10_099).answer.jobs).toEqual([]);
    expect(machine.claim('run', 'w1', 2, 100, 10_100).answer.jobs.map((claimed) => claimed.jobId)).toEqual(['job-0']);
  });
});
