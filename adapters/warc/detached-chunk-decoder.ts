import type { CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { addRecordCounters, emptyRecordCounters, type RecordCounters } from '../../core/record-counters.ts';
import { inflateMember } from './gzip-member.ts';
import { findRecordBoundary, judgeCandidate } from './record-boundary.ts';
import { WarcJobDecoder, type WarcJobDecoderOptions } from './warc-decoder.ts';
import { warcLimits } from './warc-limits.ts';
import type { ParsedRecord } from './warc-record-parser.ts';

/** What a detached decode is given: the chunk, the next one, and where to start. */
export interface DetachedChunk {
  readonly chunk: Uint8Array;
  /** The next chunk's bytes; null for the file's last chunk. */
  readonly next: Uint8Array | null;
  /** The next chunk is the file's last: nothing follows its bytes. */
  readonly nextFinal: boolean;
  /** Input offset of `chunk`'s first byte. */
  readonly chunkOffset: number;
  /** Where to start; null: at the first record boundary in the chunk (chunk 0: at 0). */
  readonly startBytes: number | null;
}

/** The answer of a detached decode, as core/inputs.ts `detachedDecoded` states it, with the rows. */
export interface DetachedDecode {
  readonly rows: CaptureRow[];
  readonly rowBytes: number;
  readonly counters: RecordCounters;
  readonly startBytes: number;
  readonly endBytes: number;
  readonly splittable: boolean;
  readonly needsMore: boolean;
}

/**
 * Decodes one chunk apart from the file's other chunks (core/split-decode.ts): from its start
 * boundary (a scan, which a payload can fool) it reads every record that starts in the chunk,
 * and the metadata records after the last one, which belong to its capture, with the file's
 * own decoder started at the boundary. Its end is found by following members, so from a true
 * start it is true: where the next chunk's scan was fooled, the offsets differ and the core
 * decodes that chunk again from this end.
 */
export function decodeDetachedChunk(
  input: InputRef,
  options: WarcJobDecoderOptions,
  request: DetachedChunk,
): DetachedDecode {
  const chunk = bufferOf(request.chunk);
  const chunkEnd = request.chunkOffset + chunk.length;
  const start = startOf(request, chunk);
  if (start === 'needsMore') return nothing(chunkEnd, true);
  if (start >= chunkEnd) return nothing(start, false);
  return decodeRange(input, options, request, start);
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function nothing(offset: number, needsMore: boolean): DetachedDecode {
  const counters = emptyRecordCounters;
  return { rows: [], rowBytes: 0, counters, startBytes: offset, endBytes: offset, splittable: true, needsMore };
}

/** The start: given, 0 for chunk 0, else the first boundary in the chunk (the file's end when the last chunk has none). */
function startOf(request: DetachedChunk, chunk: Buffer): number | 'needsMore' {
  if (request.startBytes !== null) return request.startBytes;
  if (request.chunkOffset === 0) return 0;
  const scan = findRecordBoundary(chunk, 0, chunk.length, request.next === null);
  if (scan.kind === 'found') return request.chunkOffset + scan.index;
  if (scan.kind === 'none' && request.next === null) return request.chunkOffset + chunk.length;
  // A boundary judged only with the next chunk's bytes: judged on a short join of both.
  if (scan.kind === 'unknown' && request.next !== null) return startAcross(request, chunk);
  return 'needsMore';
}

/** Bytes of the next chunk joined to the chunk's tail to judge a boundary near its end. */
const joinBytes = 128 * 1024;

function startAcross(request: DetachedChunk, chunk: Buffer): number | 'needsMore' {
  const from = Math.max(0, chunk.length - joinBytes);
  const next = bufferOf(request.next ?? new Uint8Array(0));
  const tail = next.subarray(0, joinBytes);
  const joined = Buffer.concat([chunk.subarray(from), tail]);
  const inputEnds = request.nextFinal && tail.length === next.length;
  const scan = findRecordBoundary(joined, 0, chunk.length - from, inputEnds);
  return scan.kind === 'found' ? request.chunkOffset + from + scan.index : 'needsMore';
}

/**
 * Decodes from `start` to the end boundary: the chunk's bytes first, then, past the records
 * that end in it, member by member (`endBoundary`) to the first record that starts at or after
 * the chunk's end and is no metadata record; the next chunk's bytes up to there last, as the
 * decoder's final bytes. Its records must tile the range, one member each, with no damage.
 */
function decodeRange(
  input: InputRef,
  options: WarcJobDecoderOptions,
  request: DetachedChunk,
  start: number,
): DetachedDecode {
  const tiling = new RecordTiling(start);
  const observer = (record: ParsedRecord): void => {
    tiling.see(record);
    options.observer?.(record);
  };
  const decoder = new WarcJobDecoder(input, { ...options, observer, startOffset: start, partOfFile: true });
  const chunk = bufferOf(request.chunk);
  const chunkEnd = request.chunkOffset + chunk.length;
  const parts = [decoder.push(chunk.subarray(start - request.chunkOffset), request.next === null)];
  let end = chunkEnd;
  if (request.next !== null) {
    const intact = (member: Buffer, offset: number) => intactRecord(input, options, member, offset);
    const found = tiling.broken ? 'unsplittable' : endBoundary(request, chunk, tiling.expected, chunkEnd, intact);
    if (found === 'needsMore') return nothing(start, true);
    if (found === 'unsplittable') return { ...nothing(start, false), splittable: false };
    end = found;
    parts.push(decoder.push(bufferOf(request.next).subarray(0, end - chunkEnd), true));
  }
  const rows = parts.flatMap((part) => part.rows);
  const rowBytes = parts.reduce((sum, part) => sum + part.rowBytes, 0);
  const counters = parts.map((part) => part.counters).reduce(addRecordCounters, emptyRecordCounters);
  const damaged = Object.keys(counters.badByReason).length > 0;
  const splittable = !damaged && tiling.tiles(end);
  return { rows, rowBytes, counters, startBytes: start, endBytes: end, splittable, needsMore: false };
}

/** Bytes of the next chunk first joined to the chunk's carried tail; doubled until the end is found. */
const endSearchBytesFirst = 256 * 1024;

/**
 * The end boundary, from `from` (the end of the last record the decoder completed, a member's
 * start): members are inflated one by one (a CommonCrawl member is about 40 KB) until one starts
 * at or after the chunk's end and holds a record other than metadata. Exact, not a scan: the
 * members followed are the file's own, so a false boundary in a payload is never taken for an
 * end. `needsMore`: the end is not within the next chunk.
 */
function endBoundary(
  request: DetachedChunk,
  chunk: Buffer,
  from: number,
  chunkEnd: number,
  intact: IntactCheck,
): number | 'needsMore' | 'unsplittable' {
  const next = bufferOf(request.next ?? new Uint8Array(0));
  const carried = chunk.subarray(from - request.chunkOffset);
  // Each turn doubles the bytes joined or ends: about 8 turns reach a 32 MiB chunk.
  for (let joined = Math.min(next.length, endSearchBytesFirst); ; joined = Math.min(next.length, 2 * joined)) {
    const whole = joined === next.length;
    const tail = Buffer.concat([carried, next.subarray(0, joined)]);
    const found = hopMembers(tail, from, chunkEnd, whole && request.nextFinal, intact);
    if (found !== 'more') return found;
    if (whole) return 'needsMore';
  }
}

/** Whether the member at an input offset holds one record the decoder reads whole and undamaged. */
type IntactCheck = (member: Buffer, offset: number) => boolean;

/**
 * Hops members in `tail` (whose first byte is at input offset `base`) to the end boundary. The
 * boundary's own record must be intact: the decoder in order joins a metadata record to the
 * capture before a damaged record (a damaged record does not end a capture), so a chunk that
 * ended its capture at a damaged record would export it without its metadata, and the decode
 * that falls back from there never sees the capture.
 */
function hopMembers(
  tail: Buffer,
  base: number,
  chunkEnd: number,
  inputEnds: boolean,
  intact: IntactCheck,
): number | 'more' | 'unsplittable' {
  let at = 0;
  // Each turn passes one member; a bound on hops keeps a file of empty members from looping long.
  for (let hops = 0; hops < hopsMax; hops++) {
    if (at === tail.length) return inputEnds ? base + at : 'more';
    const judged = base + at >= chunkEnd ? judgeCandidate(tail, at, inputEnds, warcLimits) : 'not';
    if (judged === 'unknown') return 'more';
    const member = inflateMember(tail, at, tail.length);
    if (member.kind === 'incomplete') return inputEnds ? 'unsplittable' : 'more';
    if (member.kind !== 'member') return 'unsplittable';
    if (judged === 'record') return intact(tail.subarray(at, member.end), base + at) ? base + at : 'unsplittable';
    at = member.end;
  }
  return 'unsplittable';
}

/**
 * The boundary's member read alone, inflated whole with its CRC checked: one record, no damage.
 * A record the decoder in order takes as damaged is so here too; one it reads without inflating
 * (head-only) may be found damaged here only, which costs a fall back, not a row.
 */
function intactRecord(input: InputRef, options: WarcJobDecoderOptions, member: Buffer, offset: number): boolean {
  let records = 0;
  const observer = (): void => {
    records += 1;
  };
  const probe = {
    limits: options.limits ?? warcLimits,
    fullInflate: true,
    startOffset: offset,
    partOfFile: true,
    observer,
  };
  const decoded = new WarcJobDecoder(input, probe).push(member, true);
  return records === 1 && Object.keys(decoded.counters.badByReason).length === 0;
}

/** Members hopped past the chunk's end before the file is taken as not splittable. */
const hopsMax = 4096;

/**
 * Whether the records read tile the range one gzip member each: each starts where the one
 * before ended (a record's offset and length are its member's, one member a record), the first
 * at the range's start and the last ending at its end. Two records in one member, a record
 * over two members, or bytes no record covers break it.
 */
class RecordTiling {
  expected: number;
  broken = false;

  constructor(start: number) {
    this.expected = start;
  }

  see(record: ParsedRecord): void {
    if (record.offset !== this.expected) this.broken = true;
    this.expected = record.offset + record.length;
  }

  tiles(end: number): boolean {
    return !this.broken && this.expected === end;
  }
}
