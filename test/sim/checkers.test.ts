// Proves the checkers are not vacuous: each one reports the violation it exists for when fed
// one by hand (a cap broken, memory past the bound, a commit after a lost lease, a job
// committed twice, a job that never ended, a run that did not finish).
import { describe, expect, it } from 'vitest';
import { withLimits } from '../../core/limits.ts';
import { createWorkerState } from '../../core/worker-state.ts';
import { Checkers } from '../../sim/checkers.ts';
import { SimulatedLedger } from '../../sim/simulated-ledger.ts';

const limits = withLimits({
  stageWorkersMax: { fetch: 2, decode: 1, encode: 1, upload: 1, commit: 1 },
  cpuSlotsMax: 1,
  networkStreamsMax: 2,
});
const bounds = { endMs: 10, finished: true, why: 'stopped', jobEndBoundMs: 1_000, runBoundMs: 1_000 };

describe('checkers', () => {
  it('report broken stage caps and shared pools', () => {
    const checkers = new Checkers(limits);
    checkers.onDispatch(0, { fetch: 3, decode: 0, encode: 0, upload: 0, commit: 0 }, 'fetch', 5);
    checkers.onDispatch(0, { fetch: 0, decode: 1, encode: 1, upload: 0, commit: 0 }, 'encode', 6);
    checkers.onDispatch(0, { fetch: 2, decode: 0, encode: 0, upload: 1, commit: 0 }, 'upload', 7);
    // Three fetches break both the fetch cap and the two network streams.
    expect(checkers.violations).toHaveLength(4);
  });

  it('report memory past the bound, and a core that counts memory differently from the driver', () => {
    const checkers = new Checkers(limits);
    const state = createWorkerState(limits);
    state.heldBytes = limits.memoryBudgetBytes + limits.chunkBytes + 1;
    checkers.afterStep(0, state, state.heldBytes, 1);
    expect(checkers.violations).toEqual([expect.stringMatching(/bytes held, bound/)]);
    checkers.afterStep(0, state, 5, 2);
    expect(checkers.violations[1]).toMatch(/the core counts \d+ bytes held, the driver 5/);
  });

  it('report commits after a lost lease or on a lease the ledger refuses, and double commits', () => {
    const checkers = new Checkers(limits);
    checkers.onCommitDispatch(0, { jobId: 'job-0', attempt: 1 }, true, true, 1);
    checkers.onCommitDispatch(0, { jobId: 'job-0', attempt: 1 }, false, false, 2);
    checkers.onCommittedAnswer('job-1', 3);
    checkers.onCommittedAnswer('job-1', 4);
    expect(checkers.violations).toHaveLength(3);
  });

  it('report lost jobs and unfinished runs', () => {
    const checkers = new Checkers(limits);
    const ledger = new SimulatedLedger([10, 10], { jobAttemptsMax: 3, jobRetryDelayMs: 1 });
    ledger.claim(0, 1, 0, 100);
    checkers.atEnd(ledger, { ...bounds, finished: false, why: 'drained' });
    expect(checkers.violations.join('\n')).toMatch(
      /did not finish[\s\S]*job-0 never ended: leased[\s\S]*job-1 never ended: pending/,
    );
  });

  it('let a clean run pass', () => {
    const checkers = new Checkers(limits);
    const ledger = new SimulatedLedger([10], { jobAttemptsMax: 3, jobRetryDelayMs: 1 });
    const claim = ledger.claim(0, 1, 0, 100);
    const job = claim.jobs[0]!;
    expect(ledger.complete({ jobId: job.jobId, attempt: job.attempt }, 5)).toBe(true);
    // The same attempt again (its first answer lost) hears "done" and is not a second completion.
    expect(ledger.complete({ jobId: job.jobId, attempt: job.attempt }, 6)).toBe(true);
    expect(ledger.jobs[0]?.completions).toBe(1);
    checkers.atEnd(ledger, bounds);
    expect(checkers.violations).toEqual([]);
  });
});
