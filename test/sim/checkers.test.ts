// Proves the checkers are not vacuous: each one reports the violation it exists for when fed
// one by hand (a cap broken, memory past the bound, a commit after a lost lease, a job
// committed twice, a job that never ended, a run that did not finish), and that the memory
// checker allows what core/capacity.ts promises decodes that grow data, and not a byte more.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../core/commands.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import { contentDecodeOutputRatio, withLimits } from '../../core/limits.ts';
import { emptyRecordCounters } from '../../core/record-counters.ts';
import { createWorkerState, type WorkerState } from '../../core/worker-state.ts';
import { Checkers, memoryBoundOf } from '../../sim/checkers.ts';
import { SimulatedLedger } from '../../sim/simulated-ledger.ts';
import { LifeTally } from '../../sim/whole-worker/whole-worker-checks.ts';

const limits = withLimits({
  stageWorkersMax: { fetch: 2, decode: 1, encode: 1, upload: 1, commit: 1 },
  cpuSlotsMax: 1,
  networkStreamsMax: 2,
});
const mebibyte = 1024 * 1024;
const chunkBytes = 8 * mebibyte;
/** A content worker: rows 4.5 times their chunk, a 64 MiB budget of eight chunks, two CPU lanes. */
const contentLimits = withLimits({
  cpuSlotsMax: 2,
  networkStreamsMax: 8,
  stageWorkersMax: { fetch: 4, decode: 2, encode: 2, upload: 2, commit: 2 },
  memoryBudgetBytes: 64 * mebibyte,
  chunkBytes,
  partBytes: 5 * mebibyte,
  jobsActiveMax: 4,
  decodeOutputRatio: contentDecodeOutputRatio,
});

function contentState(): WorkerState {
  return createWorkerState(contentLimits);
}

/** The violations one step reports with `held` bytes after it, core and driver agreeing. */
function heldViolations(state: WorkerState, held: readonly number[]): string[] {
  const checkers = new Checkers(contentLimits);
  for (const bytes of held) {
    state.heldBytes = bytes;
    checkers.afterStep(0, state, bytes, 1);
  }
  return checkers.violations;
}

const inputOf = (job: number): InputRef => ({
  uri: `sim://file-${job}.warc.gz`,
  sizeBytes: 4 * chunkBytes,
  filename: `file-${job}.warc.gz`,
  crawl: null,
  subset: null,
  segment: null,
});

function fetchOf(job: number): Command {
  const input = inputOf(job);
  return {
    kind: 'fetchChunk',
    taskId: 100 + job,
    jobId: `job-${job}`,
    input,
    chunkIndex: 0,
    offsetBytes: 0,
    lengthBytes: chunkBytes,
  };
}

function decodeOf(job: number): Command {
  return {
    kind: 'decodeChunk',
    taskId: 200 + job,
    jobId: `job-${job}`,
    cpuLane: job % 2,
    chunkIndex: 0,
    final: false,
    resumeAt: null,
  };
}

function decodedOf(job: number): Input {
  const rowBytes = chunkBytes * contentDecodeOutputRatio;
  return { kind: 'chunkDecoded', taskId: 200 + job, rows: 1_000, rowBytes, counters: emptyRecordCounters };
}

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

  it('allow a content worker the growth of one lone decode, and of decodes past an outgrown ratio, and no byte more', () => {
    const state = contentState();
    const bound = memoryBoundOf(state, contentDecodeOutputRatio);
    // The stall rule's bound is the budget here; a lone decode may grow its 8 MiB chunk 4.5 times.
    expect(bound).toMatchObject({ stallBytes: 64 * mebibyte, loneDecodeGrowthBytes: 28 * mebibyte, outgrownBytes: 0 });
    expect(heldViolations(state, [bound.totalBytes])).toEqual([]);
    expect(heldViolations(state, [bound.totalBytes + 1])).toEqual([
      expect.stringMatching(/bytes held, bound 96468992 \(67108864 \+ a lone decode's growth 29360128/),
    ]);
    // The data outgrow the stated 4.5: a decode answered 8 times its chunk. Each of the two lanes'
    // decodes planned at 4.5 may then hold 3.5 chunks more than they reserved.
    const outgrown = contentState();
    outgrown.decodeOutputRatioSeen = 8;
    const after = memoryBoundOf(outgrown, contentDecodeOutputRatio);
    expect(after).toMatchObject({ loneDecodeGrowthBytes: 56 * mebibyte, outgrownBytes: 2 * 28 * mebibyte });
    const checkers = new Checkers(contentLimits);
    // A step at the stated ratio first: the checker learns the lowest ratio the core planned with.
    checkers.afterStep(0, contentState(), 0, 1);
    for (const held of [after.totalBytes, after.totalBytes + 1]) {
      outgrown.heldBytes = held;
      checkers.afterStep(0, outgrown, held, 2);
    }
    expect(checkers.violations).toEqual([expect.stringMatching(/decodes past an outgrown ratio 58720256\)/)]);
  });

  it('fail a trace of a content worker that starts decodes whose growth does not fit the budget', () => {
    // A core that over-commits: four jobs' first chunks fetched at once, then decoded two at a
    // time on two lanes, each to 4.5 times its bytes, with nothing drained between.
    const checkers = new Checkers(contentLimits);
    const tally = new LifeTally(0, checkers, () => undefined);
    const state = contentState();
    const step = (inputs: Input[], commands: Command[], nowMs: number, ratioSeen: number): void => {
      for (const command of commands) if (command.kind === 'fetchChunk') state.heldBytes += command.lengthBytes;
      for (const input of inputs) if (input.kind === 'chunkDecoded') state.heldBytes += input.rowBytes - chunkBytes;
      state.decodeOutputRatioSeen = ratioSeen;
      tally.onStep(state, inputs, commands, nowMs);
    };
    const jobs = [0, 1, 2, 3];
    step([], jobs.map(fetchOf), 1, 0);
    step(
      jobs.map((job) => ({ kind: 'chunkFetched', taskId: 100 + job, bytes: chunkBytes })),
      [decodeOf(0), decodeOf(1)],
      2,
      0,
    );
    expect(checkers.violations).toEqual([]);
    step([decodedOf(0), decodedOf(1)], [decodeOf(2), decodeOf(3)], 3, contentDecodeOutputRatio);
    step([decodedOf(2), decodedOf(3)], [], 4, contentDecodeOutputRatio);
    // 4 × 36 MiB of rows against 64 MiB + one lone decode's 28 MiB.
    expect(checkers.violations).toEqual([
      expect.stringMatching(/^t=4ms instance 0: 150994944 bytes held, bound 96468992 /),
    ]);
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
