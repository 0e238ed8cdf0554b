import { createHash, type Hash } from 'node:crypto';
import { at, byteAt } from '../../core/checked-access.ts';
import { assert } from '../../core/failure.ts';
import type { BadRecordCode } from '../../core/record-reasons.ts';
import { HeaderFields, LineReader } from './line-reader.ts';
import { PayloadCollector } from './payload-collector.ts';
import type { RecordParser } from './record-parser.ts';
import { type WarcLimits, warcLimits } from './warc-limits.ts';
import type { ParsedRecord, PayloadCapture, RecordSink, Segment } from './warc-record-parser.ts';

/** The first bytes of an ARC file: the URL of its version block record. */
export const arcFileMagic = Buffer.from('filedesc://', 'latin1');

export function startsArcFile(bytes: Uint8Array): boolean {
  return bytes.length >= arcFileMagic.length && arcFileMagic.equals(bytes.subarray(0, arcFileMagic.length));
}

/** Whether bytes start an ARC file, or an ARC record's header line (of either version). */
export function startsArcRecord(bytes: Buffer): boolean {
  if (startsArcFile(bytes)) return true;
  const lineEnd = bytes.subarray(0, warcLimits.headerLineBytesMax).indexOf(lineFeed);
  if (lineEnd === -1) return false;
  const line = bytes.toString('utf8', 0, lineEnd);
  return Object.values(fieldCountByVersion).some((count) => parseArcHeaderLine(line, count) !== null);
}

/**
 * Fields of a record's header line. Version 1: `URL IP-address Archive-date Content-type
 * Archive-length`; version 2 puts `Result-code Checksum Location Offset Filename` before the length.
 */
const fieldCountByVersion: Readonly<Record<string, number>> = { 1: 5, 2: 10 };
const versionOneFieldCount = 5;

/** What a record's header line says. */
export interface ArcHeaderLine {
  readonly url: string;
  readonly ipAddress: string;
  readonly date: string;
  readonly contentType: string;
  readonly length: number;
}

/** A URL starts with its scheme (`http:`, `dns:`, `filedesc:`): a body line rarely does. */
const schemePattern = /^[a-z][a-z0-9+.-]*:/i;
const datePattern = /^\d{12,20}$/;
const lengthPattern = /^\d{1,15}$/;

/**
 * Reads a header line of `fieldCount` fields. Fields are counted from the right, so a URL
 * holding spaces (Heritrix wrote them unescaped) keeps its words: they are joined with `%20`,
 * or with `+` once the URL has a query, as CommonCrawl's own ARC indexing joins them.
 */
export function parseArcHeaderLine(line: string, fieldCount: number): ArcHeaderLine | null {
  const parts = line.trimEnd().split(' ');
  if (parts.length < fieldCount) return null;
  const urlWords = parts.length - fieldCount + 1;
  const [ipAddress, date, contentType] = parts.slice(urlWords);
  const length = parts[parts.length - 1];
  const first = parts[0];
  // A field count below five leaves some of these out: no line is a header line then.
  if (first === undefined || ipAddress === undefined || date === undefined || contentType === undefined) return null;
  if (length === undefined || !schemePattern.test(first) || ipAddress.length === 0 || contentType.length === 0)
    return null;
  if (!datePattern.test(date) || !lengthPattern.test(length)) return null;
  const url = urlWords === 1 ? first : parts.slice(0, urlWords).join(first.includes('?') ? '+' : '%20');
  return { url, ipAddress, date, contentType, length: Number(length) };
}

/** `20040925001013` (or longer, or minute precision) as a WARC-Date. */
function isoDate(digits: string): string {
  const d = digits.length >= 14 ? digits.slice(0, 14) : digits.padEnd(14, '0');
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(8, 10)}:${d.slice(10, 12)}:${d.slice(12, 14)}Z`;
}

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, the form of WARC's `sha1:` digests. */
export function base32(bytes: Uint8Array): string {
  let text = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      text += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) text += base32Alphabet[(value << (5 - bits)) & 31];
  return text.padEnd(Math.ceil(text.length / 8) * 8, '=');
}

type State = 'start' | 'header' | 'version' | 'http-header' | 'payload' | 'skip-block' | 'seek';

interface OpenRecord {
  readonly type: string;
  readonly warc: HeaderFields;
  httpStatusLine: string | null;
  http: HeaderFields | null;
  payload: Hash | null;
  /** The HTTP body, when payloads are kept (the content schema). */
  body: PayloadCollector | null;
  offset: number;
  end: number;
  badReason: BadRecordCode | null;
}

const lineFeed = 0x0a;
const carriageReturn = 0x0d;
const httpSchemes = /^https?:/i;

/**
 * Reads ARC records (version 1, and version 2's longer header lines) into the records the WARC
 * parser gives, as warcio reads ARC as WARC: the `filedesc://` version block is a `warcinfo`
 * record, every other record a `response` whose target URI, date, IP address and length come
 * from its header line. An ARC record has no digest: the payload's SHA-1 (the bytes after the
 * HTTP header, as stored) is computed in base32, as cdxj-indexer computes it.
 *
 * A record whose header line parses is confirmed when the next one parses, its gzip member
 * ends, or the input ends. In a file of one gzip member a record (Heritrix, CommonCrawl) the
 * member is the record: an Archive-length running past the member ends the record there, and
 * bytes left in the member after the block are skipped, as warcio reads them. In a plain ARC
 * the length is all there is: a block not closed by a line feed had a wrong length, and its
 * record counts as bad; other bytes where a header line should be are damage of their own.
 * After damage the parser looks for the next line that reads as a header line.
 */
export class ArcRecordParser implements RecordParser {
  private state: State = 'start';
  /** After damage: lines that do not read as a header line are skipped without being counted. */
  private seeking = false;
  private separatorBytes = 0;
  private blockRemaining = 0;
  private headerBytes = 0;
  private firstLine = true;
  private fieldCount = versionOneFieldCount;
  private readonly lines: LineReader;
  private open: OpenRecord | null = null;
  private finished: OpenRecord | null = null;
  private recordsSeen = 0;
  private lastMemberOffset = -1;
  private inflated = false;

  constructor(
    private readonly sink: RecordSink,
    private readonly limits: WarcLimits = warcLimits,
    private readonly capture: PayloadCapture | null = null,
  ) {
    this.lines = new LineReader(limits);
  }

  get recordCount(): number {
    return this.recordsSeen;
  }

  feed(segment: Segment): void {
    if (segment.identityOffset === null) {
      this.inflated = true;
      if (segment.memberOffset !== this.lastMemberOffset) this.memberStarts(segment);
      this.lastMemberOffset = segment.memberOffset;
    }
    let index = segment.start;
    // Each step consumes at least one byte or changes state towards one that does.
    let steps = 0;
    const stepsMax = 4 * (segment.end - segment.start) + 16;
    while (index < segment.end) {
      if (++steps > stepsMax) throw new Error('invariant broken: ARC parser made no progress');
      index = this.step(segment, index);
    }
  }

  finish(endedInsideMember: boolean): boolean {
    if (this.state === 'start' || this.state === 'seek') {
      this.confirmFinished();
      return false;
    }
    if (this.inflated && !endedInsideMember && this.state !== 'header') {
      // The last member is whole, and so is its record, whatever its Archive-length says.
      this.finishBlock();
      this.confirmFinished();
      return false;
    }
    // The input ended inside a header line or a block: the record before it stands. A line
    // read while seeking after damage is no record, and its damage was counted already.
    this.confirmFinished();
    const cut = this.open !== null && !this.seeking;
    this.open = null;
    this.lines.clear();
    this.enterStart(true);
    return cut;
  }

  reset(): void {
    this.confirmFinished();
    this.open = null;
    this.lines.clear();
    this.enterStart(true);
  }

  /** A new gzip member: in a file of one member a record, a record boundary. */
  private memberStarts(segment: Segment): void {
    if (this.state === 'start' || this.state === 'seek') {
      this.confirmFinished();
      this.enterStart(this.seeking);
    } else if (this.state === 'header') {
      if (!this.seeking) this.sink.bad('invalid_arc_header_line');
      this.open = null;
      this.lines.clear();
      this.enterStart(true);
    } else if (this.startsWithHeaderLine(segment)) {
      // The Archive-length runs past the member: the member's end is the record's.
      this.finishBlock();
    }
  }

  private startsWithHeaderLine(segment: Segment): boolean {
    const searchEnd = Math.min(segment.end, segment.start + this.limits.headerLineBytesMax);
    const lineEnd = segment.bytes.indexOf(lineFeed, segment.start);
    if (lineEnd === -1 || lineEnd >= searchEnd) return false;
    return parseArcHeaderLine(segment.bytes.toString('utf8', segment.start, lineEnd), this.fieldCount) !== null;
  }

  private step(segment: Segment, index: number): number {
    switch (this.state) {
      case 'start':
        return this.recordStart(segment, index);
      case 'header':
        return this.headerLine(segment, index);
      case 'version':
        return this.versionBlock(segment, index);
      case 'http-header':
        return this.httpHeader(segment, index);
      case 'payload':
        return this.readBlock(segment, index, true);
      case 'skip-block':
        return this.readBlock(segment, index, false);
      case 'seek':
        return this.seek(segment, index);
    }
  }

  private enterStart(seeking: boolean): void {
    this.state = 'start';
    this.seeking = seeking;
    this.separatorBytes = 0;
  }

  /** Skips the line feeds that end a record, up to the next header line. */
  private recordStart(segment: Segment, index: number): number {
    const bytes = segment.bytes;
    while (index < segment.end) {
      const byte = byteAt(bytes, index);
      if (byte !== lineFeed && byte !== carriageReturn) {
        this.beginRecord(segment, index);
        this.state = 'header';
        return index;
      }
      index++;
      const tooMany = ++this.separatorBytes > this.limits.trailerBytesMax;
      if (tooMany && !this.seeking) return this.damaged(index, 'non_arc_data');
      if (this.finished !== null) this.finished.end = endOffset(segment, index);
    }
    return index;
  }

  private beginRecord(segment: Segment, index: number): void {
    const offset =
      segment.identityOffset === null ? segment.memberOffset : segment.identityOffset + (index - segment.start);
    this.open = {
      type: 'unknown',
      warc: new HeaderFields(),
      httpStatusLine: null,
      http: null,
      payload: null,
      body: null,
      offset,
      end: offset,
      badReason: null,
    };
    this.lines.clear();
  }

  private headerLine(segment: Segment, index: number): number {
    const result = this.lines.read(segment.bytes, index, segment.end);
    if (result.kind === 'partial') {
      this.current().end = endOffset(segment, segment.end);
      return segment.end;
    }
    if (result.kind === 'too-long') return this.damaged(index, 'arc_header_line_too_long');
    const header = result.text.startsWith('filedesc://')
      ? parseVersionBlockLine(result.text)
      : parseArcHeaderLine(result.text, this.fieldCount);
    if (header === null) {
      this.damaged(result.next, 'invalid_arc_header_line');
      // At a line start: the next line may be a header line.
      this.enterStart(true);
      return result.next;
    }
    this.confirmFinished();
    this.seeking = false;
    return this.headerRead(segment, header, result.next);
  }

  private headerRead(segment: Segment, header: ArcHeaderLine, next: number): number {
    const versionBlock = header.url.startsWith('filedesc://');
    const http = !versionBlock && httpSchemes.test(header.url);
    const type = versionBlock ? 'warcinfo' : 'response';
    const open: OpenRecord = { ...this.current(), type, end: endOffset(segment, next) };
    this.open = open;
    for (const line of [
      `WARC-Type: ${type}`,
      versionBlock ? `WARC-Filename: ${header.url.slice(arcFileMagic.length)}` : `WARC-Target-URI: ${header.url}`,
      `WARC-Date: ${isoDate(header.date)}`,
      `WARC-IP-Address: ${header.ipAddress}`,
      // The block of an HTTP capture is the HTTP response; of anything else (dns:), the document.
      `Content-Type: ${http ? 'application/http; msgtype=response' : header.contentType}`,
      `Content-Length: ${header.length}`,
    ])
      open.warc.add(line);
    this.recordsSeen++;
    this.sink.recordType(type);
    this.blockRemaining = header.length;
    this.headerBytes = 0;
    this.firstLine = true;
    if (versionBlock) this.state = 'version';
    else if (http) {
      open.http = new HeaderFields(this.capture !== null);
      this.state = 'http-header';
    } else this.state = 'skip-block';
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  /** The version block's first line gives the version, and so the fields of every header line. */
  private versionBlock(segment: Segment, index: number): number {
    const line = this.blockLine(segment, index);
    if (line.kind !== 'line') return line.next;
    const major = at(line.text.trim().split(' ', 1), 0);
    this.fieldCount = fieldCountByVersion[major] ?? versionOneFieldCount;
    return this.startSkip(line.next);
  }

  private httpHeader(segment: Segment, index: number): number {
    const open = this.current();
    const line = this.blockLine(segment, index);
    if (line.kind === 'more') return line.next;
    if (line.kind === 'past-limit') {
      open.badReason = 'http_header_too_long';
      return this.startSkip(line.next);
    }
    if (this.firstLine) {
      this.firstLine = false;
      if (!line.text.startsWith('HTTP/')) return this.startSkip(line.next);
      open.httpStatusLine = line.text;
      open.payload = createHash('sha1');
    } else if (line.text.length === 0) {
      this.lines.clear();
      this.state = 'payload';
      open.body = this.bodyCollector(open);
    } else {
      assert(open.http !== null, 'HTTP header state without HTTP header fields');
      open.http.add(line.text);
    }
    if (this.blockRemaining === 0) this.finishBlock();
    return line.next;
  }

  /** A collector for the HTTP body when payloads are kept, sized as the WARC parser sizes it. */
  private bodyCollector(open: OpenRecord): PayloadCollector | null {
    if (this.capture === null || open.http === null) return null;
    const plain = open.http.get('content-encoding') === null && open.http.get('transfer-encoding') === null;
    return new PayloadCollector(plain ? this.capture.plainBytesMax : this.capture.encodedBytesMax);
  }

  /** Reads one line of the block, never past the block's end. */
  private blockLine(
    segment: Segment,
    index: number,
  ):
    | { kind: 'line'; text: string; next: number }
    | { kind: 'more'; next: number }
    | { kind: 'past-limit'; next: number } {
    const limit = Math.min(segment.end, index + this.blockRemaining);
    const result = this.lines.read(segment.bytes, index, limit);
    if (result.kind === 'too-long') return { kind: 'past-limit', next: index };
    const next = result.kind === 'line' ? result.next : limit;
    this.blockRemaining -= next - index;
    this.headerBytes += next - index;
    this.current().end = endOffset(segment, next);
    if (this.headerBytes > this.limits.headerBlockBytesMax) {
      this.lines.clear();
      return { kind: 'past-limit', next };
    }
    if (result.kind === 'partial') {
      // The block ended inside a line: the header is cut short; what was read stands.
      if (this.blockRemaining === 0) this.finishBlock();
      return { kind: 'more', next };
    }
    return { kind: 'line', text: result.text, next };
  }

  private startSkip(next: number): number {
    this.lines.clear();
    this.state = 'skip-block';
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  private readBlock(segment: Segment, index: number, hashed: boolean): number {
    const taken = Math.min(this.blockRemaining, segment.end - index);
    const next = index + taken;
    if (hashed) {
      this.current().payload?.update(segment.bytes.subarray(index, next));
      this.current().body?.add(segment.bytes, index, next);
    }
    this.blockRemaining -= taken;
    this.current().end = endOffset(segment, next);
    if (this.blockRemaining === 0) this.finishBlock();
    return next;
  }

  /** The record being read: every state from the header line to the block's end has one. */
  private current(): OpenRecord {
    if (this.open === null)
      throw new Error(`invariant broken: ARC parser in state ${this.state} without an open record`);
    return this.open;
  }

  /** The block is read: the record waits for the next header line, member or the input's end. */
  private finishBlock(): void {
    this.lines.clear();
    this.blockRemaining = 0;
    this.finished = this.open;
    this.open = null;
    this.enterStart(false);
  }

  /**
   * Bytes where a header line should be. Right after a record's block in a plain file, the
   * Archive-length was wrong and that record is lost; after its closing line feed, the record
   * was whole and what follows is damage of its own; in a gzip member, the member held more
   * than the length said, and the record stands.
   */
  private damaged(next: number, reason: BadRecordCode): number {
    if (this.finished !== null && !this.inflated && this.separatorBytes === 0) this.sink.bad('wrong_archive_length');
    else {
      if (!this.seeking && !(this.finished !== null && this.inflated)) this.sink.bad(reason);
      this.confirmFinished();
    }
    this.finished = null;
    this.open = null;
    this.lines.clear();
    this.state = 'seek';
    this.seeking = true;
    return next;
  }

  private seek(segment: Segment, index: number): number {
    const lineEnd = segment.bytes.indexOf(lineFeed, index);
    if (lineEnd === -1 || lineEnd >= segment.end) return segment.end;
    this.enterStart(true);
    return lineEnd + 1;
  }

  private confirmFinished(): void {
    const record = this.finished;
    this.finished = null;
    if (record === null) return;
    if (record.badReason !== null) {
      this.sink.bad(record.badReason);
      return;
    }
    if (record.payload !== null) record.warc.add(`WARC-Payload-Digest: sha1:${base32(record.payload.digest())}`);
    const parsed: ParsedRecord = {
      type: record.type,
      warc: record.warc,
      httpStatusLine: record.httpStatusLine,
      http: record.http,
      metadata: null,
      payload: record.body === null ? null : record.body.take(),
      offset: record.offset,
      length: record.end - record.offset,
    };
    this.sink.record(parsed);
  }
}

/**
 * The version block's header line, in either version's layout: it comes before the version is
 * known, and its URL (the file's name) has no spaces, so its field count tells the layout.
 */
function parseVersionBlockLine(line: string): ArcHeaderLine | null {
  const count = line.trimEnd().split(' ').length;
  return Object.values(fieldCountByVersion).includes(count) ? parseArcHeaderLine(line, count) : null;
}

function endOffset(segment: Segment, index: number): number {
  return segment.identityOffset === null ? segment.sourceEnd : segment.identityOffset + (index - segment.start);
}
