import { byteAt } from '../../core/checked-access.ts';
import { assert } from '../../core/failure.ts';
import type { BadRecordCode, RecordWarningCode } from '../../core/record-reasons.ts';
import { HeaderFields, LineReader } from './line-reader.ts';
import { PayloadCollector, type RawPayload } from './payload-collector.ts';
import { type WarcLimits, warcLimits } from './warc-limits.ts';

/**
 * A run of WARC bytes and where it came from in the input. Plain WARC bytes are the input
 * itself (`identityOffset` is the input offset of `bytes[start]`); inflated bytes came from a
 * gzip member starting at `memberOffset`, and the compressed bytes up to `sourceEnd` produced them.
 */
export interface Segment {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  readonly identityOffset: number | null;
  readonly memberOffset: number;
  readonly sourceEnd: number;
  /**
   * `bytes` is this segment's own Buffer, made for it and referenced by nothing else (a gzip
   * member's inflated output): a payload may keep a view of it instead of a copy.
   */
  readonly owned?: true;
}

/** A record read in full; only the parts the columns need are kept. */
export interface ParsedRecord {
  readonly type: string;
  readonly warc: HeaderFields;
  /** The HTTP status line of a response or revisit block, when it carries one. */
  readonly httpStatusLine: string | null;
  readonly http: HeaderFields | null;
  /** `name: value` lines of a metadata record's body. */
  readonly metadata: HeaderFields | null;
  /**
   * The HTTP body of a response (the block of a resource record), when the parser was asked
   * to keep payloads (`PayloadCapture`) and the record has one; null otherwise.
   */
  readonly payload: RawPayload | null;
  /** Input range of the record: see `Segment` and the decoder's notes on offsets. */
  readonly offset: number;
  readonly length: number;
  /** The block's bytes, for the record types the parser was asked to keep (`keepsBlock`). */
  readonly block?: KeptBlock;
}

/** A block kept whole, or its first `keptBlockBytesMax` bytes (`cut`). */
export interface KeptBlock {
  readonly bytes: Uint8Array;
  readonly cut: boolean;
}

/** Which records' blocks are kept, by WARC-Type: the others' are skipped by counting. */
export type KeepsBlock = (type: string) => boolean;

const keepsNoBlock: KeepsBlock = () => false;

/**
 * Asks the parser to keep payloads (the content schema), and how much of each: a body sent as
 * is needs only the bytes the column keeps; an encoded one needs its bytes to be decoded.
 */
export interface PayloadCapture {
  /** Bytes kept of a body with no Content-Encoding or chunking (and of a resource record's block). */
  readonly plainBytesMax: number;
  /** Bytes kept of a body that must be decoded. */
  readonly encodedBytesMax: number;
}

/** Where the parser reports what it read. */
export interface RecordSink {
  /** A record's WARC header was read (counted by type, good or bad). */
  recordType(type: string): void;
  record(record: ParsedRecord): void;
  bad(reason: BadRecordCode): void;
  /**
   * A record was read whole, but not quite as written: its block runs a few bytes past its
   * Content-Length, up to a line end (`content_length_short_of_block`).
   */
  warning(reason: RecordWarningCode): void;
}

type State =
  | 'record-start'
  | 'block-rest'
  | 'seek'
  | 'warc-header'
  | 'http-header'
  | 'metadata-body'
  | 'skip-block'
  | 'keep-block';

/** States that read a block's bytes. */
const blockStates: ReadonlySet<State> = new Set<State>(['http-header', 'metadata-body', 'skip-block', 'keep-block']);
const recordMagic = Buffer.from('WARC/', 'latin1');
const lineFeed = 0x0a;
const carriageReturn = 0x0d;
const versionPattern = /^\d+\.\d+\s*$/;

/** The record being read. */
interface OpenRecord {
  warc: HeaderFields;
  type: string;
  httpStatusLine: string | null;
  http: HeaderFields | null;
  metadata: HeaderFields | null;
  payload: PayloadCollector | null;
  offset: number;
  end: number;
  badReason: BadRecordCode | null;
  /** Pieces of a kept block, copied (`keep-block`); null when the block is not kept. */
  kept: Buffer[] | null;
  keptBytes: number;
  keptCut: boolean;
}

/**
 * Reads WARC records from bytes fed in order, in pieces of any size. It keeps only header
 * lines (bounded) and skips block bytes by counting, so a record's body is never copied.
 *
 * A record is confirmed, and handed to the sink, when the next `WARC/` follows it (after at
 * most `trailerBytesMax` CR/LF) or the input ends: that is how a wrong Content-Length is
 * caught. Two cases are mended as warcio mends them: bytes right after the block, up to a line
 * end within `blockRestBytesMax`, then the next `WARC/` (a Content-Length a byte or two short:
 * the record is kept with a warning); and a record closed by its two line ends and followed by
 * something that is not a record (the record is kept, the rest counted as non-WARC data).
 * After damage it scans for a line that starts with `WARC/` and a version.
 */
export class WarcRecordParser {
  private state: State = 'record-start';
  /** A mismatch while seeking is expected and not counted again. */
  private seeking = false;
  private matched = 0;
  private trailerBytes = 0;
  /** Line feeds among the trailer's bytes: two close a record as WARC writes it. */
  private trailerLineEnds = 0;
  /** The block before ran past its Content-Length up to a line end (see `blockRest`). */
  private shortBlock = false;
  private blockRestBytes = 0;
  private headerBytes = 0;
  private blockRemaining = 0;
  private firstLine = true;
  private readonly lines: LineReader;
  private open: OpenRecord | null = null;
  private finished: OpenRecord | null = null;
  private recordsSeen = 0;
  /** The gzip member the last inflated bytes came from, to see where a new one starts. */
  private lastMemberOffset = -1;

  constructor(
    private readonly sink: RecordSink,
    private readonly limits: WarcLimits = warcLimits,
    private readonly keepsBlock: KeepsBlock = keepsNoBlock,
    private readonly capture: PayloadCapture | null = null,
  ) {
    this.lines = new LineReader(limits);
  }

  /** Records whose WARC header was read so far. */
  get recordCount(): number {
    return this.recordsSeen;
  }

  feed(segment: Segment): void {
    const newMember = segment.identityOffset === null && segment.memberOffset !== this.lastMemberOffset;
    this.lastMemberOffset = segment.memberOffset;
    if (newMember && this.startsRecordInsideBlock(segment)) this.cutAtMemberStart();
    // After damage, a new gzip member is a place where a record may start, like a new line:
    // without this a record whose member follows a damaged line (one past its limit, or text
    // with no line end) was lost uncounted, its `WARC/1.0` line taken for the damaged line's end.
    else if (newMember && this.state === 'seek') this.enterRecordStart(true);
    // One member a record: the member's end ends the bytes past the block as a line end would.
    else if (newMember && this.state === 'block-rest') this.endBlockRest();
    let index = segment.start;
    // Each step consumes at least one byte or changes state towards one that does.
    let steps = 0;
    const stepsMax = 4 * (segment.end - segment.start) + 16;
    while (index < segment.end) {
      if (++steps > stepsMax) throw new Error('invariant broken: WARC parser made no progress');
      index = this.step(segment, index);
    }
  }

  /**
   * Ends the input. Returns true when a record was cut off (the caller names the reason:
   * a truncated gzip member or a truncated file).
   */
  finish(): boolean {
    if (this.state === 'block-rest') this.endBlockRest();
    if (this.state === 'record-start' && this.matched === 0 && this.shortBlock) this.warnShortBlock();
    if (this.state === 'record-start' || this.state === 'seek') {
      this.confirmFinished();
      // The input ended inside the `WARC/` that starts a record.
      return this.state === 'record-start' && this.matched > 0;
    }
    if (this.state === 'warc-header' && this.open !== null && this.headerOnlyRecordEnds()) {
      this.finishBlock();
      this.confirmFinished();
      return false;
    }
    this.confirmFinished();
    const cut = this.open !== null;
    this.open = null;
    this.state = 'seek';
    return cut;
  }

  /**
   * Counts the rest of a block as read without its bytes, for a reader that did not inflate
   * them (head-only-member-reader.ts), as `skipBlock` would have counted them. Only while
   * skipping a block with exactly `byteCount` bytes left; otherwise returns false and changes nothing.
   */
  skipUninflated(byteCount: number, sourceEnd: number): boolean {
    if (this.state !== 'skip-block' || this.blockRemaining !== byteCount || byteCount === 0) return false;
    this.blockRemaining = 0;
    this.current().end = sourceEnd;
    this.finishBlock();
    return true;
  }

  /**
   * Forgets the record being read after damage outside the parser (a corrupt gzip member);
   * a record already read in full is still handed over. The next bytes may be mid-record.
   */
  reset(): void {
    this.confirmFinished();
    this.open = null;
    this.lines.clear();
    this.enterRecordStart(true);
  }

  /**
   * A new gzip member that starts with a record while the block before it is still being
   * read: the block's Content-Length is too large. Where each record has its own member
   * (CommonCrawl, and what warcio reads), the member boundary is the record boundary, so the
   * record is cut there and the next one is read, instead of being swallowed by the block.
   */
  private startsRecordInsideBlock(segment: Segment): boolean {
    if (this.blockRemaining === 0 || this.open === null) return false;
    if (!blockStates.has(this.state)) return false;
    const bytes = segment.bytes;
    const start = segment.start;
    const versionDigit = bytes[start + recordMagic.length];
    return (
      segment.end - start > recordMagic.length &&
      bytes.compare(recordMagic, 0, recordMagic.length, start, start + recordMagic.length) === 0 &&
      versionDigit !== undefined &&
      versionDigit >= 0x30 &&
      versionDigit <= 0x39
    );
  }

  private cutAtMemberStart(): void {
    this.sink.bad('wrong_content_length');
    this.open = null;
    this.blockRemaining = 0;
    this.lines.clear();
    this.enterRecordStart(false);
  }

  private step(segment: Segment, index: number): number {
    switch (this.state) {
      case 'record-start':
        return this.recordStart(segment, index);
      case 'block-rest':
        return this.blockRest(segment, index);
      case 'seek':
        return this.seek(segment, index);
      case 'warc-header':
        return this.warcHeader(segment, index);
      case 'http-header':
        return this.httpHeader(segment, index);
      case 'metadata-body':
        return this.metadataBody(segment, index);
      case 'skip-block':
        return this.skipBlock(segment, index);
      case 'keep-block':
        return this.keepBlock(segment, index);
    }
  }

  private enterRecordStart(seeking: boolean): void {
    this.state = 'record-start';
    this.seeking = seeking;
    this.matched = 0;
    this.trailerBytes = 0;
    this.trailerLineEnds = 0;
    this.shortBlock = false;
  }

  private recordStart(segment: Segment, index: number): number {
    const bytes = segment.bytes;
    while (index < segment.end) {
      const byte = byteAt(bytes, index);
      if (this.matched === 0 && (byte === carriageReturn || byte === lineFeed)) {
        if (++this.trailerBytes > this.limits.trailerBytesMax) return this.damaged(index + 1);
        if (byte === lineFeed) this.trailerLineEnds++;
        index++;
        if (this.finished !== null) this.finished.end = endOffset(segment, index);
        continue;
      }
      if (byte !== recordMagic[this.matched]) {
        const rightAfterBlock = this.finished !== null && !this.seeking && !this.shortBlock && this.trailerBytes === 0;
        return rightAfterBlock ? this.startBlockRest(index) : this.damaged(index);
      }
      if (this.matched === 0) this.beginRecord(segment, index);
      index++;
      if (++this.matched === recordMagic.length) {
        if (this.shortBlock) this.warnShortBlock();
        this.confirmFinished();
        this.state = 'warc-header';
        return index;
      }
    }
    return index;
  }

  /**
   * The bytes where a record should start are something else. A record closed by its two line
   * ends was whole: it is kept and what follows it is the damage. Otherwise its Content-Length
   * did not lead to the next record, and the record is lost with it.
   */
  private damaged(index: number): number {
    if (this.finished !== null && !this.shortBlock && this.trailerLineEnds >= 2) {
      this.confirmFinished();
      if (!this.seeking) this.sink.bad('non_warc_data');
    } else if (!this.seeking) this.sink.bad(this.finished !== null ? 'wrong_content_length' : 'non_warc_data');
    this.finished = null;
    this.open = null;
    this.state = 'seek';
    this.seeking = true;
    return index;
  }

  /**
   * Bytes right after a block, where a record or its closing line ends should be: the block
   * may run on past its Content-Length (a writer that counted a byte or two short). The bytes
   * matched of a `WARC/` that was not one are part of them.
   */
  private startBlockRest(index: number): number {
    this.state = 'block-rest';
    this.blockRestBytes = this.matched;
    this.open = null;
    return index;
  }

  /** Reads to the line end that closes the block's rest, or gives up past `blockRestBytesMax`. */
  private blockRest(segment: Segment, index: number): number {
    const allowed = this.limits.blockRestBytesMax - this.blockRestBytes;
    const window = Math.min(segment.end, index + allowed + 1);
    const lineEnd = segment.bytes.subarray(index, window).indexOf(lineFeed);
    if (lineEnd === -1) {
      this.blockRestBytes += window - index;
      if (this.blockRestBytes > this.limits.blockRestBytesMax) return this.damaged(window);
      this.lastFinished().end = endOffset(segment, window);
      return window;
    }
    const next = index + lineEnd + 1;
    this.lastFinished().end = endOffset(segment, next);
    this.endBlockRest();
    return next;
  }

  /** The block's rest ended: the closing line ends and the next `WARC/` may follow. */
  private endBlockRest(): void {
    this.enterRecordStart(false);
    this.shortBlock = true;
  }

  private warnShortBlock(): void {
    if (this.finished !== null && this.finished.badReason === null) this.sink.warning('content_length_short_of_block');
  }

  private seek(segment: Segment, index: number): number {
    const lineEnd = segment.bytes.indexOf(lineFeed, index);
    if (lineEnd === -1 || lineEnd >= segment.end) return segment.end;
    this.enterRecordStart(true);
    return lineEnd + 1;
  }

  private beginRecord(segment: Segment, index: number): void {
    const offset =
      segment.identityOffset === null ? segment.memberOffset : segment.identityOffset + (index - segment.start);
    this.open = {
      warc: new HeaderFields(),
      type: 'unknown',
      httpStatusLine: null,
      http: null,
      metadata: null,
      payload: null,
      offset,
      end: offset,
      badReason: null,
      kept: null,
      keptBytes: 0,
      keptCut: false,
    };
    this.headerBytes = 0;
    this.firstLine = true;
    this.lines.clear();
  }

  private warcHeader(segment: Segment, index: number): number {
    const open = this.current();
    const kind = this.lines.readRange(segment.bytes, index, segment.end);
    if (kind === 'partial') return this.consumedHeader(segment, segment.end, segment.end - index);
    if (kind === 'too-long') return this.headerDamage(index, 'warc_header_line_too_long');
    const line = this.lines.line;
    const next = this.consumedHeader(segment, line.next, line.next - index);
    if (this.headerBytes > this.limits.headerBlockBytesMax)
      return this.headerDamage(next, 'warc_header_block_too_long');
    if (this.firstLine) {
      this.firstLine = false;
      if (!versionPattern.test(line.text())) return this.damagedVersion(next);
      return next;
    }
    if (!line.empty) {
      open.warc.addBytes(line.bytes, line.start, line.end);
      return next;
    }
    return this.headerEnded(next);
  }

  private consumedHeader(segment: Segment, next: number, bytes: number): number {
    this.headerBytes += bytes;
    this.current().end = endOffset(segment, next);
    return next;
  }

  private damagedVersion(next: number): number {
    // `WARC/` followed by no version: not a record start after all.
    if (!this.seeking) this.sink.bad('non_warc_data');
    this.open = null;
    this.state = 'seek';
    this.seeking = true;
    return next;
  }

  private headerDamage(index: number, reason: BadRecordCode): number {
    this.sink.bad(reason);
    this.open = null;
    this.lines.clear();
    this.state = 'seek';
    this.seeking = true;
    return index;
  }

  private headerEnded(next: number): number {
    const open = this.current();
    open.type = open.warc.get('warc-type') ?? 'unknown';
    this.recordsSeen++;
    this.sink.recordType(open.type);
    const contentLength = parseContentLength(open.warc.get('content-length'));
    if (contentLength === null) return this.headerDamage(next, 'invalid_content_length');
    this.blockRemaining = contentLength;
    this.headerBytes = 0;
    this.firstLine = true;
    if (this.keepsBlock(open.type)) {
      open.kept = [];
      this.state = 'keep-block';
    } else if (open.type === 'response' || open.type === 'revisit') {
      open.http = new HeaderFields(this.capture !== null);
      this.state = 'http-header';
    } else if (open.type === 'metadata') {
      open.metadata = new HeaderFields();
      this.state = 'metadata-body';
    } else {
      if (open.type === 'resource' && this.capture !== null)
        open.payload = new PayloadCollector(this.capture.plainBytesMax);
      this.state = 'skip-block';
    }
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  private httpHeader(segment: Segment, index: number): number {
    const open = this.current();
    const line = this.blockLine(segment, index, this.limits.headerBlockBytesMax);
    if (line.kind === 'more') return line.next;
    if (line.kind === 'past-limit') {
      open.badReason = 'http_header_too_long';
      return this.startSkip(line.next);
    }
    const range = this.lines.line;
    if (this.firstLine) {
      this.firstLine = false;
      const text = range.text();
      if (!text.startsWith('HTTP/')) return this.startSkip(line.next);
      open.httpStatusLine = text;
      return this.afterBlockLine(line.next);
    }
    if (range.empty) {
      this.collectBody(open);
      return this.startSkip(line.next);
    }
    assert(open.http !== null, 'HTTP header state without HTTP header fields');
    open.http.addBytes(range.bytes, range.start, range.end);
    return this.afterBlockLine(line.next);
  }

  /**
   * The HTTP header of a response ended: its body is kept when payloads are. A revisit's body
   * is no payload (the record it refers to holds it).
   */
  private collectBody(open: OpenRecord): void {
    if (this.capture === null || open.type !== 'response' || open.http === null) return;
    const plain = open.http.get('content-encoding') === null && open.http.get('transfer-encoding') === null;
    open.payload = new PayloadCollector(plain ? this.capture.plainBytesMax : this.capture.encodedBytesMax);
  }

  private metadataBody(segment: Segment, index: number): number {
    const line = this.blockLine(segment, index, this.limits.metadataBodyBytesMax);
    if (line.kind === 'more') return line.next;
    // Past the limit the remaining lines are skipped: the record itself is fine.
    if (line.kind === 'past-limit') return this.startSkip(line.next);
    const range = this.lines.line;
    if (range.empty) return this.afterBlockLine(line.next);
    const metadata = this.current().metadata;
    assert(metadata !== null, 'metadata state without metadata fields');
    metadata.addBytes(range.bytes, range.start, range.end);
    return this.afterBlockLine(line.next);
  }

  /** Reads one line of the block, never past the block's end; a line is left at `this.lines.line`. */
  private blockLine(
    segment: Segment,
    index: number,
    blockBytesMax: number,
  ): { kind: 'line' | 'more' | 'past-limit'; next: number } {
    const limit = Math.min(segment.end, index + this.blockRemaining);
    const kind = this.lines.readRange(segment.bytes, index, limit);
    if (kind === 'too-long') return { kind: 'past-limit', next: index };
    const next = kind === 'line' ? this.lines.line.next : limit;
    this.blockRemaining -= next - index;
    this.headerBytes += next - index;
    this.current().end = endOffset(segment, next);
    if (this.headerBytes > blockBytesMax) {
      this.lines.clear();
      return { kind: 'past-limit', next };
    }
    if (kind === 'partial') {
      // The block ended inside a line: the header is cut short; what was read stands.
      if (this.blockRemaining === 0) this.finishBlock();
      return { kind: 'more', next };
    }
    return { kind: 'line', next };
  }

  private afterBlockLine(next: number): number {
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  private startSkip(next: number): number {
    this.lines.clear();
    this.state = 'skip-block';
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  private skipBlock(segment: Segment, index: number): number {
    const skipped = Math.min(this.blockRemaining, segment.end - index);
    this.blockRemaining -= skipped;
    const next = index + skipped;
    this.open?.payload?.add(segment.bytes, index, next, segment.owned === true);
    this.current().end = endOffset(segment, next);
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  /** Copies the block's bytes, up to `keptBlockBytesMax`; the rest is counted past, as `skipBlock` does. */
  private keepBlock(segment: Segment, index: number): number {
    const open = this.current();
    const taken = Math.min(this.blockRemaining, segment.end - index);
    const room = Math.max(0, this.limits.keptBlockBytesMax - open.keptBytes);
    const copied = Math.min(taken, room);
    if (copied > 0 && open.kept !== null) {
      // Copied: the segment's buffer is the inflated member or the caller's chunk, reused after this call.
      open.kept.push(Buffer.from(segment.bytes.subarray(index, index + copied)));
      open.keptBytes += copied;
    }
    if (copied < taken) open.keptCut = true;
    this.blockRemaining -= taken;
    const next = index + taken;
    open.end = endOffset(segment, next);
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  /** The record being read: every state from the WARC header to the block's end has one. */
  private current(): OpenRecord {
    if (this.open === null)
      throw new Error(`invariant broken: WARC parser in state ${this.state} without an open record`);
    return this.open;
  }

  /** The record whose block was read last: the state after its block has one. */
  private lastFinished(): OpenRecord {
    if (this.finished === null)
      throw new Error(`invariant broken: WARC parser in state ${this.state} without a finished record`);
    return this.finished;
  }

  /** The block is read: the record waits for the next record start to confirm it. */
  private finishBlock(): void {
    this.lines.clear();
    this.finished = this.open;
    this.open = null;
    this.enterRecordStart(false);
  }

  private confirmFinished(): void {
    const record = this.finished;
    this.finished = null;
    if (record === null) return;
    if (record.badReason !== null) {
      this.sink.bad(record.badReason);
      return;
    }
    const parsed: ParsedRecord = {
      type: record.type,
      warc: record.warc,
      httpStatusLine: record.httpStatusLine,
      http: record.http,
      metadata: record.metadata,
      payload: record.payload === null ? null : record.payload.take(),
      offset: record.offset,
      length: record.end - record.offset,
    };
    // One object literal for the records without a kept block (all of the index's), no spread.
    this.sink.record(
      record.kept === null ? parsed : { ...parsed, block: { bytes: joined(record.kept), cut: record.keptCut } },
    );
  }

  /**
   * A header that the input ends without a blank line after (WARC 0.18 writers, jwarc's
   * fold.warc) is a whole record when it announces an empty block.
   */
  private headerOnlyRecordEnds(): boolean {
    const open = this.current();
    if (this.firstLine || parseContentLength(open.warc.get('content-length')) !== 0) return false;
    open.type = open.warc.get('warc-type') ?? 'unknown';
    this.recordsSeen++;
    this.sink.recordType(open.type);
    return true;
  }
}

/** The pieces of a kept block as one buffer; a block that came in one piece (most) is not copied again. */
function joined(pieces: readonly Buffer[]): Buffer {
  const [first] = pieces;
  return pieces.length === 1 && first !== undefined ? first : Buffer.concat(pieces);
}

function endOffset(segment: Segment, index: number): number {
  return segment.identityOffset === null ? segment.sourceEnd : segment.identityOffset + (index - segment.start);
}

function parseContentLength(value: string | null): number | null {
  if (value === null || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}
