import type { BadRecordCode } from '../../core/record-reasons.ts';
import {
  findGzipMagic,
  findWholeMember,
  gzipTrailerBytes,
  inflateMember,
  inflateTruncatedMember,
  parseGzipHeader,
} from './gzip-member.ts';
import { StreamingMemberInflater } from './streaming-member-inflater.ts';
import type { Segment } from './warc-record-parser.ts';
import { type WarcLimits, warcLimits } from './warc-limits.ts';

/** Where the reader hands inflated bytes and damage. */
export interface MemberSink {
  segment(segment: Segment): void;
  /** Damage: the reader skips to the next gzip magic; the WARC parser must forget its open record. */
  damaged(reason: BadRecordCode): void;
}

/** Splits gzip input into members and hands their bytes on: the full path, or the head-only scan. */
export interface MemberReader {
  /** Reads from `working` (its first byte at input offset `base`); returns the bytes consumed. */
  read(working: Buffer, base: number, final: boolean): number;
  /** True when the input ended inside a member. */
  readonly endedInsideMember: boolean;
}

/** A member being inflated by streaming. */
interface StreamingMember {
  readonly offset: number;
  readonly deflateOffset: number;
  readonly inflater: StreamingMemberInflater;
  /** Input offset where the deflate data ended, once it has. */
  deflateEnd: number | null;
}

/**
 * Splits gzip input into members and inflates each one. The caller passes the bytes it has
 * not consumed yet (`working`, whose first byte is at input offset `base`); `read` returns how
 * many it consumed, and the caller keeps the rest for the next call. What is left over is at
 * most one member below `memberBufferBytesMax`, or one streaming piece, or a trailer.
 *
 * A member is inflated in one piece with node's zlib when its compressed size and its output
 * stay under the limits (every CommonCrawl record), and by streaming otherwise. The choice
 * depends only on the member, never on where chunks were cut, so rows do not either.
 */
export class GzipMemberReader implements MemberReader {
  private streaming: StreamingMember | null = null;
  /** Bytes available at the last failed attempt on the member that starts the carry. */
  private attemptedBytes = 0;
  /** After damage: failed attempts while looking for the next member are not counted again. */
  private resynchronising = false;
  private truncated = false;

  constructor(
    private readonly sink: MemberSink,
    private readonly limits: WarcLimits = warcLimits,
  ) {}

  /** True when the input ended inside a member. */
  get endedInsideMember(): boolean {
    return this.truncated;
  }

  /**
   * True between members: no member is being streamed, none waits for more bytes and no damage
   * is being skipped. Only then may another reader take the next member (head-only-member-reader.ts).
   */
  get idle(): boolean {
    return this.streaming === null && this.attemptedBytes === 0 && !this.resynchronising;
  }

  read(working: Buffer, base: number, final: boolean): number {
    let index = 0;
    // Each turn consumes bytes, or returns to wait for more: bounded by the bytes, plus one.
    for (let turns = 0; turns <= working.length + 1 && index < working.length; turns++) {
      const next = this.readOne(working, base, index, final);
      if (next === null) return index;
      index = next;
    }
    return index;
  }

  /** Reads one member (or one streaming piece) at `index`; returns the index after it, or null to wait for more bytes. */
  readOne(working: Buffer, base: number, index: number, final: boolean): number | null {
    return this.streaming === null
      ? this.readMember(working, base, index, final)
      : this.readStream(this.streaming, working, base, index, final);
  }

  /** Returns the index after what it consumed, or null to wait for more bytes. */
  private readMember(working: Buffer, base: number, index: number, final: boolean): number | null {
    const available = working.length - index;
    // Re-inflating a straddling member from its start again only once its bytes have doubled
    // keeps the work per member under twice its size, however small the chunks are.
    if (!final && available < 2 * this.attemptedBytes && available < this.limits.memberBufferBytesMax) return null;
    const limit = index + Math.min(available, this.limits.memberBufferBytesMax);
    const result = inflateMember(working, index, limit, this.limits);
    if (result.kind === 'member') {
      this.attemptedBytes = 0;
      this.resynchronising = false;
      this.sink.segment({
        bytes: result.output,
        start: 0,
        end: result.output.length,
        identityOffset: null,
        memberOffset: base + index,
        sourceEnd: base + result.end,
        owned: true,
      });
      return result.end;
    }
    if (result.kind === 'corrupt') return this.resynchronise(working, index, result.reason);
    if (result.kind === 'too-large' || limit - index === this.limits.memberBufferBytesMax)
      return this.startStreaming(working, base, index);
    if (!final) {
      this.attemptedBytes = available;
      return null;
    }
    return this.endInsideMember(working, base, index);
  }

  private resynchronise(
    working: Buffer,
    index: number,
    reason: BadRecordCode,
    next = findGzipMagic(working, index + 1),
  ): number {
    if (!this.resynchronising) this.sink.damaged(reason);
    this.resynchronising = true;
    this.attemptedBytes = 0;
    return next === -1 ? working.length : next;
  }

  /**
   * At the end of the input, a member that does not end is either cut off (the file is
   * truncated) or damaged so that it claims the bytes behind it: a flipped flag that gives its
   * header a long FEXTRA field, or deflate data that runs on through the next members without
   * an error. A whole member further on tells the two apart; without it every record after
   * such damage was lost as part of one truncated member.
   */
  private endInsideMember(working: Buffer, base: number, index: number): number {
    const next = findWholeMember(working, index + 1, this.limits);
    if (next !== -1) return this.resynchronise(working, index, 'corrupt_gzip_member', next);
    const output = inflateTruncatedMember(working, index, working.length, this.limits);
    if (output.length > 0) {
      this.sink.segment({
        bytes: output,
        start: 0,
        end: output.length,
        identityOffset: null,
        memberOffset: base + index,
        sourceEnd: base + working.length,
      });
    }
    if (!this.resynchronising || output.length > 0) this.truncated = true;
    return working.length;
  }

  private startStreaming(working: Buffer, base: number, index: number): number | null {
    const header = parseGzipHeader(working, index, working.length, this.limits);
    if (header.kind !== 'header') return this.resynchronise(working, index, 'corrupt_gzip_member');
    this.attemptedBytes = 0;
    const inflater = new StreamingMemberInflater(this.limits.streamPieceOutputBytesMax);
    this.streaming = { offset: base + index, deflateOffset: base + index + header.length, inflater, deflateEnd: null };
    return index + header.length;
  }

  /**
   * Feeds the streaming member one piece at a time. Pieces are cut at fixed distances from the
   * member's start, not at chunk boundaries, so the offsets reported for its records do not
   * depend on how the input was chunked. Output spilled in the middle of a piece (one that
   * inflates past `streamPieceOutputBytesMax`) is given the piece's end as its source end,
   * even in the piece where the member ends: whether it does is not known yet.
   */
  private readStream(
    member: StreamingMember,
    working: Buffer,
    base: number,
    index: number,
    final: boolean,
  ): number | null {
    if (member.deflateEnd !== null) return this.readStreamTrailer(member, working, index, final);
    const position = base + index;
    const pieceEnd =
      member.deflateOffset +
      (Math.floor((position - member.deflateOffset) / this.limits.streamPieceBytes) + 1) * this.limits.streamPieceBytes;
    const available = Math.min(working.length, pieceEnd - base);
    if (available < pieceEnd - base && !final) return null;
    const piece = working.subarray(index, available);
    const step = member.inflater.push(piece, (outputs) => this.emitStreamed(member, outputs, base + available));
    if (step.kind === 'corrupt') {
      this.streaming = null;
      return this.resynchronise(working, index, 'corrupt_gzip_member');
    }
    const consumedEnd = step.kind === 'ended' ? available - step.unconsumed : available;
    if (step.kind === 'ended') member.deflateEnd = base + consumedEnd;
    const sourceEnd = step.kind === 'ended' ? base + consumedEnd + gzipTrailerBytes : base + available;
    this.emitStreamed(member, step.outputs, sourceEnd);
    if (step.kind === 'more' && final && available === working.length) {
      this.truncated = true;
      this.streaming = null;
    }
    return consumedEnd;
  }

  private emitStreamed(member: StreamingMember, outputs: readonly Buffer[], sourceEnd: number): void {
    for (const output of outputs) {
      this.sink.segment({
        bytes: output,
        start: 0,
        end: output.length,
        identityOffset: null,
        memberOffset: member.offset,
        sourceEnd,
      });
    }
  }

  private readStreamTrailer(member: StreamingMember, working: Buffer, index: number, final: boolean): number | null {
    if (working.length - index < gzipTrailerBytes) {
      if (!final) return null;
      this.truncated = true;
      this.streaming = null;
      return working.length;
    }
    this.streaming = null;
    if (!member.inflater.trailerMatches(working, index))
      return this.resynchronise(working, index, 'gzip_checksum_mismatch');
    this.resynchronising = false;
    return index + gzipTrailerBytes;
  }
}
