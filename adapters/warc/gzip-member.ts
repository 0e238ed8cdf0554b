import zlib from 'node:zlib';
import { byteAt } from '../../core/checked-access.ts';
import type { BadRecordCode } from '../../core/record-reasons.ts';
import { threadInflater } from './reused-inflater.ts';
import { type WarcLimits, warcLimits } from './warc-limits.ts';

/** What parsing a gzip member header (RFC 1952, section 2.3) gives. */
export type GzipHeader =
  { readonly kind: 'header'; readonly length: number } | { readonly kind: 'incomplete' } | { readonly kind: 'invalid' };

const flagHeaderCrc = 0x02;
const flagExtra = 0x04;
const flagName = 0x08;
const flagComment = 0x10;
const flagsReserved = 0xe0;
const fixedHeaderBytes = 10;
export const gzipTrailerBytes = 8;

export function startsGzipMember(bytes: Uint8Array, index: number): boolean {
  return bytes[index] === 0x1f && bytes[index + 1] === 0x8b && bytes[index + 2] === 0x08;
}

/** The three bytes every gzip member starts with: ID1, ID2 and CM (deflate). */
const gzipMagic = Buffer.from([0x1f, 0x8b, 0x08]);

/**
 * Whether the bytes at `index`, as many of the magic's three as there are before `limit`,
 * match it: a few bytes of junk at the end of a file (padding, a newline) are no member, not a
 * member cut off by the end of the file.
 */
function mayStartGzipMember(bytes: Uint8Array, index: number, limit: number): boolean {
  const present = Math.min(limit - index, gzipMagic.length);
  for (let offset = 0; offset < present; offset++) if (bytes[index + offset] !== gzipMagic[offset]) return false;
  return true;
}

/** Parses the header at `index`, with its optional FEXTRA, FNAME, FCOMMENT and FHCRC fields. */
export function parseGzipHeader(
  bytes: Buffer,
  index: number,
  limit: number,
  limits: WarcLimits = warcLimits,
): GzipHeader {
  if (!mayStartGzipMember(bytes, index, limit)) return { kind: 'invalid' };
  if (limit - index < fixedHeaderBytes) return { kind: 'incomplete' };
  const flags = byteAt(bytes, index + 3);
  if ((flags & flagsReserved) !== 0) return { kind: 'invalid' };
  let position = index + fixedHeaderBytes;
  if ((flags & flagExtra) !== 0) {
    if (limit - position < 2) return { kind: 'incomplete' };
    position += 2 + bytes.readUInt16LE(position);
  }
  for (const flag of [flagName, flagComment]) {
    if ((flags & flag) === 0) continue;
    const terminator = bytes.indexOf(0, position);
    const searchEnd = Math.min(limit, position + limits.gzipHeaderStringBytesMax);
    if (terminator === -1 || terminator >= searchEnd)
      return searchEnd < limit ? { kind: 'invalid' } : { kind: 'incomplete' };
    position = terminator + 1;
  }
  if ((flags & flagHeaderCrc) !== 0) position += 2;
  if (position > limit) return { kind: 'incomplete' };
  return { kind: 'header', length: position - index };
}

/** What inflating one member in one piece gives. */
export type MemberInflation =
  /** `end` is the index after the member's trailer. */
  | { readonly kind: 'member'; readonly output: Buffer; readonly end: number }
  | { readonly kind: 'incomplete' }
  /** The member inflates to more than `memberOutputBytesMax`: stream it instead. */
  | { readonly kind: 'too-large' }
  | { readonly kind: 'corrupt'; readonly reason: BadRecordCode };

/**
 * Inflates the member at `index` with node's zlib (about 3x faster than pako: docs/figures.md,
 * the decode bench), through the thread's one reused handle (`reused-inflater.ts`);
 * the engine's consumed-byte count tells where the deflate data ends, so the member's end is
 * found without scanning. The trailer's CRC-32 and size are checked: a flipped bit that still
 * inflates is caught here, not passed on as a row.
 */
export function inflateMember(
  bytes: Buffer,
  index: number,
  limit: number,
  limits: WarcLimits = warcLimits,
): MemberInflation {
  const header = parseGzipHeader(bytes, index, limit, limits);
  if (header.kind === 'incomplete') return header;
  if (header.kind === 'invalid') return { kind: 'corrupt', reason: 'non_gzip_data' };
  const deflateStart = index + header.length;
  const inflated = threadInflater.inflate(bytes.subarray(deflateStart, limit), true, limits.memberOutputBytesMax);
  if (inflated.kind === 'corrupt') return { kind: 'corrupt', reason: 'corrupt_gzip_member' };
  if (inflated.kind !== 'output') return inflated;
  const { output, consumed } = inflated;
  const trailer = deflateStart + consumed;
  if (trailer + gzipTrailerBytes > limit) return { kind: 'incomplete' };
  if (!trailerMatches(bytes, trailer, output)) return { kind: 'corrupt', reason: 'gzip_checksum_mismatch' };
  return { kind: 'member', output, end: trailer + gzipTrailerBytes };
}

export function trailerMatches(bytes: Buffer, trailer: number, output: Buffer): boolean {
  return (
    bytes.readUInt32LE(trailer) === zlib.crc32(output) && bytes.readUInt32LE(trailer + 4) === output.length % 2 ** 32
  );
}

function isCorruptDeflate(code: unknown): boolean {
  return code === 'Z_DATA_ERROR' || code === 'Z_NEED_DICT' || code === 'Z_STREAM_ERROR';
}

/**
 * Inflates what there is of a member cut off by the end of the input, so the records in it
 * are still counted; the caller counts the member as truncated.
 */
export function inflateTruncatedMember(
  bytes: Buffer,
  index: number,
  limit: number,
  limits: WarcLimits = warcLimits,
): Buffer {
  const header = parseGzipHeader(bytes, index, limit, limits);
  if (header.kind !== 'header') return Buffer.alloc(0);
  try {
    return zlib.inflateRawSync(bytes.subarray(index + header.length, limit), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      maxOutputLength: limits.memberOutputBytesMax,
    });
  } catch (error) {
    // What zlib says of the bytes (corrupt, or more than a member may hold) leaves nothing to
    // read; the member is counted as truncated either way. Anything else is a bug of ours.
    const code = (error as { code?: unknown } | null)?.code;
    if (isCorruptDeflate(code) || code === 'Z_BUF_ERROR' || code === 'ERR_BUFFER_TOO_LARGE') return Buffer.alloc(0);
    throw error;
  }
}

/**
 * Index of the next gzip member magic (1f 8b 08) at or after `from`, or -1; a 0x1f in the last
 * two bytes counts, since the bytes that would complete it have not come yet. One `indexOf` of
 * the whole magic stays in native code, where one a 0x1f came back to JavaScript every 256
 * compressed bytes on average.
 */
export function findGzipMagic(bytes: Buffer, from: number): number {
  const found = bytes.indexOf(gzipMagic, from);
  if (found !== -1) return found;
  return bytes.indexOf(0x1f, Math.max(from, bytes.length - 2));
}

/**
 * Index of the first gzip magic at or after `from` where a whole member starts (one that
 * inflates and whose trailer matches, or one too large to inflate in one piece), or -1. Each
 * candidate is tried once, and a false magic fails within a few bytes of deflate data.
 */
export function findWholeMember(bytes: Buffer, from: number, limits: WarcLimits = warcLimits): number {
  for (let index = findGzipMagic(bytes, from); index !== -1; index = findGzipMagic(bytes, index + 1)) {
    const limit = Math.min(bytes.length, index + limits.memberBufferBytesMax);
    const found = inflateMember(bytes, index, limit, limits).kind;
    if (found === 'member' || found === 'too-large') return index;
  }
  return -1;
}
