import type { CaptureRow, OutputSchema } from '../../core/capture-row.ts';
import type { DecodedChunk, Decoder, JobDecoder, ResumePoint } from '../../core/decoder.ts';
import { FailureError, inputFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { type RecordCounters, totalCount } from '../../core/record-counters.ts';
import {
  addReasonCounts,
  badRecordReasons,
  type BadRecordCode,
  type ReasonCounts,
  reasonCodesText,
  type RecordWarningCode,
  type SkippedRecordCode,
} from '../../core/record-reasons.ts';
import {
  buildCaptureRow,
  estimateRowBytes,
  metadataDescribes,
  rowRecordTypes,
  type RowResult,
} from './capture-row-builder.ts';
import { ArcRecordParser } from './arc-record-parser.ts';
import {
  buildDerivedRow,
  type DerivedRowResult,
  type DerivedFormat,
  derivedFormatOf,
  derivedRowType,
  keepsDerivedBlock,
} from './derived-records.ts';
import { addContentColumns, addDerivedContentColumns } from './content-columns.ts';
import type { PayloadBounds } from './payload-decoding.ts';
import { detectArchiveFormat } from './archive-format.ts';
import { GzipMemberReader, type MemberReader } from './gzip-member-reader.ts';
import { HeadOnlyMemberReader, type HeadOnlySink } from './head-only-member-reader.ts';
import type { RecordParser } from './record-parser.ts';
import { payloadLimits, type WarcLimits } from './warc-limits.ts';
import { type ParsedRecord, type PayloadCapture, type RecordSink, WarcRecordParser } from './warc-record-parser.ts';

/**
 * The WARC decoder: `.warc.gz` with one gzip member a record (CommonCrawl), gzip whose members
 * do not follow records (a whole-file gzip), and plain `.warc`, told apart by their first
 * bytes, not their names (`archive-format.ts`). ARC files, plain or gzip, are read by their own
 * parser into the same records (`arc-record-parser.ts`).
 *
 * Offsets and lengths (`warc_record_offset`, `warc_record_length`):
 * - one member a record: the member's compressed offset and length, as CommonCrawl's index;
 * - plain WARC: the record's own offset and length, its trailing CR LF CR LF included;
 * - members that do not follow records: from the start of the member the record starts in
 *   to the end of the member it ends in, so inflating that range yields the record (for a
 *   small whole-file gzip that is the whole file). A member past 64 MiB is streamed and its
 *   end is unknown when the row is made: the length then runs to the end of the 1 MiB
 *   compressed piece in which the record's last byte came out.
 *
 * `byType` counts every record whose WARC header was read, good or bad; `badByReason` counts,
 * by the codes of `core/record-reasons.ts` as every count here,
 * damage: a bad record, or a damaged stretch of input (which can hold several records);
 * `skippedByReason` counts records of a row type that are no capture of the web (Heritrix's
 * `dns:` and `whois:` lookups), which are not damage; `warningByReason` counts rows kept with
 * something mended or left null.
 *
 * CommonCrawl's WET and WAT files (`derived-records.ts`), told by their subset or name, are
 * read by the same parser: each WET `conversion` and each WAT `metadata` record is a row of
 * its own, and no record waits for a metadata record to join.
 *
 * A file that gives no row while records were bad, none skipped and none of a type that makes
 * no row (a request, a warcinfo), lost all it held: the job fails with the damage as reason,
 * instead of committing an empty file.
 */
export class WarcDecoder implements Decoder {
  constructor(private readonly options: WarcJobDecoderOptions = {}) {}

  open(input: InputRef, resume?: ResumePoint): JobDecoder {
    if (resume === undefined) return new WarcJobDecoder(input, this.options);
    const readBefore = { rows: resume.rowsBefore, counters: resume.countersBefore };
    return new WarcJobDecoder(input, { ...this.options, startOffset: resume.atBytes, readBefore });
  }
}

/** What the rows hold: the schema and, for `content`, how much payload a row keeps. */
export interface OutputOptions {
  readonly schema: OutputSchema;
  /** `--content-max-kb` in bytes. */
  readonly contentBytesMax: number;
}

export const indexOutput: OutputOptions = { schema: 'index', contentBytesMax: payloadLimits.contentKibDefault * 1024 };

/** The payload bounds of the content schema; null for the index schema. */
function payloadBoundsOf(output: OutputOptions): PayloadBounds | null {
  if (output.schema === 'index') return null;
  return { contentBytesMax: output.contentBytesMax, decodedBytesMax: payloadLimits.decodedBytesMax };
}

function payloadCaptureOf(bounds: PayloadBounds | null): PayloadCapture | null {
  if (bounds === null) return null;
  return {
    plainBytesMax: bounds.contentBytesMax,
    encodedBytesMax: Math.max(bounds.contentBytesMax, payloadLimits.encodedHeldBytesMax),
  };
}

type Format = 'unknown' | 'gzip' | 'plain';

/** First window of a new chunk joined to the carried bytes of a straddling member. */
const straddleWindowBytes = 64 * 1024;

export interface WarcJobDecoderOptions {
  /** Sees every record read in full, whatever its type: tests check offsets with it. */
  readonly observer?: (record: ParsedRecord) => void;
  /** Smaller limits for tests; the defaults are `warcLimits`. */
  readonly limits?: WarcLimits;
  /** The schema of the rows; the index schema by default. */
  readonly output?: OutputOptions;
  /**
   * The run's row filter (`--where`, `--domains`), asked once a capture's index columns are
   * complete (after its metadata record) and before anything more is done with it: a capture
   * it drops is counted as skipped, `filtered_out`.
   */
  readonly keep?: (row: CaptureRow) => boolean;
  /**
   * Inflates every member whole and checks its CRC, instead of inflating only the heads of the
   * index's records (`head-only-member-reader.ts`). WET and WAT files, whose rows hold their
   * blocks, are always inflated whole.
   */
  readonly fullInflate?: boolean;
  /**
   * The input offset of the first byte pushed: a decoder that starts at a record boundary in
   * the middle of the file (split decoding, detached-chunk-decoder.ts) gives the file's offsets.
   */
  readonly startOffset?: number;
  /**
   * The decoder reads part of the file, whose other parts are read elsewhere: the rules on the
   * whole file (no record found, every record bad) are not its to apply.
   */
  readonly partOfFile?: boolean;
  /**
   * What the file's records before `startOffset`, read elsewhere, gave (split decoding that
   * fell back, core/decoder.ts `ResumePoint`): the rules on the whole file count them too.
   */
  readonly readBefore?: { readonly rows: number; readonly counters: RecordCounters };
}

/**
 * Records that describe the file, not a capture: nearly every writer opens with a `warcinfo`
 * (an ARC's version block reads as one), so reading it says nothing about whether the file's
 * captures survived, and a file of it and damaged captures still fails.
 */
const describesFile: ReadonlySet<string> = new Set(['warcinfo']);

export class WarcJobDecoder implements JobDecoder {
  private format: Format = 'unknown';
  /** Bytes not consumed yet: a member cut by the chunk's end. Bounded by the member reader. */
  private carry: Buffer = Buffer.alloc(0);
  private carryOffset = 0;
  private parser: RecordParser;
  private readonly sink: RecordSink;
  private readonly members: MemberReader;
  /** The last response, revisit or resource record, waiting for its metadata record. */
  private pending: ParsedRecord | null = null;
  private rows: CaptureRow[] = [];
  private rowBytes = 0;
  private byType: Record<string, number> = {};
  private badByReason: ReasonCounts<BadRecordCode> = {};
  private skippedByReason: ReasonCounts<SkippedRecordCode> = {};
  private warningByReason: ReasonCounts<RecordWarningCode> = {};
  /** The damage of the whole job, for the message when no record is found: the chunks' counts are handed out as they go. */
  private jobBadByReason: ReasonCounts<BadRecordCode> = {};
  /** Of the whole job, for the rule on a file that gives no row. */
  private jobRows = 0;
  private jobSkipped = 0;
  private jobOtherTypes = 0;
  /** Records read before `startOffset` by others (`readBefore`): the file is no less a WARC for them. */
  private recordsBefore = 0;
  private ended = false;
  private readonly partOfFile: boolean;

  private readonly observer: ((record: ParsedRecord) => void) | undefined;
  private readonly limits: WarcLimits | undefined;
  /** WET or WAT, or null for WARC and ARC captures. */
  private readonly derived: DerivedFormat | null;
  private readonly rowTypes: ReadonlySet<string>;
  private readonly payloadBounds: PayloadBounds | null;
  private readonly payloadCapture: PayloadCapture | null;
  private readonly keep: ((row: CaptureRow) => boolean) | undefined;

  constructor(
    private readonly input: InputRef,
    options: WarcJobDecoderOptions = {},
  ) {
    this.limits = options.limits;
    this.observer = options.observer;
    this.carryOffset = options.startOffset ?? 0;
    this.partOfFile = options.partOfFile === true;
    this.derived = derivedFormatOf(input);
    this.rowTypes = this.derived === null ? rowRecordTypes : new Set([derivedRowType[this.derived]]);
    this.payloadBounds = payloadBoundsOf(options.output ?? indexOutput);
    this.payloadCapture = payloadCaptureOf(this.payloadBounds);
    this.keep = options.keep;
    if (options.readBefore !== undefined) this.countBefore(options.readBefore.rows, options.readBefore.counters);
    const sink: RecordSink = {
      recordType: (type) => {
        count(this.byType, type);
        if (!this.rowTypes.has(type) && !describesFile.has(type)) this.jobOtherTypes++;
      },
      record: (record) => {
        this.observer?.(record);
        this.onRecord(record);
      },
      bad: (reason) => this.countBad(reason),
      warning: (reason) => count(this.warningByReason, reason),
    };
    this.sink = sink;
    this.parser = new WarcRecordParser(
      sink,
      options.limits,
      this.derived === null ? undefined : keepsDerivedBlock(this.derived),
      this.derived === null ? this.payloadCapture : null,
    );
    const memberSink: HeadOnlySink = {
      segment: (segment) => this.parser.feed(segment),
      damaged: (reason) => {
        this.countBad(reason);
        this.parser.reset();
      },
      skipUninflated: (byteCount, sourceEnd) =>
        this.parser instanceof WarcRecordParser && this.parser.skipUninflated(byteCount, sourceEnd),
    };
    // The one place the two paths are chosen: only the index schema's own records are read
    // head-only; the content schema needs every payload, WET and WAT rows their blocks.
    this.members =
      options.fullInflate === true || this.derived !== null || this.payloadCapture !== null
        ? new GzipMemberReader(memberSink, options.limits)
        : new HeadOnlyMemberReader(memberSink, options.limits);
  }

  /**
   * Reads the next chunk. The rows are those completed so far and not returned before; the
   * counters count what this call found (the job's totals are their sum, `addRecordCounters`).
   */
  push(chunk: Uint8Array, final: boolean): DecodedChunk {
    if (this.ended) throw new Error('invariant broken: push after the final chunk');
    this.ended = final;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.format === 'unknown')
      this.readWorking(this.carry.length === 0 ? bytes : Buffer.concat([this.carry, bytes]), final);
    else if (this.carry.length === 0) this.readWorking(bytes, final);
    else {
      const rest = this.readStraddling(bytes, final);
      if (rest !== null) this.readWorking(rest, final);
    }
    if (final) this.finish();
    return this.takeDecoded();
  }

  private readWorking(working: Buffer, final: boolean): void {
    if (this.format === 'unknown') this.detectFormat(working, final);
    const consumed = this.read(working, final);
    // Copied, so that a small carry never pins the caller's whole chunk in memory.
    this.carry = Buffer.from(working.subarray(consumed));
    this.carryOffset += consumed;
  }

  /**
   * Finishes the member cut by the last chunk's end, copying only as much of the new chunk
   * as it needs (a window that grows by doubling), not the whole 32 MiB chunk; returns the
   * rest of the chunk, which is read in place, or null when the chunk is used up.
   */
  private readStraddling(bytes: Buffer, final: boolean): Buffer | null {
    let carried = this.carry;
    let prefixBytes = Math.min(bytes.length, Math.max(straddleWindowBytes, carried.length));
    // Each turn doubles the window or ends: about 20 turns reach a 64 MiB member.
    for (let turn = 0; turn < 64; turn++) {
      const whole = prefixBytes === bytes.length;
      const joined = Buffer.concat([carried, bytes.subarray(0, prefixBytes)]);
      const consumed = this.read(joined, final && whole);
      this.carryOffset += consumed;
      if (consumed >= carried.length && !whole) {
        this.carry = Buffer.alloc(0);
        return bytes.subarray(consumed - carried.length);
      }
      if (whole) {
        this.carry = Buffer.from(joined.subarray(consumed));
        return null;
      }
      carried = carried.subarray(consumed);
      prefixBytes = Math.min(bytes.length, carried.length + 2 * prefixBytes);
    }
    throw new Error('invariant broken: a straddling member outgrew 64 doublings');
  }

  private detectFormat(working: Buffer, final: boolean): void {
    if (working.length === 0 && final)
      throw new FailureError(inputFault(`${this.input.uri}: empty file, no WARC record`));
    const detected = working.length === 0 ? null : detectArchiveFormat(working, final);
    if (detected === null) return;
    this.format = detected.container;
    if (detected.archive === 'arc') this.parser = new ArcRecordParser(this.sink, this.limits, this.payloadCapture);
  }

  private read(working: Buffer, final: boolean): number {
    if (this.format === 'gzip') return this.members.read(working, this.carryOffset, final);
    if (this.format === 'plain') {
      this.parser.feed({
        bytes: working,
        start: 0,
        end: working.length,
        identityOffset: this.carryOffset,
        memberOffset: 0,
        sourceEnd: 0,
      });
      return working.length;
    }
    return 0;
  }

  private finish(): void {
    const cut = this.parser.finish(this.members.endedInsideMember);
    if (this.members.endedInsideMember) this.countBad('truncated_gzip_member');
    else if (cut) this.countBad('truncated_record');
    this.flushPending();
    if (this.partOfFile) return;
    if (this.parser.recordCount + this.recordsBefore === 0) {
      // The damage says why: a header line past its limit is not the same fault as a text file.
      const damage = reasonCodesText(badRecordReasons, this.jobBadByReason);
      throw new FailureError(
        inputFault(
          `${this.input.uri}: not a WARC file, no WARC record found${damage === '' ? '' : ` (damage seen: ${damage})`}`,
        ),
      );
    }
    const lostAll = this.jobRows === 0 && this.jobSkipped === 0 && this.jobOtherTypes === 0;
    if (lostAll && Object.keys(this.jobBadByReason).length > 0) {
      const damage = reasonCodesText(badRecordReasons, this.jobBadByReason);
      throw new FailureError(inputFault(`${this.input.uri}: no row, every record was bad (${damage})`));
    }
  }

  /** Starts the job's tallies from the records read before this decoder's start, as if it had read them. */
  private countBefore(rows: number, counters: RecordCounters): void {
    this.jobRows = rows;
    this.jobSkipped = totalCount(counters.skippedByReason);
    for (const [type, times] of Object.entries(counters.byType)) {
      this.recordsBefore += times;
      if (!this.rowTypes.has(type) && !describesFile.has(type)) this.jobOtherTypes += times;
    }
    this.jobBadByReason = addReasonCounts(badRecordReasons, {}, counters.badByReason);
  }

  private countBad(reason: BadRecordCode): void {
    count(this.badByReason, reason);
    count(this.jobBadByReason, reason);
  }

  private onRecord(record: ParsedRecord): void {
    if (this.derived !== null) {
      if (this.rowTypes.has(record.type)) this.take(buildDerivedRow(this.derived, record, this.input), record);
      return;
    }
    if (record.type === 'metadata') {
      if (this.pending !== null && metadataDescribes(record, this.pending)) {
        this.emit(this.pending, record);
        this.pending = null;
      }
      return;
    }
    this.flushPending();
    if (rowRecordTypes.has(record.type)) this.pending = record;
  }

  private flushPending(): void {
    if (this.pending === null) return;
    this.emit(this.pending, null);
    this.pending = null;
  }

  private emit(record: ParsedRecord, metadata: ParsedRecord | null): void {
    this.take(buildCaptureRow(record, metadata, this.input), record);
  }

  /** Keeps a row, or counts why there is none. */
  private take(result: RowResult | DerivedRowResult, record: ParsedRecord): void {
    if (result.kind === 'bad') {
      this.countBad(result.reason);
      return;
    }
    if (result.kind === 'skipped') {
      count(this.skippedByReason, result.reason);
      this.jobSkipped++;
      return;
    }
    // The row filter sees the index columns only: a capture it drops costs no payload decoding.
    if (this.keep !== undefined && !this.keep(result.row)) {
      count(this.skippedByReason, 'filtered_out');
      this.jobSkipped++;
      return;
    }
    for (const warning of result.warnings) count(this.warningByReason, warning);
    const row = this.withContent(result, record);
    this.jobRows++;
    this.rows.push(row);
    this.rowBytes += estimateRowBytes(row);
  }

  /** The row with the content columns when the schema has them, their warnings counted. */
  private withContent(result: RowOf<RowResult | DerivedRowResult>, record: ParsedRecord): CaptureRow {
    if (this.payloadBounds === null) return result.row;
    // A WET text or WAT envelope is its own content: no HTTP payload to decode.
    const content =
      'content' in result
        ? addDerivedContentColumns(result.row, result.content, this.payloadBounds)
        : addContentColumns(result.row, record, this.payloadBounds);
    for (const warning of content.warnings) count(this.warningByReason, warning);
    return content.row;
  }

  private takeDecoded(): DecodedChunk {
    const counters = {
      byType: this.byType,
      badByReason: this.badByReason,
      skippedByReason: this.skippedByReason,
      warningByReason: this.warningByReason,
    };
    const decoded = { rows: this.rows, rowBytes: this.rowBytes, counters };
    this.rows = [];
    this.rowBytes = 0;
    this.byType = {};
    this.badByReason = {};
    this.skippedByReason = {};
    this.warningByReason = {};
    return decoded;
  }
}

type RowOf<Result> = Extract<Result, { readonly kind: 'row' }>;

function count<Key extends string>(counts: Partial<Record<Key, number>>, key: Key): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
