import type { BadRecordCode } from '../../core/record-reasons.ts';
import { findGzipMagic, inflateMember, parseGzipHeader, trailerMatches } from './gzip-member.ts';
import { GzipMemberReader, type MemberReader, type MemberSink } from './gzip-member-reader.ts';
import { HeadBuffers, type HeadInflation, inflateHead, readWarcHead } from './member-head.ts';
import { type WarcLimits, warcLimits } from './warc-limits.ts';

/** Bounds of the head-only scan, units last. */
export const headOnlyLimits = {
  /**
   * Compressed bytes first inflated of a member. CommonCrawl's requests and metadata records
   * (two of every three members) fit whole in 1 KiB; a response's WARC header and HTTP head
   * (about 1.5 KiB of text) come out of its first 1 KiB of deflate data, Huffman tables included.
   */
  headInputBytesFirst: 1024,
  /** Past this much deflate data without the whole head, the member takes the full path. */
  headInputBytesMax: 64 * 1024,
  /** Inflated bytes of a head; more (a run of one byte) and the member takes the full path. */
  headOutputBytesMax: 2 * 1024 * 1024,
  /**
   * Compressed bytes inflated of the member after a candidate end, to see it starts with
   * `WARC/`; as many as a first head, since that head is kept and read next.
   */
  nextHeadInputBytes: 1024,
  /**
   * Gzip magics rejected by their ISIZE before the member takes the full path. A payload rarely
   * holds one; a gzip whose members do not follow records holds one a member, and without this
   * bound every member would scan all those after it.
   */
  candidatesMax: 16,
};

/**
 * What may follow a block in the member before the trailer, as real writers close a record:
 * CR LF CR LF (WARC's own), a single line end, or nothing. Only their length is checked
 * (against the trailer's ISIZE); see docs/architecture.md, "Head-only inflate".
 */
const recordClosings: readonly Buffer[] = [Buffer.from('\r\n\r\n'), Buffer.from('\r\n'), Buffer.alloc(0)];

/** Where the reader hands inflated bytes, damage, and blocks it counted without inflating them. */
export interface HeadOnlySink extends MemberSink {
  /** The parser's `skipUninflated`: false when it is not skipping a block of exactly that many bytes. */
  skipUninflated(byteCount: number, sourceEnd: number): boolean;
}

/** How one member is read. */
type MemberPlan =
  | { readonly kind: 'wait' }
  | { readonly kind: 'full' }
  /** The head inflated to the member's end (a small member); its trailer checked. */
  | { readonly kind: 'whole'; readonly output: Buffer; readonly end: number }
  | {
      readonly kind: 'head-only';
      readonly output: Buffer;
      readonly headEnd: number;
      readonly skipped: number;
      readonly closing: Buffer;
      readonly end: number;
    };

/** The head of the member after a verified candidate end, kept for when that member is read. */
interface NextHead {
  readonly offset: number;
  readonly inputBytes: number;
  readonly head: HeadInflation;
}

/**
 * Reads `.warc.gz` with one member a record while inflating only each member's head: the
 * index's columns all come from headers. The end of a member is found without inflating its
 * body: a gzip magic where the 4 bytes before it (the trailer's ISIZE) equal the length the
 * WARC header implies (header, Content-Length, and a record closing of `recordClosings`), and
 * whose own head inflates to `WARC/`. Wherever a check fails, the file is one gzip stream, the
 * member is the last, or the reader is recovering from damage, the member takes the full path
 * (`GzipMemberReader`, which checks every CRC). The rows are those of the full path: the
 * parser sees the same bytes of every head, and counts the uninflated rest of a block as it
 * counts a skipped block.
 */
export class HeadOnlyMemberReader implements MemberReader {
  private readonly full: GzipMemberReader;
  private attemptedBytes = 0;
  private nextHead: NextHead | null = null;
  private readonly heads = new HeadBuffers();

  constructor(
    private readonly sink: HeadOnlySink,
    private readonly limits: WarcLimits = warcLimits,
  ) {
    this.full = new GzipMemberReader(sink, limits);
  }

  get endedInsideMember(): boolean {
    return this.full.endedInsideMember;
  }

  read(working: Buffer, base: number, final: boolean): number {
    let index = 0;
    // Each turn consumes bytes, or returns to wait for more: bounded by the bytes, plus one.
    for (let turns = 0; turns <= working.length + 1 && index < working.length; turns++) {
      const next = this.full.idle
        ? this.readHeadOnly(working, base, index, final)
        : this.full.readOne(working, base, index, final);
      if (next === null) return index;
      index = next;
    }
    return index;
  }

  private readHeadOnly(working: Buffer, base: number, index: number, final: boolean): number | null {
    const available = working.length - index;
    // As the full path: look at a straddling member again only once its bytes have doubled.
    if (!final && available < 2 * this.attemptedBytes && available < this.limits.memberBufferBytesMax) return null;
    const plan = this.plan(working, base, index, final);
    if (plan.kind === 'wait') {
      this.attemptedBytes = available;
      return null;
    }
    this.attemptedBytes = 0;
    if (plan.kind === 'full') return this.full.readOne(working, base, index, final);
    if (plan.kind === 'whole') {
      this.emit(plan.output, 0, plan.output.length, base + index, base + plan.end);
      return plan.end;
    }
    this.emit(plan.output, 0, plan.headEnd, base + index, base + plan.end);
    if (!this.sink.skipUninflated(plan.skipped, base + plan.end)) return this.inflateRest(working, base, index, plan);
    if (plan.closing.length > 0) this.emit(plan.closing, 0, plan.closing.length, base + index, base + plan.end);
    return plan.end;
  }

  /**
   * The parser read the head otherwise than the scan did (a header the scan misjudged): the
   * member is inflated whole and the parser given the rest of it, so it sees every byte.
   */
  private inflateRest(
    working: Buffer,
    base: number,
    index: number,
    plan: Extract<MemberPlan, { kind: 'head-only' }>,
  ): number {
    const limit = index + Math.min(working.length - index, this.limits.memberBufferBytesMax);
    const member = inflateMember(working, index, limit, this.limits);
    if (member.kind !== 'member') {
      // Only a capture crafted to fool the scan gets here (docs/architecture.md, "Head-only inflate").
      const reason: BadRecordCode = member.kind === 'corrupt' ? member.reason : 'corrupt_gzip_member';
      this.sink.damaged(reason);
      return plan.end;
    }
    this.emit(member.output, plan.headEnd, member.output.length, base + index, base + member.end);
    return member.end;
  }

  private emit(bytes: Buffer, start: number, end: number, memberOffset: number, sourceEnd: number): void {
    this.sink.segment({ bytes, start, end, identityOffset: null, memberOffset, sourceEnd });
  }

  private plan(working: Buffer, base: number, index: number, final: boolean): MemberPlan {
    const header = parseGzipHeader(working, index, working.length, this.limits);
    if (header.kind === 'incomplete') return final ? { kind: 'full' } : { kind: 'wait' };
    if (header.kind === 'invalid') return { kind: 'full' };
    const deflateStart = index + header.length;
    const cached = this.takeNextHead(base + index);
    let inputBytes = cached?.inputBytes ?? headOnlyLimits.headInputBytesFirst;
    let head = cached?.head ?? null;
    // Each turn doubles the input or ends: about 6 turns from 1 KiB to 64 KiB.
    for (let turn = 0; turn < 32; turn++) {
      const end = Math.min(working.length, deflateStart + inputBytes);
      head ??= inflateHead(working.subarray(deflateStart, end), headOnlyLimits.headOutputBytesMax, this.heads);
      if (head.kind === 'corrupt') return { kind: 'full' };
      if (head.ended) return this.planWhole(working, deflateStart, head.output, head.consumed, final);
      const read = readWarcHead(head.output, this.limits.headerLineBytesMax);
      if (read.kind === 'unsupported') return { kind: 'full' };
      if (read.kind === 'head') {
        const consumedEnd = deflateStart + head.consumed;
        return this.planHeadOnly(working, base, consumedEnd, head.output, read, final);
      }
      if (end === working.length) return final ? { kind: 'full' } : { kind: 'wait' };
      if (inputBytes >= headOnlyLimits.headInputBytesMax) return { kind: 'full' };
      inputBytes *= 2;
      head = null;
    }
    return { kind: 'full' };
  }

  private takeNextHead(offset: number): NextHead | null {
    const cached = this.nextHead;
    this.nextHead = null;
    return cached !== null && cached.offset === offset ? cached : null;
  }

  /** A member whose deflate data ended within the head's input: its trailer is checked as the full path does. */
  private planWhole(
    working: Buffer,
    deflateStart: number,
    output: Buffer,
    consumed: number,
    final: boolean,
  ): MemberPlan {
    const trailer = deflateStart + consumed;
    if (trailer + 8 > working.length) return final ? { kind: 'full' } : { kind: 'wait' };
    if (!trailerMatches(working, trailer, output)) return { kind: 'full' };
    return { kind: 'whole', output, end: trailer + 8 };
  }

  private planHeadOnly(
    working: Buffer,
    base: number,
    consumedEnd: number,
    output: Buffer,
    head: Extract<ReturnType<typeof readWarcHead>, { kind: 'head' }>,
    final: boolean,
  ): MemberPlan {
    const found = this.findEnd(working, base, consumedEnd, head.warcEnd + head.contentLength, final);
    if (found.kind !== 'end') return found;
    const skipped = head.warcEnd + head.contentLength - head.headEnd;
    return { kind: 'head-only', output, headEnd: head.headEnd, skipped, closing: found.closing, end: found.end };
  }

  /**
   * The member's end: the first gzip magic past the inflated head whose preceding ISIZE is the
   * record's length with one of `recordClosings`, and where a member starting with `WARC/`
   * follows. A magic whose ISIZE does not match is a payload's bytes and the scan goes on; one
   * whose ISIZE matches but no record follows sends the member to the full path.
   */
  private findEnd(
    working: Buffer,
    base: number,
    from: number,
    recordBytes: number,
    final: boolean,
  ): { readonly kind: 'end'; readonly end: number; readonly closing: Buffer } | { readonly kind: 'wait' | 'full' } {
    const scanEnd = Math.min(working.length, from + this.limits.memberBufferBytesMax);
    // The trailer's 8 bytes come after the deflate data consumed so far.
    let candidate = findGzipMagic(working, from + 8);
    // Each turn moves past one magic: bounded by the bytes scanned.
    for (let turn = 0; candidate !== -1 && candidate < scanEnd; turn++) {
      if (turn === headOnlyLimits.candidatesMax) return { kind: 'full' };
      const size = working.readUInt32LE(candidate - 4);
      const closing = recordClosings.find((bytes) => (recordBytes + bytes.length) % 2 ** 32 === size);
      if (closing !== undefined) {
        const next = this.verifyNextHead(working, base, candidate, final);
        if (next === 'record') return { kind: 'end', end: candidate, closing };
        return { kind: next };
      }
      candidate = findGzipMagic(working, candidate + 1);
    }
    // No end in the bytes: the member is the last, a whole-file gzip, or cut by the chunk.
    if (final || scanEnd - from >= this.limits.memberBufferBytesMax) return { kind: 'full' };
    return { kind: 'wait' };
  }

  /** Whether a record's member starts at `index`: its gzip header parses and its deflate data inflates to `WARC/`. */
  private verifyNextHead(working: Buffer, base: number, index: number, final: boolean): 'record' | 'wait' | 'full' {
    const header = parseGzipHeader(working, index, working.length, this.limits);
    if (header.kind === 'incomplete') return final ? 'full' : 'wait';
    if (header.kind === 'invalid') return 'full';
    const deflateStart = index + header.length;
    const inputBytes = headOnlyLimits.nextHeadInputBytes;
    const end = Math.min(working.length, deflateStart + inputBytes);
    const head = inflateHead(working.subarray(deflateStart, end), headOnlyLimits.headOutputBytesMax, this.heads);
    if (head.kind === 'corrupt') return 'full';
    if (head.output.length < 5 && !head.ended && end === working.length) return final ? 'full' : 'wait';
    if (!head.output.subarray(0, 5).equals(recordMagicBytes)) return 'full';
    this.nextHead = { offset: base + index, inputBytes, head };
    return 'record';
  }
}

const recordMagicBytes = Buffer.from('WARC/', 'latin1');
