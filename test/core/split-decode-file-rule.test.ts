/**
 * The rule on a whole file (a file that gives no row because every record was bad fails, not
 * committed empty) holds for a split job that fell back after chunks were accepted: the decoder
 * in order is given the accepted chunks' rows and counts (core/split-decode.ts). The core runs
 * with the real decoders (adapters/warc) over small gzip files, one member a record, whose
 * first chunk holds only `warcinfo` records (accepted, no row) and whose next chunk holds
 * damaged captures (not splittable: the job falls back).
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeDetachedChunk } from '../../adapters/warc/detached-chunk-decoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { Command, CommandOf } from '../../core/commands.ts';
import type { JobDecoder } from '../../core/decoder.ts';
import { type Failure, FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import { defaultLimits, type WorkerLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState, type WorkerState } from '../../core/worker-state.ts';
import { leasesRenewed, succeededAtOnce } from './model-task-answers.ts';

const input: InputRef = { uri: 'file:///f.warc.gz', filename: 'f.warc.gz', crawl: null, subset: null, segment: null };

function member(type: string, uri: string, contentType: string, block: string): Buffer {
  const head =
    `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Date: 2024-05-18T00:00:00Z\r\n` +
    `WARC-Record-ID: <urn:uuid:${type}-${uri}>\r\nWARC-Target-URI: ${uri}\r\n` +
    `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(block, 'latin1')}\r\n\r\n`;
  return gzipSync(Buffer.from(`${head}${block}\r\n\r\n`, 'latin1'));
}

const warcinfo = (index: number): Buffer =>
  member('warcinfo', `urn:info:${index}`, 'application/warc-fields', `software: test ${index}\r\n`);
const goodResponse = (index: number): Buffer =>
  member(
    'response',
    `http://example.com/${index}`,
    'application/http; msgtype=response',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello',
  );
const badResponse = (index: number): Buffer =>
  member('response', `http://example.com/bad/${index}`, 'application/http; msgtype=response', 'no HTTP here\r\n');

/**
 * A damaged capture whose member is longer than two chunks of `chunkBytes` (its body does not
 * compress), so the decode apart of the chunk it starts in answers `needsMore`.
 */
function longBadResponse(index: number, chunkBytes: number): Buffer {
  let seed = 12345 + index;
  const noise = Buffer.alloc(3 * chunkBytes + 1024, 0);
  for (let at = 0; at < noise.length; at++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    noise[at] = 0x21 + (seed % 90);
  }
  return member(
    'response',
    `http://example.com/long/${index}`,
    'application/http; msgtype=response',
    `no HTTP here\r\n${noise.toString('latin1')}`,
  );
}

/**
 * A file whose chunk 0 is exactly `head`; then an intact `warcinfo` (the boundary chunk 0 ends
 * at, so chunk 0 is accepted apart), and damaged captures only, the first longer than two
 * chunks (so chunk 1 needs more, and the job falls back after chunk 0).
 */
interface ModelFile {
  readonly bytes: Buffer;
  readonly chunkBytes: number;
}

function fileOf(head: readonly Buffer[]): ModelFile {
  const first = Buffer.concat(head);
  const tail = [warcinfo(9), longBadResponse(0, first.length), badResponse(1), badResponse(2)];
  return { bytes: Buffer.concat([first, ...tail]), chunkBytes: first.length };
}

function limitsOf(file: ModelFile): WorkerLimits {
  return {
    ...defaultLimits,
    splitDecode: true,
    cpuSlotsMax: 2,
    stageWorkersMax: { ...defaultLimits.stageWorkersMax, decode: 2, encode: 2 },
    chunkBytes: file.chunkBytes,
    memoryBudgetBytes: 16 * file.chunkBytes,
    partBytes: 4 * file.chunkBytes,
    partBytesMin: file.chunkBytes,
  };
}

interface Outcome {
  readonly committed: boolean;
  readonly failure: Failure | null;
  readonly fellBack: boolean;
}

/** Plays the runtime with the real decoders; every task answers at once, in the order sent. */
class RealDecoderDriver {
  private readonly pending: Command[] = [];
  private decoder: JobDecoder | null = null;
  private claimed = false;
  private committed = false;
  private failure: Failure | null = null;
  private fellBack = false;

  constructor(
    private readonly file: ModelFile,
    private readonly state: WorkerState,
  ) {}

  run(): Outcome {
    let inputs: Input[] = [];
    let nowMs = 0;
    // Bounded: a file of a few chunks ends in far fewer turns.
    for (let turn = 0; turn < 10_000; turn++) {
      const result = step(this.state, nowMs, inputs);
      inputs = [];
      for (const command of result.commands) {
        if (command.kind === 'finished')
          return { committed: this.committed, failure: this.failure, fellBack: this.fellBack };
        inputs.push(...this.execute(command));
      }
      inputs.push(...this.pending.splice(0).map((command) => this.answer(command)));
      nowMs = inputs.length > 0 ? nowMs + 1 : Math.max(nowMs + 1, result.wakeAtMs ?? nowMs + 1);
    }
    throw new Error('the run did not finish');
  }

  private execute(command: Command): Input[] {
    switch (command.kind) {
      case 'claimJobs':
        return [this.claim()];
      case 'heartbeat':
        return [leasesRenewed(command)];
      case 'failJob':
        this.failure = command.failure;
        return [];
      case 'placeDetached':
      case 'dropJob':
      case 'releaseJob':
      case 'jobEnded':
      case 'emitMetrics':
        return [];
      default:
        this.pending.push(command);
        return [];
    }
  }

  private claim(): Input {
    if (this.claimed) return { kind: 'jobsClaimed', jobs: [], exhausted: true };
    this.claimed = true;
    const job = { jobId: 'job-0', input, sizeBytes: this.file.bytes.length, attempt: 1, outputKey: 'job-0.parquet' };
    return { kind: 'jobsClaimed', jobs: [job], exhausted: false };
  }

  private chunk(index: number): Buffer {
    const { bytes, chunkBytes } = this.file;
    return bytes.subarray(index * chunkBytes, (index + 1) * chunkBytes);
  }

  private answer(command: Command): Input {
    if (!('taskId' in command)) throw new Error(`${command.kind} is no task`);
    const taskId = command.taskId;
    const atOnce = succeededAtOnce(command);
    if (atOnce !== null) return atOnce;
    switch (command.kind) {
      case 'decodeDetached':
        return this.decodeDetached(command);
      case 'decodeChunk':
        try {
          return this.decodeInOrder(command);
        } catch (error) {
          if (error instanceof FailureError) return { kind: 'taskFailed', taskId, failure: error.failure };
          throw error;
        }
      case 'encodeRowGroup':
        return { kind: 'rowGroupEncoded', taskId, bytes: 10 * command.rows + 4 };
      case 'commitJob':
        this.committed = true;
        return { kind: 'jobCommitted', taskId };
      default:
        throw new Error(`no answer for ${command.kind}`);
    }
  }

  private decodeDetached(command: CommandOf<'decodeDetached'>): Input {
    const next = command.final ? null : this.chunk(command.chunkIndex + 1);
    const decoded = decodeDetachedChunk(
      input,
      {},
      {
        chunk: this.chunk(command.chunkIndex),
        next,
        nextFinal: command.nextFinal,
        chunkOffset: command.chunkIndex * this.file.chunkBytes,
        startBytes: command.startBytes,
      },
    );
    const { rows, ...answer } = decoded;
    return {
      kind: 'detachedDecoded',
      taskId: command.taskId,
      ...answer,
      rows: rows.length,
      encodedBytes: 10 * rows.length + 4,
    };
  }

  private decodeInOrder(command: CommandOf<'decodeChunk'>): Input {
    const resume = command.resumeAt ?? undefined;
    if (resume !== undefined) this.fellBack = true;
    this.decoder ??= new WarcDecoder().open(input, resume);
    const skipped = resume === undefined ? 0 : resume.atBytes - command.chunkIndex * this.file.chunkBytes;
    const decoded = this.decoder.push(this.chunk(command.chunkIndex).subarray(skipped), command.final);
    return { kind: 'chunkDecoded', taskId: command.taskId, ...decoded, rows: decoded.rows.length };
  }
}

function runFile(file: ModelFile): Outcome {
  return new RealDecoderDriver(file, createWorkerState(limitsOf(file), { invariantChecks: 'full' })).run();
}

describe('the whole-file rule after split decoding fell back', () => {
  it('fails a file whose accepted chunks held only warcinfo records and whose other records were all bad', () => {
    const outcome = runFile(fileOf([warcinfo(0), warcinfo(1)]));
    expect(outcome.fellBack).toBe(true);
    expect(outcome.committed).toBe(false);
    expect(outcome.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(outcome.failure?.reason).toMatch(
      /file:\/\/\/f\.warc\.gz: no row, every record was bad \(no_http_status_line 3\)$/,
    );
  });

  it('commits a file whose accepted chunks gave a row, however bad the rest', () => {
    const outcome = runFile(fileOf([warcinfo(0), goodResponse(1)]));
    expect(outcome.fellBack).toBe(true);
    expect(outcome.failure).toBeNull();
    expect(outcome.committed).toBe(true);
  });
});
