/**
 * Cost of the scheduler core's `step` per dispatched task, with 1k, 10k and 100k tasks queued
 * (10 ready fetches per job over 100, 1,000 and 10,000 jobs). Every task is answered at once,
 * so the figure is the core's own cost: applying an answer, picking, dispatching. Baseline in
 * the same run: a push and a pop on a binary heap of the same size, the least any scheduler
 * that keeps its queue ordered pays per task.
 */
import { pathToFileURL } from 'node:url';
import { BinaryHeap } from '../../core/binary-heap.ts';
import type { Command } from '../../core/commands.ts';
import type { Input } from '../../core/inputs.ts';
import type { ClaimedJob } from '../../core/input-ref.ts';
import { withLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState } from '../../core/worker-state.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const readyPerJob = 10;
const chunkBytes = 1024;
const dispatchesMeasured = 200_000;

function jobsOf(count: number): ClaimedJob[] {
  return Array.from({ length: count }, (_, index) => {
    const jobId = `job-${index}`;
    const input = { uri: `${jobId}.warc.gz`, filename: `${jobId}.warc.gz`, crawl: null, subset: null, segment: null };
    return { jobId, input, sizeBytes: chunkBytes * 1_000, attempt: 1, outputKey: `${jobId}.parquet` };
  });
}

/** The success answer to a task command; null for commands that need none. */
function answerTo(command: Command): Input | null {
  switch (command.kind) {
    case 'fetchChunk':
      return { kind: 'chunkFetched', taskId: command.taskId, bytes: command.lengthBytes };
    case 'decodeChunk':
      return {
        kind: 'chunkDecoded',
        taskId: command.taskId,
        rows: 1,
        rowBytes: 100,
        counters: { byType: { response: 1 }, badByReason: {} },
      };
    case 'encodeRowGroup':
      return { kind: 'rowGroupEncoded', taskId: command.taskId, bytes: 50 };
    case 'uploadPart':
      return { kind: 'partUploaded', taskId: command.taskId };
    case 'commitJob':
      return { kind: 'jobCommitted', taskId: command.taskId };
    default:
      return null;
  }
}

/** Nanoseconds per dispatched task with `jobs` jobs of `readyPerJob` ready fetches each. */
export function measureStep(jobs: number): { nanosecondsPerTask: number; queuedAtStart: number } {
  const limits = withLimits({
    stageWorkersMax: { fetch: 64, decode: 16, encode: 16, upload: 32, commit: 8 },
    cpuSlotsMax: 16,
    networkStreamsMax: 96,
    chunkBytes,
    memoryBudgetBytes: 1024 ** 4,
    fetchAheadChunksMax: readyPerJob,
    rowGroupRows: 20,
    partBytes: 5 * 1024 * 1024,
    jobsActiveMax: jobs,
    claimBatchMax: jobs,
  });
  const state = createWorkerState(limits);
  let nowMs = 0;
  let pending: Input[] = [];
  step(state, nowMs, []);
  step(state, ++nowMs, [{ kind: 'jobsClaimed', jobs: jobsOf(jobs), exhausted: true }]).commands.forEach((command) => {
    const answer = answerTo(command);
    if (answer) pending.push(answer);
  });
  const queuedAtStart = state.readyCount.fetch + pending.length;
  let dispatched = 0;
  const started = process.hrtime.bigint();
  // Bounded by the measured count; each pass answers everything in flight.
  for (let pass = 0; dispatched < dispatchesMeasured && pass < dispatchesMeasured; pass++) {
    const result = step(state, ++nowMs, pending);
    pending = [];
    for (const command of result.commands) {
      const answer = answerTo(command);
      if (answer === null) continue;
      dispatched += 1;
      pending.push(answer);
    }
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  return { nanosecondsPerTask: elapsed / dispatched, queuedAtStart };
}

/** Nanoseconds per push + pop on a heap holding `size` items. */
function measureHeap(size: number): number {
  const heap = new BinaryHeap<{ seq: number; index: number }>((a, b) =>
    a.seq !== b.seq ? a.seq < b.seq : a.index < b.index,
  );
  for (let index = 0; index < size; index++) heap.push({ seq: index % 997, index });
  const started = process.hrtime.bigint();
  for (let index = 0; index < dispatchesMeasured; index++) {
    const item = heap.pop() as { seq: number; index: number };
    heap.push({ seq: item.seq + 997, index: item.index });
  }
  return Number(process.hrtime.bigint() - started) / dispatchesMeasured;
}

export async function run(): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  measureStep(1_000); // warm-up: let the JIT settle before anything is timed
  for (const jobs of [100, 1_000, 10_000]) {
    const { nanosecondsPerTask, queuedAtStart } = measureStep(jobs);
    const heapNanoseconds = measureHeap(queuedAtStart);
    figures.push({
      name: `core step per dispatched task, ${queuedAtStart} queued`,
      value: nanosecondsPerTask / 1_000,
      unit: 'µs',
      baseline: { name: 'heap push+pop µs', value: heapNanoseconds / 1_000 },
      ratio: nanosecondsPerTask / heapNanoseconds,
      goal: '<= 2 µs; flat from 1k to 100k',
    });
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('core step', await run());
}
