/**
 * The Ledger port's contract, registered against any implementation: idempotent enqueue;
 * claims that hand each job out once, with its size, output key and a fencing attempt;
 * complete, fail, release and heartbeat refused to anyone but the current, unexpired holder,
 * except that complete answers done again to the attempt that completed the job (idempotent);
 * expired leases taken over by others (and charged); retries after retryBaseMs × 2^(n − 1)
 * that stop at attemptsMax; release that charges nothing; `exhausted` only when nothing is
 * pending, leased or waiting for a retry; progress rows and stats; an output key held once per
 * run (a second input refused, naming both, the rest of its batch enqueued); `retryFailed`
 * resetting failed jobs and nothing else; the runs listed with their origin and counts.
 *
 * Time is virtual: every ledger is opened with `nowMs` read from the contract's clock (the
 * PostgreSQL ledger hands it to its SQL as the session's `cc_ledger.now_ms`), and the
 * contract's waits advance that clock instead of sleeping, so no test waits for a lease to run
 * out. A ledger with a clock of its own (the simulator's) passes it as a `ContractClock`.
 *
 * Use: `registerLedgerContract('name', (options) => openTheLedger(options))` in a test file.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InputRef, Lease } from '../../core/input-ref.ts';
import type { JobResult } from '../../core/ledger.ts';
import { remoteFault, inputFault } from '../../core/failure.ts';
import type { InspectableLedger, LedgerOptions } from '../../adapters/ledger/ledger-options.ts';

export type LedgerFactory = (options: LedgerOptions) => Promise<InspectableLedger>;

/** The schedule every implementation is held to here: retries after 500 ms, then 800 ms (capped), then failed. */
export const contractOptions: LedgerOptions = {
  outputKeyOf: (input) => `out/${input.filename.replace(/\.warc\.gz$/, '')}.parquet`,
  attemptsMax: 3,
  retryBaseMs: 500,
  retryCapMs: 800,
};

const longLeaseMs = 60_000;
const shortLeaseMs = 300;

export function contractInputs(count: number, prefix = 'file'): InputRef[] {
  return Array.from({ length: count }, (_, index) => ({
    uri: `s3://bucket/${prefix}-${index}.warc.gz`,
    filename: `${prefix}-${index}.warc.gz`,
    sizeBytes: 1_000 + index,
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    segment: null,
  }));
}

export const someResult: JobResult = {
  rows: 10,
  inputBytes: 1_000,
  outputBytes: 200,
  counters: {
    byType: { response: 12 },
    badByReason: { truncated_gzip_member: 1 },
    skippedByReason: { not_http_capture: 2 },
    warningByReason: { unreadable_warc_date: 1 },
  },
};

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function leaseOf(job: { jobId: string; attempt: number }): Lease {
  return { jobId: job.jobId, attempt: job.attempt };
}

let runCounter = 0;
function freshRunId(): string {
  runCounter += 1;
  return `contract-${process.pid}-${Date.now()}-${runCounter}`;
}

/**
 * The time the contract waits in. Real by default; a ledger on simulated time (the simulator's)
 * passes a clock whose `sleep` advances its own time instead.
 */
export interface ContractClock {
  nowMs(): number;
  sleep(milliseconds: number): Promise<void>;
}

/** A clock that moves only when told: `sleep` advances it at once. */
export function virtualClock(startMs: number): ContractClock & { advance(milliseconds: number): void } {
  let nowMs = startMs;
  return {
    nowMs: () => nowMs,
    advance: (milliseconds) => {
      nowMs += milliseconds;
    },
    sleep: async (milliseconds) => {
      nowMs += milliseconds;
    },
  };
}

/** 2026-01-01T00:00:00Z: a whole second, so the database's timestamps hold the clock's values exactly. */
export const contractEpochMs = 1_767_225_600_000;

export function registerLedgerContract(
  name: string,
  factory: LedgerFactory,
  clock: ContractClock = virtualClock(contractEpochMs),
): void {
  describe(`Ledger contract: ${name}`, () => {
    let ledger: InspectableLedger;
    beforeAll(async () => {
      ledger = await factory({ ...contractOptions, nowMs: () => clock.nowMs() });
    });
    afterAll(async () => {
      await ledger?.close();
    });

    test('enqueue is idempotent, counts only new inputs and refuses an invalid size', async () => {
      const runId = freshRunId();
      expect(await ledger.enqueue(runId, contractInputs(5))).toEqual({ added: 5, collisions: [] });
      expect((await ledger.enqueue(runId, contractInputs(7))).added).toBe(2);
      expect(await ledger.enqueue(runId, [...contractInputs(3), ...contractInputs(3)])).toEqual({
        added: 0,
        collisions: [],
      });
      const [negative] = contractInputs(1, 'negative');
      await expect(ledger.enqueue(runId, [{ ...negative!, sizeBytes: -1 }])).rejects.toThrow(/sizeBytes/);
      await expect(ledger.enqueue(runId, [{ ...negative!, sizeBytes: 1.5 }])).rejects.toThrow(/sizeBytes/);
      expect(await ledger.stats(runId)).toMatchObject({ pending: 7, claimed: 0, done: 0, failed: 0, remaining: 7 });
    });

    test('takes an input without a size and hands it out with a null size, for the claiming worker to ask', async () => {
      const runId = freshRunId();
      const [sized, unsized] = contractInputs(2, 'manifest');
      const { sizeBytes: _listed, ...sizeless } = unsized!;
      expect((await ledger.enqueue(runId, [sized!, sizeless])).added).toBe(2);
      const { jobs } = await ledger.claim(runId, 'worker-a', 2, longLeaseMs);
      const byUri = new Map(jobs.map((job) => [job.input.uri, job]));
      expect(byUri.get(sized!.uri)?.sizeBytes).toBe(sized!.sizeBytes);
      expect(byUri.get(sizeless.uri)?.sizeBytes).toBeNull();
      expect(byUri.get(sizeless.uri)?.input).toEqual(sizeless);
    });

    test('claims hand every job out once, with its input, size, output key and attempt 1', async () => {
      const runId = freshRunId();
      const inputs = contractInputs(5);
      await ledger.enqueue(runId, inputs);
      const first = await ledger.claim(runId, 'worker-a', 3, longLeaseMs);
      const second = await ledger.claim(runId, 'worker-b', 3, longLeaseMs);
      expect(first.jobs).toHaveLength(3);
      expect(second.jobs).toHaveLength(2);
      const all = [...first.jobs, ...second.jobs];
      expect(new Set(all.map((job) => job.input.uri))).toEqual(new Set(inputs.map((input) => input.uri)));
      for (const job of all) {
        const input = inputs.find((candidate) => candidate.uri === job.input.uri)!;
        expect(job).toMatchObject({
          attempt: 1,
          sizeBytes: input.sizeBytes,
          outputKey: contractOptions.outputKeyOf(input),
        });
        expect(job.input).toEqual(input);
      }
      const third = await ledger.claim(runId, 'worker-c', 3, longLeaseMs);
      expect(third).toEqual({ jobs: [], exhausted: false });
      expect(await ledger.stats(runId)).toMatchObject({ pending: 0, claimed: 5, remaining: 5 });
      for (const job of all) expect(await ledger.complete(runId, leaseOf(job), someResult)).toBe(true);
      expect(await ledger.claim(runId, 'worker-c', 3, longLeaseMs)).toEqual({ jobs: [], exhausted: true });
    });

    test('complete is fenced: a wrong attempt is refused, before and after the job is done; stats add up the results', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(2));
      const { jobs } = await ledger.claim(runId, 'worker-a', 2, longLeaseMs);
      const [first, second] = [jobs[0]!, jobs[1]!];
      expect(await ledger.complete(runId, { jobId: first.jobId, attempt: first.attempt + 1 }, someResult)).toBe(false);
      expect(await ledger.complete(runId, { jobId: 'no-such-job', attempt: 1 }, someResult)).toBe(false);
      expect(await ledger.complete(runId, leaseOf(first), someResult)).toBe(true);
      expect(await ledger.complete(runId, { jobId: first.jobId, attempt: first.attempt + 1 }, someResult)).toBe(false);
      expect(await ledger.complete(runId, { jobId: first.jobId, attempt: first.attempt - 1 }, someResult)).toBe(false);
      expect(await ledger.fail(runId, leaseOf(first), inputFault('late'))).toBe(false);
      expect(await ledger.release(runId, leaseOf(first))).toBe(false);
      expect(await ledger.complete(runId, leaseOf(second), { ...someResult, rows: 5, inputBytes: 500 })).toBe(true);
      expect(await ledger.stats(runId)).toEqual({
        pending: 0,
        claimed: 0,
        done: 2,
        failed: 0,
        remaining: 0,
        inputBytesDone: 1_500,
        rowsDone: 15,
        badRecordsDone: 2,
        skippedRecordsDone: 4,
        recordWarningsDone: 2,
        badByReasonDone: { truncated_gzip_member: 2 },
        skippedByReasonDone: { not_http_capture: 4 },
        warningByReasonDone: { unreadable_warc_date: 2 },
      });
    });

    test('complete is idempotent for the attempt that did it: its retry answers done and changes nothing', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      const job = (await ledger.claim(runId, 'worker-a', 1, shortLeaseMs)).jobs[0]!;
      expect(await ledger.complete(runId, leaseOf(job), someResult)).toBe(true);
      // The answer of the first write was lost (a connection dropped after COMMIT): the same
      // attempt writes again, even after its lease would have run out, and hears "done".
      await clock.sleep(shortLeaseMs + 300);
      expect(await ledger.complete(runId, leaseOf(job), { ...someResult, rows: 99 })).toBe(true);
      expect(await ledger.jobStatus(runId, job.jobId)).toMatchObject({ state: 'done', attempt: 1, chargedAttempts: 1 });
      // The first write's result stands: the retry records nothing.
      expect(await ledger.stats(runId)).toMatchObject({ done: 1, rowsDone: someResult.rows, remaining: 0 });
      expect(await ledger.reclaimExpired(runId)).toBe(0);
      expect(await ledger.claim(runId, 'worker-b', 1, longLeaseMs)).toEqual({ jobs: [], exhausted: true });
    });

    test('an attempt that lost its lease is still refused once a later attempt has completed the job', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      const stale = (await ledger.claim(runId, 'worker-a', 1, shortLeaseMs)).jobs[0]!;
      await clock.sleep(shortLeaseMs + 300);
      const fresh = (await ledger.claim(runId, 'worker-b', 1, longLeaseMs)).jobs[0]!;
      expect(await ledger.complete(runId, leaseOf(fresh), someResult)).toBe(true);
      expect(await ledger.complete(runId, leaseOf(stale), someResult)).toBe(false);
      expect(await ledger.complete(runId, leaseOf(fresh), someResult)).toBe(true);
      expect(await ledger.jobStatus(runId, fresh.jobId)).toMatchObject({ state: 'done', attempt: 2 });
    });

    test('a job that failed or was released is not made done by a complete of its old attempt', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(2));
      const [failed, released] = (await ledger.claim(runId, 'worker-a', 2, longLeaseMs)).jobs;
      expect(await ledger.fail(runId, leaseOf(failed!), inputFault('not a WARC file'))).toBe(true);
      expect(await ledger.release(runId, leaseOf(released!))).toBe(true);
      expect(await ledger.complete(runId, leaseOf(failed!), someResult)).toBe(false);
      expect(await ledger.complete(runId, leaseOf(released!), someResult)).toBe(false);
      expect(await ledger.stats(runId)).toMatchObject({ done: 0, failed: 1, pending: 1 });
    });

    test('heartbeat renews the leases its worker holds and reports the rest lost', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(3));
      const { jobs } = await ledger.claim(runId, 'worker-a', 2, shortLeaseMs);
      const [held, fenced] = [jobs[0]!, jobs[1]!];
      const result = await ledger.heartbeat(
        runId,
        'worker-a',
        [leaseOf(held), { jobId: fenced.jobId, attempt: fenced.attempt + 1 }, { jobId: 'no-such-job', attempt: 1 }],
        longLeaseMs,
      );
      expect(result.renewed).toEqual([held.jobId]);
      expect(new Set(result.lost)).toEqual(new Set([fenced.jobId, 'no-such-job']));
      expect(await ledger.heartbeat(runId, 'worker-b', [leaseOf(held)], longLeaseMs)).toEqual({
        renewed: [],
        lost: [held.jobId],
      });
      await clock.sleep(shortLeaseMs + 300);
      // The renewed lease outlived its first 300 ms; the other expired and went to a new claimer.
      expect(await ledger.complete(runId, leaseOf(held), someResult)).toBe(true);
      const taken = await ledger.claim(runId, 'worker-b', 5, longLeaseMs);
      expect(taken.jobs.map((job) => job.jobId)).toContain(fenced.jobId);
    });

    test('an expired lease goes to another worker with a higher attempt; the stale holder is refused everything', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      const stale = (await ledger.claim(runId, 'worker-a', 1, shortLeaseMs)).jobs[0]!;
      await clock.sleep(shortLeaseMs + 300);
      // Expired but not yet reclaimed: already refused, the lease is over. A fail taken here would
      // put the job back while another worker may hold it, so it is refused like the complete.
      expect(await ledger.complete(runId, leaseOf(stale), someResult)).toBe(false);
      expect(await ledger.fail(runId, leaseOf(stale), remoteFault('503'))).toBe(false);
      expect(await ledger.release(runId, leaseOf(stale))).toBe(false);
      const fresh = (await ledger.claim(runId, 'worker-b', 1, longLeaseMs)).jobs[0]!;
      expect(fresh.jobId).toBe(stale.jobId);
      expect(fresh.attempt).toBe(stale.attempt + 1);
      expect(await ledger.complete(runId, leaseOf(stale), someResult)).toBe(false);
      expect(await ledger.fail(runId, leaseOf(stale), remoteFault('503'))).toBe(false);
      expect(await ledger.release(runId, leaseOf(stale))).toBe(false);
      expect(await ledger.heartbeat(runId, 'worker-a', [leaseOf(stale)], longLeaseMs)).toEqual({
        renewed: [],
        lost: [stale.jobId],
      });
      expect(await ledger.complete(runId, leaseOf(fresh), someResult)).toBe(true);
      expect(await ledger.jobStatus(runId, fresh.jobId)).toMatchObject({
        state: 'done',
        attempt: 2,
        chargedAttempts: 2,
      });
    });

    test('reclaimExpired makes expired leases claimable and counts them', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(3));
      await ledger.claim(runId, 'worker-a', 2, shortLeaseMs);
      await ledger.claim(runId, 'worker-b', 1, longLeaseMs);
      expect(await ledger.reclaimExpired(runId)).toBe(0);
      await clock.sleep(shortLeaseMs + 300);
      expect(await ledger.reclaimExpired(runId)).toBe(2);
      expect(await ledger.reclaimExpired(runId)).toBe(0);
      expect(await ledger.stats(runId)).toMatchObject({ pending: 2, claimed: 1 });
      expect((await ledger.claim(runId, 'worker-c', 5, longLeaseMs)).jobs).toHaveLength(2);
    });

    test('a non-retryable failure fails the job at once, with whose fault it was', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      const job = (await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).jobs[0]!;
      expect(await ledger.fail(runId, leaseOf(job), inputFault('not a WARC file'))).toBe(true);
      expect(await ledger.jobStatus(runId, job.jobId)).toMatchObject({
        state: 'failed',
        lastError: 'input: not a WARC file',
      });
      expect(await ledger.failedJobs(runId, 10)).toEqual([{ uri: job.input.uri, lastError: 'input: not a WARC file' }]);
      expect(await ledger.stats(runId)).toMatchObject({ failed: 1, remaining: 0 });
      expect(await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).toEqual({ jobs: [], exhausted: true });
    });

    test('retryable failures come back after 500 ms, then 800 ms, and fail for good at the third attempt', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      let job = (await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).jobs[0]!;
      for (const delayMs of [500, 800]) {
        const failedAtMs = clock.nowMs();
        expect(await ledger.fail(runId, leaseOf(job), remoteFault(`503 before ${delayMs}`, { throttled: true }))).toBe(
          true,
        );
        // Waiting for a retry is not the end of the run.
        expect(await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).toEqual({ jobs: [], exhausted: false });
        job = await claimWithin(runId, delayMs + 2_000);
        const waitedMs = clock.nowMs() - failedAtMs;
        expect(waitedMs).toBeGreaterThanOrEqual(delayMs - 5);
        expect(waitedMs).toBeLessThan(delayMs + 2_000);
      }
      expect(job.attempt).toBe(3);
      expect(await ledger.fail(runId, leaseOf(job), remoteFault('503 at the last attempt'))).toBe(true);
      expect(await ledger.jobStatus(runId, job.jobId)).toMatchObject({
        state: 'failed',
        chargedAttempts: 3,
        lastError: 'remote: 503 at the last attempt',
      });
      expect(await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).toEqual({ jobs: [], exhausted: true });
    });

    /** Polls every 25 ms, at most until `deadlineMs` has passed. */
    async function claimWithin(runId: string, deadlineMs: number) {
      const startMs = clock.nowMs();
      while (clock.nowMs() - startMs < deadlineMs) {
        const { jobs } = await ledger.claim(runId, 'worker-a', 1, longLeaseMs);
        if (jobs[0] !== undefined) return jobs[0];
        await clock.sleep(25);
      }
      throw new Error(`no job became claimable within ${deadlineMs} ms`);
    }

    test('release makes a job claimable at once and charges no attempt', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      for (let round = 0; round < 4; round += 1) {
        const job = (await ledger.claim(runId, `worker-${round}`, 1, longLeaseMs)).jobs[0]!;
        expect(job.attempt).toBe(round + 1);
        expect(await ledger.release(runId, leaseOf(job))).toBe(true);
      }
      const job = (await ledger.claim(runId, 'worker-last', 1, longLeaseMs)).jobs[0]!;
      expect(await ledger.jobStatus(runId, job.jobId)).toMatchObject({
        state: 'leased',
        attempt: 5,
        chargedAttempts: 1,
      });
      // Four releases later, a retryable failure is still only the first charged attempt.
      expect(await ledger.fail(runId, leaseOf(job), remoteFault('reset'))).toBe(true);
      expect(await ledger.jobStatus(runId, job.jobId)).toMatchObject({ state: 'pending' });
    });

    test('a lease that expires on the last allowed attempt fails the job instead of handing it out again', async () => {
      const runId = freshRunId();
      await ledger.enqueue(runId, contractInputs(1));
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        const { jobs } = await ledger.claim(runId, 'worker-dies', 1, shortLeaseMs);
        expect(jobs.map((job) => job.attempt)).toEqual([attempt]);
        await clock.sleep(shortLeaseMs + 200);
      }
      expect(await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).toEqual({ jobs: [], exhausted: true });
      expect(await ledger.stats(runId)).toMatchObject({ failed: 1, remaining: 0 });
    });

    test('progress keeps one row per worker, last write wins, with the current file bytes, size and rate; runs do not see each other', async () => {
      const runId = freshRunId();
      const otherRunId = freshRunId();
      await ledger.enqueue(runId, contractInputs(2));
      await ledger.enqueue(otherRunId, contractInputs(3));
      const base = {
        currentInput: 's3://bucket/file-0.warc.gz',
        records: 1_000,
        bytes: 5_000_000,
        badRecords: 1,
        status: 'running' as const,
      };
      const current = { currentBytes: 2_500_000, currentSizeBytes: null, bytesPerSecond: 1_250_000.5 };
      await ledger.progress(runId, { workerId: 'worker-b', ...base, ...current, currentSizeBytes: 9_000_000 });
      await ledger.progress(runId, { workerId: 'worker-a', ...base });
      await ledger.progress(runId, {
        workerId: 'worker-a',
        ...base,
        records: 2_000,
        currentInput: null,
        status: 'stopped',
        ...current,
      });
      expect(await ledger.workerProgress(runId)).toEqual([
        { workerId: 'worker-a', ...base, records: 2_000, currentInput: null, status: 'stopped', ...current },
        { workerId: 'worker-b', ...base, ...current, currentSizeBytes: 9_000_000 },
      ]);
      expect(await ledger.workerProgress(otherRunId)).toEqual([]);
      expect((await ledger.stats(otherRunId)).pending).toBe(3);
      expect((await ledger.claim(runId, 'worker-a', 10, longLeaseMs)).jobs).toHaveLength(2);
    });

    test('a second input with an output key the run holds is refused, naming both inputs; the rest of the batch is enqueued', async () => {
      const runId = freshRunId();
      const [first, second, third] = contractInputs(3, 'keyed');
      // Another folder, the same file name: the same output key, a different input.
      const twin = { ...first!, uri: first!.uri.replace('s3://bucket/', 's3://other-bucket/') };
      const twinOfThird = { ...third!, uri: third!.uri.replace('s3://bucket/', 's3://third-bucket/') };
      const key = contractOptions.outputKeyOf(first!);
      expect(contractOptions.outputKeyOf(twin)).toBe(key);
      expect(await ledger.enqueue(runId, [first!, twin, second!])).toEqual({
        added: 2,
        collisions: [{ uri: twin.uri, outputKey: key, heldBy: first!.uri }],
      });
      // In a later batch, against a key enqueued before; and two newcomers sharing a key: the first wins.
      const later = await ledger.enqueue(runId, [twin, third!, twinOfThird]);
      expect(later.added).toBe(1);
      expect(later.collisions).toEqual([
        { uri: twin.uri, outputKey: key, heldBy: first!.uri },
        { uri: twinOfThird.uri, outputKey: contractOptions.outputKeyOf(third!), heldBy: third!.uri },
      ]);
      // Enqueuing a held input again is not a collision.
      expect(await ledger.enqueue(runId, [first!, second!])).toEqual({ added: 0, collisions: [] });
      expect(await ledger.stats(runId)).toMatchObject({ pending: 3, remaining: 3 });
      const { jobs } = await ledger.claim(runId, 'worker-a', 10, longLeaseMs);
      expect(jobs.map((job) => job.input.uri).sort()).toEqual([first!.uri, second!.uri, third!.uri].sort());
      // Output keys are held per run: another run takes the twin.
      expect(await ledger.enqueue(freshRunId(), [twin])).toEqual({ added: 1, collisions: [] });
    });

    test('retryFailed puts the failed jobs back to pending with their charged attempts reset, and touches nothing else', async () => {
      const runId = freshRunId();
      const otherRunId = freshRunId();
      await ledger.enqueue(otherRunId, contractInputs(1, 'retry-other'));
      const otherJob = (await ledger.claim(otherRunId, 'worker-a', 1, longLeaseMs)).jobs[0]!;
      expect(await ledger.fail(otherRunId, leaseOf(otherJob), inputFault('broken elsewhere'))).toBe(true);
      // A job throttled at each of its three charged attempts fails for good.
      await ledger.enqueue(runId, contractInputs(1, 'retry-throttled'));
      const throttled = (await ledger.claim(runId, 'worker-a', 1, longLeaseMs)).jobs[0]!;
      let last = throttled;
      for (let attempt = 1; attempt < 3; attempt += 1) {
        expect(await ledger.fail(runId, leaseOf(last), remoteFault('503', { throttled: true }))).toBe(true);
        last = await claimWithin(runId, 3_000);
      }
      expect(await ledger.fail(runId, leaseOf(last), remoteFault('503 at the last attempt', { throttled: true }))).toBe(
        true,
      );
      await ledger.enqueue(runId, contractInputs(4, 'retry'));
      const [broken, done, leased] = (await ledger.claim(runId, 'worker-a', 3, longLeaseMs)).jobs;
      expect(await ledger.fail(runId, leaseOf(broken!), inputFault('not a WARC file'))).toBe(true);
      expect(await ledger.complete(runId, leaseOf(done!), someResult)).toBe(true);
      const untouched = [done!.jobId, leased!.jobId, ...(await pendingJobIds(runId))];
      const before = await Promise.all(untouched.map((jobId) => ledger.jobStatus(runId, jobId)));
      const statsBefore = await ledger.stats(runId);
      expect(statsBefore).toMatchObject({ failed: 2, done: 1, claimed: 1, pending: 1 });

      const reset = await ledger.retryFailed(runId);
      expect(reset.sort((a, b) => (a.uri < b.uri ? -1 : 1))).toEqual(
        [
          { uri: broken!.input.uri, lastError: 'input: not a WARC file' },
          { uri: throttled!.input.uri, lastError: 'remote: 503 at the last attempt' },
        ].sort((a, b) => (a.uri < b.uri ? -1 : 1)),
      );
      expect(await ledger.jobStatus(runId, broken!.jobId)).toMatchObject({
        state: 'pending',
        chargedAttempts: 0,
        attempt: 1,
      });
      expect(await ledger.jobStatus(runId, throttled!.jobId)).toMatchObject({
        state: 'pending',
        chargedAttempts: 0,
        attempt: 3,
      });
      expect(await Promise.all(untouched.map((jobId) => ledger.jobStatus(runId, jobId)))).toEqual(before);
      expect(await ledger.stats(runId)).toMatchObject({ failed: 0, done: 1, claimed: 1, pending: 3 });
      expect(await ledger.jobStatus(otherRunId, otherJob.jobId)).toMatchObject({ state: 'failed' });
      expect(await ledger.retryFailed(runId)).toEqual([]);
      // Claimable at once; the fencing attempt keeps counting, so no stale lease matches it.
      const again = (await ledger.claim(runId, 'worker-b', 10, longLeaseMs)).jobs;
      const retried = again.find((job) => job.jobId === throttled!.jobId);
      expect(retried?.attempt).toBe(4);
      expect(await ledger.complete(runId, leaseOf(last), someResult)).toBe(false);
      expect(await ledger.complete(runId, leaseOf(retried!), someResult)).toBe(true);
      expect(await ledger.jobStatus(runId, throttled!.jobId)).toMatchObject({ state: 'done', chargedAttempts: 1 });
    });

    /** Jobs of the run still pending (claimed by nobody yet), read through claims that are given back. */
    async function pendingJobIds(runId: string): Promise<string[]> {
      const { jobs } = await ledger.claim(runId, 'worker-peek', 100, longLeaseMs);
      for (const job of jobs) expect(await ledger.release(runId, leaseOf(job))).toBe(true);
      return jobs.map((job) => job.jobId);
    }

    test('lists the runs it holds, with their input, output, counts and last activity; an unknown run is undefined', async () => {
      const runId = freshRunId();
      const otherRunId = freshRunId();
      const startedMs = clock.nowMs();
      await ledger.enqueue(runId, contractInputs(3, 'listed'), { input: './warcs', output: '/data/out' });
      // The first enqueue names the run; later ones do not change it.
      await ledger.enqueue(runId, contractInputs(4, 'listed'), { input: './elsewhere', output: '/elsewhere' });
      await ledger.enqueue(otherRunId, contractInputs(1, 'listed-other'));
      const [done, failed] = (await ledger.claim(runId, 'worker-a', 2, longLeaseMs)).jobs;
      await clock.sleep(20);
      expect(await ledger.complete(runId, leaseOf(done!), someResult)).toBe(true);
      expect(await ledger.fail(runId, leaseOf(failed!), inputFault('empty file'))).toBe(true);
      const endedMs = clock.nowMs();
      const runs = await ledger.listRuns();
      const listed = runs.find((run) => run.runId === runId);
      expect(listed).toMatchObject({
        runId,
        input: './warcs',
        output: '/data/out',
        pending: 2,
        claimed: 0,
        done: 1,
        failed: 1,
      });
      // The jobs ended 20 ms after the run was created, on the ledger's clock.
      expect(endedMs).toBe(startedMs + 20);
      expect(listed!.lastActivityMs).toBe(endedMs);
      expect(listed!.lastFinishedMs).toBe(endedMs);
      expect(runs.find((run) => run.runId === otherRunId)).toMatchObject({
        input: null,
        output: null,
        pending: 1,
        done: 0,
      });
      expect(await ledger.runListing(runId)).toEqual(listed);
      expect(await ledger.runListing(freshRunId())).toBeUndefined();
      // Reading an unknown run creates nothing.
      await ledger.stats(freshRunId());
      expect((await ledger.listRuns()).length).toBe(runs.length);
    });

    test('a large enqueue is one job per input and claims drain it in batches', async () => {
      const runId = freshRunId();
      expect((await ledger.enqueue(runId, contractInputs(2_500, 'large'))).added).toBe(2_500);
      expect((await ledger.enqueue(runId, contractInputs(2_500, 'large'))).added).toBe(0);
      const seen = new Set<string>();
      for (let round = 0; round < 30; round += 1) {
        const { jobs, exhausted } = await ledger.claim(runId, 'worker-a', 100, longLeaseMs);
        if (exhausted) break;
        for (const job of jobs) {
          expect(seen.has(job.jobId)).toBe(false);
          seen.add(job.jobId);
        }
        const completed = await Promise.all(jobs.map((job) => ledger.complete(runId, leaseOf(job), someResult)));
        expect(completed.every((accepted) => accepted)).toBe(true);
      }
      expect(seen.size).toBe(2_500);
      expect(await ledger.stats(runId)).toMatchObject({ done: 2_500, remaining: 0 });
    });
  });
}
