/**
 * Split decoding (core/split-decode.ts) over model files: records of random lengths (some
 * longer than a chunk), false boundaries inside records (a payload holding a gzip member of
 * `WARC/`), files that are not one member a record, decode failures, and answers delivered in
 * random order. The driver plays a decoder that reads exactly what the commands say, so the
 * records an object ends up with are what the core's rule exported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command, CommandOf } from '../../core/commands.ts';
import type { Input } from '../../core/inputs.ts';
import { defaultLimits, type WorkerLimits } from '../../core/limits.ts';
import { emptyRecordCounters } from '../../core/record-counters.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type WorkerState } from '../../core/worker-state.ts';
import { leasesRenewed, succeededAtOnce } from './model-task-answers.ts';

interface ModelFile {
  /** Record i spans [starts[i], starts[i + 1]); the last ends at `sizeBytes`. */
  readonly starts: readonly number[];
  readonly sizeBytes: number;
  /** Offsets inside records that a scan takes for a record's start. */
  readonly falseBoundaries: readonly number[];
  /** One member a record: false for a whole-file gzip, whose chunk 0 answers not splittable. */
  readonly memberPerRecord: boolean;
  /**
   * A decode from a false boundary reads damage and answers not splittable, as the real decoder
   * does when a stored member is followed by the rest of its record.
   */
  readonly falseStartsDamaged: boolean;
}

interface Scenario {
  readonly files: readonly ModelFile[];
  readonly lanes: number;
  readonly chunkBytes: number;
  readonly budgetChunks: number;
  readonly failRate: number;
  readonly seed: number;
}

const recordLengths = fc.array(fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 61, max: 260 })), {
  minLength: 1,
  maxLength: 40,
});

const modelFile: fc.Arbitrary<ModelFile> = fc
  .tuple(recordLengths, fc.array(fc.nat(), { maxLength: 4 }), fc.boolean(), fc.boolean(), fc.boolean())
  .map(([lengths, falseSeeds, memberPerRecord, fooled, falseStartsDamaged]) => {
    const starts: number[] = [];
    let offset = 0;
    for (const length of lengths) {
      starts.push(offset);
      offset += length;
    }
    const inside = (seed: number): number | null => {
      const record = seed % lengths.length;
      const length = lengths[record] ?? 1;
      return length < 2 ? null : (starts[record] ?? 0) + 1 + (seed % (length - 1));
    };
    const falseBoundaries = fooled ? falseSeeds.flatMap((seed) => inside(seed) ?? []) : [];
    return { starts, sizeBytes: offset, falseBoundaries, memberPerRecord, falseStartsDamaged };
  });

const scenario: fc.Arbitrary<Scenario> = fc.record({
  files: fc.array(modelFile, { minLength: 1, maxLength: 3 }),
  lanes: fc.integer({ min: 1, max: 3 }),
  chunkBytes: fc.integer({ min: 50, max: 150 }),
  budgetChunks: fc.integer({ min: 2, max: 12 }),
  failRate: fc.oneof(fc.constant(0), fc.constant(0.03)),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

function limitsOf(s: Scenario): WorkerLimits {
  return {
    ...defaultLimits,
    splitDecode: true,
    cpuSlotsMax: s.lanes,
    stageWorkersMax: { ...defaultLimits.stageWorkersMax, decode: s.lanes, encode: s.lanes },
    chunkBytes: s.chunkBytes,
    memoryBudgetBytes: s.budgetChunks * s.chunkBytes,
    decodeOutputRatio: 0.5,
    partBytes: 200,
    partBytesMin: 100,
    seed: s.seed,
  };
}

/** Encoded bytes a row takes in the model, and its estimated in-memory size. */
const encodedBytesPerRow = 3;
const rowBytesPerRow = 2;

interface DetachedResult {
  readonly records: number[];
}

interface JobModel {
  readonly file: ModelFile;
  /** Records exported into the object, in object order. */
  readonly object: number[];
  /** Rows the decoder in order produced and no encode took yet. */
  readonly buffered: number[];
  /** Where the decoder in order reads next. */
  position: number;
  readonly results: Map<number, DetachedResult>;
}

interface Outcome {
  readonly committed: Map<number, number[]>;
  readonly failed: Set<number>;
  readonly maxHeldBytes: number;
  /**
   * The most detached decodes of one job in flight at once, its last chunk's aside: that one
   * reads no next chunk, so it decodes beside the one before it whatever the read-ahead.
   */
  readonly maxParallelDecodes: number;
  readonly finished: boolean;
}

class ModelDriver {
  private readonly jobs = new Map<string, JobModel>();
  private readonly pending: { readonly command: Command & { taskId: number }; readonly lane: number }[] = [];
  private readonly busyLanes = new Set<number>();
  private randomState: number;
  readonly committed = new Map<number, number[]>();
  readonly failed = new Set<number>();
  maxParallelDecodes = 0;
  /** Decodes in order: a file split whole needs none. */
  inOrderDecodes = 0;

  constructor(
    private readonly s: Scenario,
    private readonly state: WorkerState,
  ) {
    this.randomState = s.seed;
  }

  private random(): number {
    // A 32-bit xorshift: the order answers come in is part of the scenario.
    let x = this.randomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.randomState = x >>> 0;
    return this.randomState / 2 ** 32;
  }

  run(): Outcome {
    let nowMs = 0;
    let inputs: Input[] = [];
    let maxHeldBytes = 0;
    let finished = false;
    // Bounded: every turn delivers one answer or ends the run.
    for (let turn = 0; turn < 200_000 && !finished; turn++) {
      const result = step(this.state, nowMs, inputs);
      inputs = [];
      maxHeldBytes = Math.max(maxHeldBytes, this.state.heldBytes);
      for (const command of result.commands) {
        if (command.kind === 'finished') finished = true;
        inputs.push(...this.execute(command));
      }
      this.countParallelDecodes();
      if (inputs.length > 0) continue;
      nowMs += 1;
      if (this.pending.length === 0) {
        if (result.wakeAtMs !== null) nowMs = Math.max(nowMs, result.wakeAtMs);
        continue;
      }
      const at = Math.floor(this.random() * this.pending.length);
      const [task] = this.pending.splice(at, 1);
      if (task === undefined) continue;
      if (task.lane >= 0) this.busyLanes.delete(task.lane);
      inputs.push(this.answer(task.command));
    }
    return {
      committed: this.committed,
      failed: this.failed,
      maxHeldBytes,
      maxParallelDecodes: this.maxParallelDecodes,
      finished,
    };
  }

  private countParallelDecodes(): void {
    const perJob = new Map<string, number>();
    for (const { command } of this.pending) {
      if (command.kind !== 'decodeDetached' || command.final) continue;
      perJob.set(command.jobId, (perJob.get(command.jobId) ?? 0) + 1);
    }
    for (const count of perJob.values()) this.maxParallelDecodes = Math.max(this.maxParallelDecodes, count);
  }

  private execute(command: Command): Input[] {
    switch (command.kind) {
      case 'claimJobs':
        return [this.claim()];
      case 'heartbeat':
        return [leasesRenewed(command)];
      case 'placeDetached':
        this.place(command);
        return [];
      case 'dropJob':
        this.jobs.delete(command.jobId);
        return [];
      case 'failJob':
        this.failed.add(indexOf(command.lease.jobId));
        return [];
      case 'releaseJob':
      case 'jobEnded':
      case 'emitMetrics':
      case 'finished':
        return [];
      default: {
        const lane = 'cpuLane' in command ? command.cpuLane : -1;
        if (lane >= 0) {
          if (this.busyLanes.has(lane)) throw new Error(`lane ${lane} given a second task`);
          this.busyLanes.add(lane);
        }
        this.pending.push({ command, lane });
        return [];
      }
    }
  }

  private claimed = false;

  private claim(): Input {
    if (this.claimed) return { kind: 'jobsClaimed', jobs: [], exhausted: true };
    this.claimed = true;
    const jobs = this.s.files.map((file, index) => {
      const jobId = `job-${index}`;
      this.jobs.set(jobId, { file, object: [], buffered: [], position: 0, results: new Map() });
      const input = {
        uri: `file:///${jobId}.warc.gz`,
        filename: `${jobId}.warc.gz`,
        crawl: null,
        subset: null,
        segment: null,
      };
      return { jobId, input, sizeBytes: file.sizeBytes, attempt: 1, outputKey: `${jobId}.parquet` };
    });
    return { kind: 'jobsClaimed', jobs, exhausted: false };
  }

  private place(command: CommandOf<'placeDetached'>): void {
    const job = this.jobs.get(command.jobId);
    if (job === undefined) return;
    const result = job.results.get(command.chunkIndex);
    if (result === undefined) throw new Error(`placeDetached of chunk ${command.chunkIndex} that never answered`);
    job.results.delete(command.chunkIndex);
    if (command.place) job.object.push(...result.records);
  }

  private answer(command: Command & { taskId: number }): Input {
    const taskId = command.taskId;
    const cpu =
      command.kind === 'decodeChunk' || command.kind === 'decodeDetached' || command.kind === 'encodeRowGroup';
    if (cpu && this.random() < this.s.failRate)
      return {
        kind: 'taskFailed',
        taskId,
        failure: { reason: 'model', fault: 'input', retryable: false, throttled: false },
      };
    const atOnce = succeededAtOnce(command);
    if (atOnce !== null) return atOnce;
    switch (command.kind) {
      case 'decodeChunk':
        return this.decodeInOrder(command);
      case 'decodeDetached':
        return this.decodeDetached(command);
      case 'encodeRowGroup':
        return this.encode(command);
      case 'commitJob': {
        const job = this.jobs.get(command.lease.jobId);
        if (job !== undefined) this.committed.set(indexOf(command.lease.jobId), [...job.object]);
        return { kind: 'jobCommitted', taskId };
      }
      default:
        throw new Error(`no model answer for ${command.kind}`);
    }
  }

  /** A dropped job's tasks still answer (the core ignores them): they read a model of nothing. */
  private jobOf(jobId: string): JobModel {
    const empty: ModelFile = {
      starts: [],
      sizeBytes: 0,
      falseBoundaries: [],
      memberPerRecord: true,
      falseStartsDamaged: false,
    };
    return this.jobs.get(jobId) ?? { file: empty, object: [], buffered: [], position: 0, results: new Map() };
  }

  /** The decoder in order: every record that ends within the bytes pushed so far. */
  private decodeInOrder(command: CommandOf<'decodeChunk'>): Input {
    const job = this.jobOf(command.jobId);
    this.inOrderDecodes += 1;
    if (command.resumeAt !== null) job.position = command.resumeAt.atBytes;
    const chunkEnd = Math.min(job.file.sizeBytes, (command.chunkIndex + 1) * this.s.chunkBytes);
    const rows: number[] = [];
    job.file.starts.forEach((start, record) => {
      if (start >= job.position && endOf(job.file, record) <= chunkEnd) rows.push(record);
    });
    const last = rows.at(-1);
    if (last !== undefined) job.position = endOf(job.file, last);
    job.buffered.push(...rows);
    return {
      kind: 'chunkDecoded',
      taskId: command.taskId,
      rows: rows.length,
      rowBytes: rows.length * rowBytesPerRow,
      counters: emptyRecordCounters,
    };
  }

  private encode(command: CommandOf<'encodeRowGroup'>): Input {
    const job = this.jobOf(command.jobId);
    const taken = job.buffered.splice(0, command.rows);
    job.object.push(...taken);
    const bytes = taken.length * encodedBytesPerRow + (command.final ? 7 : 0);
    return { kind: 'rowGroupEncoded', taskId: command.taskId, bytes };
  }

  /** A detached decode as the rule describes it; from a false boundary it reads garbage. */
  private decodeDetached(command: CommandOf<'decodeDetached'>): Input {
    const job = this.jobOf(command.jobId);
    const file = job.file;
    const chunkStart = command.chunkIndex * this.s.chunkBytes;
    const chunkEnd = Math.min(file.sizeBytes, chunkStart + this.s.chunkBytes);
    const windowEnd = command.final ? file.sizeBytes : Math.min(file.sizeBytes, chunkEnd + this.s.chunkBytes);
    const start = command.startBytes ?? firstBoundary(file, chunkStart, windowEnd);
    const answer = (
      records: number[],
      startBytes: number,
      endBytes: number,
      needsMore: boolean,
      damaged = false,
    ): Input => {
      job.results.set(command.chunkIndex, { records });
      return {
        kind: 'detachedDecoded',
        taskId: command.taskId,
        startBytes,
        endBytes,
        rows: records.length,
        rowBytes: records.length * rowBytesPerRow,
        encodedBytes: records.length * encodedBytesPerRow + (command.chunkIndex === 0 ? 4 : 0),
        // Every record read is counted, damage too, as the real decoder counts them.
        counters: { byType: { response: records.length }, badByReason: damaged ? { non_warc_data: 1 } : {} },
        splittable: file.memberPerRecord && !damaged,
        needsMore,
      };
    };
    if (start === null) return answer([], windowEnd, windowEnd, !command.final);
    if (start >= file.sizeBytes) return answer([], start, start, false);
    const first = file.starts.indexOf(start);
    // A file not one member a record: what a decode from the middle reads is not its records.
    if (first < 0 || !file.memberPerRecord) {
      // A false boundary: rows that are no record of the file, and an end of their own.
      const garbageEnd = Math.min(windowEnd, start + 1 + (start % 37));
      return answer([-1 - start], start, garbageEnd, false, file.falseStartsDamaged);
    }
    const records: number[] = [];
    for (let record = first; record < file.starts.length && (file.starts[record] ?? 0) < chunkEnd; record++)
      records.push(record);
    const last = records.at(-1);
    const endBytes = last === undefined ? start : endOf(file, last);
    return answer(records, start, Math.min(endBytes, windowEnd), endBytes > windowEnd);
  }
}

function endOf(file: ModelFile, record: number): number {
  return file.starts[record + 1] ?? file.sizeBytes;
}

/** The first record start or false boundary in [from, to), or null. */
function firstBoundary(file: ModelFile, from: number, to: number): number | null {
  const candidates = [...file.starts, ...file.falseBoundaries].filter((offset) => offset >= from && offset < to);
  return candidates.length === 0 ? null : Math.min(...candidates);
}

function indexOf(jobId: string): number {
  return Number(jobId.slice('job-'.length));
}

function runModel(s: Scenario): Outcome & { readonly inOrderDecodes: number } {
  const state = createWorkerState(limitsOf(s), { invariantChecks: 'full' });
  const driver = new ModelDriver(s, state);
  return { ...driver.run(), inOrderDecodes: driver.inOrderDecodes };
}

describe('split decoding over model files', () => {
  it('exports every record of a committed file exactly once and in order, and every job ends', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const outcome = runModel(s);
        expect(outcome.finished).toBe(true);
        s.files.forEach((file, index) => {
          const committed = outcome.committed.get(index);
          if (committed === undefined) {
            expect(outcome.failed.has(index)).toBe(true);
            return;
          }
          expect(committed).toEqual(file.starts.map((_, record) => record));
        });
        if (s.failRate === 0) expect(outcome.committed.size).toBe(s.files.length);
      }),
      { numRuns: 300 },
    );
  });

  it('holds no more than the budget plus a chunk a job, and the encoded bytes of answers in its window', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const outcome = runModel(s);
        const budget = s.budgetChunks * s.chunkBytes;
        // Encoded bytes are at most 3 per row, a row per byte at worst: one window of them a job.
        const waitingMax = s.files.length * (Math.max(2, s.budgetChunks) + 1) * s.chunkBytes * encodedBytesPerRow;
        expect(outcome.maxHeldBytes).toBeLessThanOrEqual(budget + s.files.length * s.chunkBytes + waitingMax);
      }),
      { numRuns: 150 },
    );
  });

  it('decodes two chunks of one splittable file at once with two lanes', () => {
    const lengths = Array.from({ length: 60 }, (_, index) => 20 + (index % 7));
    const starts: number[] = [];
    let offset = 0;
    for (const length of lengths) {
      starts.push(offset);
      offset += length;
    }
    const file: ModelFile = {
      starts,
      sizeBytes: offset,
      falseBoundaries: [],
      memberPerRecord: true,
      falseStartsDamaged: false,
    };
    // 12 chunks of budget give one lane's read-ahead 6 chunks; 4 give it 2, which alone would
    // let only the first chunk not accepted decode: the split job takes both lanes' share.
    for (const budgetChunks of [12, 4]) {
      const s: Scenario = { files: [file], lanes: 2, chunkBytes: 100, budgetChunks, failRate: 0, seed: 7 };
      const outcome = runModel(s);
      expect(outcome.committed.get(0)).toEqual(starts.map((_, record) => record));
      expect(outcome.maxParallelDecodes, `budget of ${budgetChunks} chunks`).toBeGreaterThanOrEqual(2);
    }
  });

  it('decodes a chunk again after a false boundary whose decode read damage, instead of falling back', () => {
    // Records of 30 bytes, a false boundary 10 bytes into the first record of every chunk after 0.
    const starts = Array.from({ length: 40 }, (_, index) => index * 30);
    const falseBoundaries = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((chunk) => chunk * 100 + 5);
    const file: ModelFile = {
      starts,
      sizeBytes: 1200,
      falseBoundaries,
      memberPerRecord: true,
      falseStartsDamaged: true,
    };
    const s: Scenario = { files: [file], lanes: 2, chunkBytes: 100, budgetChunks: 12, failRate: 0, seed: 11 };
    const outcome = runModel(s);
    expect(outcome.committed.get(0)).toEqual(starts.map((_, record) => record));
    expect(outcome.inOrderDecodes).toBe(0);
  });
});
