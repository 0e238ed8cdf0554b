import zlib from 'node:zlib';
import { type NativeStream, threadInflater } from './reused-inflater.ts';

/**
 * The head of a gzip member: the first bytes of its deflate data inflated, enough to hold a
 * record's WARC header and HTTP head, without inflating its body.
 */
export type HeadInflation =
  /** `ended`: the deflate data ended inside the input, after `consumed` bytes of it. */
  | { readonly kind: 'head'; readonly output: Buffer; readonly consumed: number; readonly ended: boolean }
  | { readonly kind: 'corrupt' };

/**
 * Inflates what `input` (the start of a member's deflate data) gives. A sync flush hands over
 * every byte the input decodes to, so a cut input yields a prefix of the member's output; the
 * engine's consumed count, short of the input's length, tells that the deflate data ended.
 */
export function inflateHead(input: Buffer, outputBytesMax: number, into: HeadBuffers | null = null): HeadInflation {
  const reused = into === null ? null : headInflater.inflate(input, into, outputBytesMax);
  if (reused !== null) return reused;
  const inflated = threadInflater.inflate(input, false, outputBytesMax);
  // Corrupt deflate data, or a head that inflates past its bound: the full path decides.
  if (inflated.kind !== 'output') return { kind: 'corrupt' };
  return { kind: 'head', output: inflated.output, consumed: inflated.consumed, ended: inflated.ended };
}

/**
 * Bytes of each reused head buffer. A head is a few KiB (1 KiB of deflate data inflates to
 * about 2 KiB of a response's head on CommonCrawl-like records); one that does not fit takes
 * the thread inflater's arena instead.
 */
const headBufferBytes = 32 * 1024;

/**
 * Two buffers a reader inflates its heads into, in turn, instead of the thread inflater's
 * arena: a head is read as lines and dropped (nothing keeps a view of it: only the index
 * schema reads members head-only), and the arena's memory is fresh, faulted in page by page,
 * for every 4 MiB of heads. Two, because a reader holds at most two heads at once: the
 * member's own, and the next member's, inflated to see it starts with `WARC/` and kept for
 * when that member is read. So a head stays valid until the second `inflateHead` after it.
 * A reader's own, not the thread's: two readers of one thread (two jobs) may interleave.
 */
export class HeadBuffers {
  private current = Buffer.allocUnsafe(headBufferBytes);
  private other = Buffer.allocUnsafe(headBufferBytes);

  /** The buffer the next head goes into: the one the head before did not. */
  next(): Buffer {
    const next = this.other;
    this.other = this.current;
    this.current = next;
    return next;
  }
}

/**
 * Inflates heads into `HeadBuffers` with its own raw inflate handle, reset between members.
 * Only the plain case is its own: an error, or output that fills the buffer, gives null, and
 * the thread inflater inflates the head again and says what it is (corrupt, too large).
 */
class HeadInflater {
  private stream: NativeStream | null = null;
  private failed = false;

  inflate(input: Buffer, into: HeadBuffers, outputBytesMax: number): HeadInflation | null {
    const stream = this.open();
    const output = into.next();
    this.failed = false;
    stream._handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, 0, input.length, output, 0, output.length);
    const availOut = stream._writeState[0] ?? 0;
    const availIn = stream._writeState[1] ?? 0;
    if (this.failed || availOut === 0) {
      // The handle is left as zlib left it: a fresh one serves the next head.
      stream.close();
      this.stream = null;
      return null;
    }
    stream._handle.reset();
    const produced = output.length - availOut;
    if (produced > outputBytesMax) return null;
    const consumed = input.length - availIn;
    return { kind: 'head', output: output.subarray(0, produced), consumed, ended: consumed < input.length };
  }

  private open(): NativeStream {
    if (this.stream !== null) return this.stream;
    const stream = zlib.createInflateRaw() as unknown as NativeStream;
    stream._handle.onerror = () => {
      this.failed = true;
    };
    this.stream = stream;
    return stream;
  }
}

/** The thread's head inflater: a decoder's push is synchronous, so two heads are never inflated at once. */
const headInflater = new HeadInflater();

/** What a record's head says of the member that holds it. */
export type WarcHead =
  | {
      readonly kind: 'head';
      /** Index after the blank line that ends the WARC header. */
      readonly warcEnd: number;
      readonly contentLength: number;
      /** Index after the bytes the parser reads as lines (the HTTP head of a response); the rest of the block is only counted. */
      readonly headEnd: number;
    }
  /** The output ends before the head does: inflate more of the member. */
  | { readonly kind: 'more' }
  /** A head the scan does not reason about (folded or missing fields, a metadata record): the full path reads it. */
  | { readonly kind: 'unsupported' };

const lineFeed = 0x0a;
const carriageReturn = 0x0d;
const recordMagic = Buffer.from('WARC/', 'latin1');
/** Types whose block the parser reads as lines up to a blank line; the other types' blocks are only counted. */
const httpHeadTypes: ReadonlySet<string> = new Set(['response', 'revisit']);
/** A metadata record's body is read line by line to its end: such records take the full path (they are small). */
const lineBodyTypes: ReadonlySet<string> = new Set(['metadata']);

/**
 * Reads the WARC header at the start of `output` as the record parser does (lines end with LF,
 * CRs before it dropped; the first of a repeated name wins), only for the two fields that
 * place the record's end: `Content-Length` and `WARC-Type`. `lineBytesMax` is the parser's
 * line limit: past it the parser would count damage, so the full path reads such a head.
 */
export function readWarcHead(output: Buffer, lineBytesMax: number): WarcHead {
  if (output.length < recordMagic.length) return { kind: 'more' };
  if (output.compare(recordMagic, 0, recordMagic.length, 0, recordMagic.length) !== 0) return { kind: 'unsupported' };
  const fields = readHeaderFields(output, lineBytesMax);
  if (fields.kind !== 'fields') return fields;
  const { contentLength, type, end: warcEnd } = fields;
  if (contentLength === null || type === null || lineBodyTypes.has(type)) return { kind: 'unsupported' };
  const blockEnd = warcEnd + contentLength;
  let headEnd = warcEnd;
  if (httpHeadTypes.has(type)) {
    const blank = blankLineEnd(output, warcEnd, Math.min(output.length, blockEnd), lineBytesMax);
    if (blank === 'more') return output.length >= blockEnd ? { kind: 'unsupported' } : { kind: 'more' };
    if (blank === 'too-long') return { kind: 'unsupported' };
    headEnd = blank;
  }
  // The block's last byte must be left to count: a head that ends the block ends the record too.
  if (headEnd >= blockEnd) return { kind: 'unsupported' };
  return { kind: 'head', warcEnd, contentLength, headEnd };
}

export type HeaderFieldsRead =
  | {
      readonly kind: 'fields';
      readonly contentLength: number | null;
      readonly type: string | null;
      readonly end: number;
    }
  | { readonly kind: 'more' }
  | { readonly kind: 'unsupported' };

/** The two fields of the WARC header at the start of `output` that `readWarcHead` needs, and where the header ends. */
export function readHeaderFields(output: Buffer, lineBytesMax: number): HeaderFieldsRead {
  let contentLength: number | null = null;
  let type: string | null = null;
  let seenLength = false;
  let seenType = false;
  let start = 0;
  // Each turn reads one line: bounded by the output's length.
  for (let turn = 0; turn <= output.length; turn++) {
    const lineEnd = output.indexOf(lineFeed, start);
    if (lineEnd === -1) return output.length - start > lineBytesMax ? { kind: 'unsupported' } : { kind: 'more' };
    if (lineEnd - start > lineBytesMax) return { kind: 'unsupported' };
    let textEnd = lineEnd;
    while (textEnd > start && output[textEnd - 1] === carriageReturn) textEnd--;
    const next = lineEnd + 1;
    if (turn > 0 && textEnd === start) return { kind: 'fields', contentLength, type, end: next };
    const first = output[start];
    // A folded line may continue either field: the parser joins it, this scan does not.
    if (turn > 0 && (first === 0x20 || first === 0x09)) return { kind: 'unsupported' };
    if (turn > 0) {
      const colon = colonIndex(output, start, textEnd);
      // No colon, or one first: a line without a name, neither field.
      if (colon > start) {
        const [nameStart, nameEnd] = latin1Trimmed(output, start, colon);
        const [valueStart, valueEnd] = latin1Trimmed(output, colon + 1, textEnd);
        if (!seenLength && sameAsciiName(output, nameStart, nameEnd, contentLengthName)) {
          seenLength = true;
          contentLength = decimal(output, valueStart, valueEnd);
        } else if (!seenType && sameAsciiName(output, nameStart, nameEnd, warcTypeName)) {
          seenType = true;
          type = output.toString('latin1', valueStart, valueEnd);
        }
      }
    }
    start = next;
  }
  return { kind: 'more' };
}

const colonByte = 0x3a;
const contentLengthName = 'content-length';
const warcTypeName = 'warc-type';
/** Digits of a Content-Length this scan reads, as the parser's `/^\d{1,15}$/`. */
const lengthDigitsMax = 15;

/** Index of the first colon in `bytes[start, end)`, or -1. */
function colonIndex(bytes: Buffer, start: number, end: number): number {
  for (let index = start; index < end; index++) if (bytes[index] === colonByte) return index;
  return -1;
}

/** Whether a byte is one that `trim` drops from a latin1 string: TAB to CR, space, no-break space. */
function isLatin1Space(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0xa0 || (byte !== undefined && byte >= 0x09 && byte <= 0x0d);
}

/** `[start, end)` without the bytes at either end that `toString('latin1').trim()` drops. */
function latin1Trimmed(bytes: Buffer, start: number, end: number): [number, number] {
  let from = start;
  let to = end;
  while (from < to && isLatin1Space(bytes[from])) from++;
  while (to > from && isLatin1Space(bytes[to - 1])) to--;
  return [from, to];
}

/**
 * Whether `bytes[start, end)` read as latin1 and lower-cased is `name` (lower-case ASCII): only
 * A to Z lower-case to ASCII letters in latin1, so the bytes are compared with A to Z folded.
 */
function sameAsciiName(bytes: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let index = 0; index < name.length; index++) {
    const byte = bytes[start + index] ?? 0;
    const lower = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
    if (lower !== name.charCodeAt(index)) return false;
  }
  return true;
}

/** The number `bytes[start, end)` spells in 1 to 15 ASCII digits, or null. */
function decimal(bytes: Buffer, start: number, end: number): number | null {
  if (end === start || end - start > lengthDigitsMax) return null;
  let value = 0;
  for (let index = start; index < end; index++) {
    const byte = bytes[index] ?? 0;
    if (byte < 0x30 || byte > 0x39) return null;
    value = value * 10 + (byte - 0x30);
  }
  return value;
}

/** Index after the first blank line at or after `start` and before `limit`. */
function blankLineEnd(
  output: Buffer,
  start: number,
  limit: number,
  lineBytesMax: number,
): number | 'more' | 'too-long' {
  let lineStart = start;
  // Each turn reads one line: bounded by the bytes.
  for (let turn = 0; turn <= limit - start; turn++) {
    const lineEnd = output.indexOf(lineFeed, lineStart);
    if (lineEnd === -1 || lineEnd >= limit) return limit - lineStart > lineBytesMax ? 'too-long' : 'more';
    if (lineEnd - lineStart > lineBytesMax) return 'too-long';
    let textEnd = lineEnd;
    while (textEnd > lineStart && output[textEnd - 1] === carriageReturn) textEnd--;
    if (textEnd === lineStart && turn > 0) return lineEnd + 1;
    lineStart = lineEnd + 1;
  }
  return 'more';
}
