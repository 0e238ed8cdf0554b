/**
 * The whole file's rules under split decoding, over model files: a file with no record fails,
 * and so does one that gives no row because every record was bad (the decoder in order's rules,
 * adapters/warc/warc-decoder.ts). The model's decoders apart answer every chunk splittable,
 * damaged or not, and tell the core every record and bad record they read: the core must not
 * accept a chunk whose counts leave one of the rules unjudged (core/split-decode.ts
 * `judgedApart`), so a file ends as the decoder in order ends it, whatever its chunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommandOf } from '../../core/commands.ts';
import type { ResumePoint } from '../../core/decoder.ts';
import { FailureError, inputFault } from '../../core/failure.ts';
import type { Input } from '../../core/inputs.ts';
import { addRecordCounters, emptyRecordCounters, type RecordCounters } from '../../core/record-counters.ts';
import { type RuleDecoders, runSplitJob } from './split-rule-driver.ts';

/** A capture that gives a row, one that is bad, a `warcinfo`, a `request` (no row, no damage). */
type RecordKind = 'row' | 'bad' | 'info' | 'request';

interface WholeFile {
  readonly kinds: readonly RecordKind[];
  /** Record i spans [starts[i], starts[i + 1]); the last ends at `sizeBytes`. */
  readonly starts: readonly number[];
  readonly sizeBytes: number;
  /** No record at all: bytes that are no WARC, which a decoder apart reads as nothing. */
  readonly noRecord: boolean;
  readonly chunkBytes: number;
}

const recordKind = fc.constantFrom<RecordKind>('row', 'bad', 'bad', 'info', 'request');

const wholeFile: fc.Arbitrary<WholeFile> = fc
  .record({
    records: fc.array(fc.tuple(recordKind, fc.integer({ min: 5, max: 40 })), { minLength: 1, maxLength: 24 }),
    noRecord: fc.boolean(),
    chunkBytes: fc.integer({ min: 20, max: 90 }),
  })
  .map(({ records, noRecord, chunkBytes }) => {
    const starts: number[] = [];
    let offset = 0;
    for (const [, length] of records) {
      starts.push(offset);
      offset += length;
    }
    const kinds = noRecord ? [] : records.map(([kind]) => kind);
    return { kinds, starts: noRecord ? [] : starts, sizeBytes: offset, noRecord, chunkBytes };
  });

const typeOf: Record<RecordKind, string> = { row: 'response', bad: 'response', info: 'warcinfo', request: 'request' };

function countersOf(kinds: readonly RecordKind[]): RecordCounters {
  const byType: Record<string, number> = {};
  for (const kind of kinds) byType[typeOf[kind]] = (byType[typeOf[kind]] ?? 0) + 1;
  const bad = kinds.filter((kind) => kind === 'bad').length;
  return { byType, badByReason: bad === 0 ? {} : { no_http_status_line: bad } };
}

function rowsOf(kinds: readonly RecordKind[]): number {
  return kinds.filter((kind) => kind === 'row').length;
}

/** The decoder in order's rules at the file's end, on the whole file's counts. */
function judgeWholeFile(rows: number, counters: RecordCounters): void {
  const records = Object.values(counters.byType).reduce((sum, times) => sum + times, 0);
  if (records === 0) throw new FailureError(inputFault('f.warc.gz: not a WARC file, no WARC record found'));
  const bad = counters.badByReason.no_http_status_line ?? 0;
  const noRowTypes = records - (counters.byType.response ?? 0) - (counters.byType.warcinfo ?? 0);
  if (rows === 0 && noRowTypes === 0 && bad > 0)
    throw new FailureError(inputFault(`f.warc.gz: no row, every record was bad (no_http_status_line ${bad})`));
}

/** What the decoder in order gives the whole file: null, or the message it fails with. */
function inOrderVerdict(file: WholeFile): string | null {
  try {
    judgeWholeFile(rowsOf(file.kinds), countersOf(file.kinds));
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

class ModelDecoders implements RuleDecoders {
  readonly sizeBytes: number;
  readonly chunkBytes: number;
  /** The decoder in order: where it reads next, and the tallies the rules judge. */
  private position = 0;
  private rows = 0;
  private counters = emptyRecordCounters;

  constructor(private readonly file: WholeFile) {
    this.sizeBytes = file.sizeBytes;
    this.chunkBytes = file.chunkBytes;
  }

  private endOf(record: number): number {
    return this.file.starts[record + 1] ?? this.file.sizeBytes;
  }

  /** Every chunk answers splittable: boundaries are exact, a record past the next chunk needs more. */
  detached(command: CommandOf<'decodeDetached'>): Input {
    const { file, chunkBytes } = this;
    const chunkStart = command.chunkIndex * chunkBytes;
    const chunkEnd = Math.min(file.sizeBytes, chunkStart + chunkBytes);
    const windowEnd = command.final ? file.sizeBytes : Math.min(file.sizeBytes, chunkEnd + chunkBytes);
    const first = file.starts.findIndex((start) => start >= (command.startBytes ?? chunkStart));
    const picked: number[] = [];
    for (let record = Math.max(first, 0); first >= 0 && (file.starts[record] ?? chunkEnd) < chunkEnd; record++)
      picked.push(record);
    const last = picked.at(-1);
    const startBytes = file.noRecord ? chunkStart : (file.starts[first] ?? file.sizeBytes);
    const endBytes = file.noRecord ? chunkEnd : last === undefined ? startBytes : this.endOf(last);
    const kinds = picked.map((record) => file.kinds[record] ?? 'row');
    const rows = rowsOf(kinds);
    return {
      kind: 'detachedDecoded',
      taskId: command.taskId,
      ...{ startBytes, endBytes: Math.min(endBytes, windowEnd), rows, rowBytes: 2 * rows, encodedBytes: 3 * rows + 4 },
      ...{ counters: countersOf(kinds), splittable: true, needsMore: endBytes > windowEnd },
    };
  }

  /** Every record that ends within the bytes pushed; the rules at the final chunk, counting `resumeAt`'s. */
  inOrder(command: CommandOf<'decodeChunk'>): Input {
    if (command.resumeAt !== null) this.resumeAt(command.resumeAt);
    const chunkEnd = Math.min(this.file.sizeBytes, (command.chunkIndex + 1) * this.chunkBytes);
    const kinds: RecordKind[] = [];
    this.file.starts.forEach((start, record) => {
      if (start < this.position || this.endOf(record) > chunkEnd) return;
      kinds.push(this.file.kinds[record] ?? 'row');
      this.position = this.endOf(record);
    });
    const rows = rowsOf(kinds);
    const counters = countersOf(kinds);
    this.rows += rows;
    this.counters = addRecordCounters(this.counters, counters);
    if (command.final) judgeWholeFile(this.rows, this.counters);
    return { kind: 'chunkDecoded', taskId: command.taskId, rows, rowBytes: 2 * rows, counters };
  }

  private resumeAt(resume: ResumePoint): void {
    this.position = resume.atBytes;
    this.rows = resume.rowsBefore;
    this.counters = resume.countersBefore;
  }
}

describe('the whole-file rules over model files split apart', () => {
  it('end every file as the decoder in order ends it, committed or failed with its message', () => {
    fc.assert(
      fc.property(wholeFile, (file) => {
        const verdict = inOrderVerdict(file);
        const outcome = runSplitJob(new ModelDecoders(file));
        expect(outcome.committed).toBe(verdict === null);
        if (verdict === null) expect(outcome.failure).toBeNull();
        else {
          expect(outcome.failure).toMatchObject({ fault: 'input', retryable: false });
          expect(outcome.failure?.reason.endsWith(`: ${verdict}`)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fails a file of several chunks whose every record was bad, each chunk answered splittable', () => {
    const starts = Array.from({ length: 12 }, (_, index) => 10 * index);
    const file: WholeFile = { kinds: starts.map(() => 'bad'), starts, sizeBytes: 120, noRecord: false, chunkBytes: 40 };
    const outcome = runSplitJob(new ModelDecoders(file));
    expect(outcome).toMatchObject({ committed: false, decodedInOrder: true, accepted: 0 });
    expect(outcome.failure?.reason).toMatch(/: f\.warc\.gz: no row, every record was bad \(no_http_status_line 12\)$/);
  });

  it('fails a file of several chunks with no record, each chunk answered splittable', () => {
    const file: WholeFile = { kinds: [], starts: [], sizeBytes: 120, noRecord: true, chunkBytes: 40 };
    const outcome = runSplitJob(new ModelDecoders(file));
    expect(outcome).toMatchObject({ committed: false, decodedInOrder: true, accepted: 0 });
    expect(outcome.failure?.reason).toMatch(/: f\.warc\.gz: not a WARC file, no WARC record found$/);
  });

  it('splits whole a file of good rows and requests, each chunk accepted apart', () => {
    const starts = Array.from({ length: 12 }, (_, index) => 10 * index);
    const kinds = starts.map((_, index): RecordKind => (index % 2 === 0 ? 'row' : 'request'));
    const file: WholeFile = { kinds, starts, sizeBytes: 120, noRecord: false, chunkBytes: 40 };
    const outcome = runSplitJob(new ModelDecoders(file));
    expect(outcome).toMatchObject({ committed: true, failure: null, decodedInOrder: false, accepted: 3 });
  });
});
