import zlib from 'node:zlib';
import type { RecordWarningCode } from '../../core/record-reasons.ts';
import { removeChunking } from './chunked-transfer.ts';
import type { HeaderFields } from './line-reader.ts';
import type { RawPayload } from './payload-collector.ts';

/** Bounds of payload decoding (see warc-limits.ts for the values the worker uses). */
export interface PayloadBounds {
  /** Bytes of decoded payload a row keeps (`--content-max-kb`). */
  readonly contentBytesMax: number;
  /** Bytes one coding may decode to: the work bound of one record (a zip bomb stops here). */
  readonly decodedBytesMax: number;
}

/** What a payload decoded to. */
export interface DecodedPayload {
  /** At most `contentBytesMax` bytes: the decoded payload, or the bytes as sent when decoding failed. */
  readonly content: Uint8Array;
  /** The decoded payload's length before the cut; null when decoding stopped at a bound, before its end. */
  readonly contentLength: number | null;
  /** The row's payload is shorter than the record's: cut at `contentBytesMax` or at a bound. */
  readonly cut: boolean;
  /** Why the Content-Encoding could not be removed; `content` then holds the bytes as sent. */
  readonly encodingError: string | null;
  readonly warnings: readonly RecordWarningCode[];
}

/** The codings of a header value, in the order they were applied. */
function codingsOf(value: string | null): string[] {
  if (value === null) return [];
  return value
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding.length > 0 && coding !== 'identity');
}

/**
 * The codings to remove, outermost first: transfer codings (chunked last applied), then content
 * codings, each list undone from its end. CommonCrawl stores payloads decoded and renames the
 * headers to `X-Crawler-Transfer-Encoding` and `X-Crawler-Content-Encoding`: their presence
 * says the bytes were decoded already, whatever else the record says.
 */
export function codingsToRemove(headers: HeaderFields | null): { transfer: string[]; content: string[] } {
  if (headers === null) return { transfer: [], content: [] };
  const transfer =
    headers.get('x-crawler-transfer-encoding') === null ? codingsOf(headers.get('transfer-encoding')) : [];
  const content = headers.get('x-crawler-content-encoding') === null ? codingsOf(headers.get('content-encoding')) : [];
  return { transfer: transfer.reverse(), content: content.reverse() };
}

/** Bytes part-way through decoding: whether they are all of the payload, and why not. */
interface Stage {
  readonly bytes: Buffer;
  /** The bytes are the whole of this stage's output (the input was whole and no bound was hit). */
  readonly whole: boolean;
  /** A bound of ours (held bytes, decoded bytes) cut the output, not the record itself. */
  readonly bounded: boolean;
  /** An encoding's bytes ended before its end: what they held was decoded. */
  readonly cutShort: boolean;
}

type CodingResult =
  { readonly kind: 'decoded'; readonly stage: Stage } | { readonly kind: 'failed'; readonly reason: string };

/**
 * Decodes a payload. `recordTruncated` says the crawler cut the record (WARC-Truncated): its
 * encoded bytes then end early, and what they decode to is kept, as browsers and warcio show it.
 * Transfer codings broken part-way are read as warcio reads them (chunked-transfer.ts). A
 * Content-Encoding that does not decode leaves the bytes as sent, with the reason; a bound
 * reached stops decoding and the row says `length`.
 */
export function decodePayload(
  raw: RawPayload,
  headers: HeaderFields | null,
  recordTruncated: boolean,
  bounds: PayloadBounds,
): DecodedPayload {
  const heldAll = raw.bytes.length === raw.totalBytes;
  let stage: Stage = { bytes: raw.bytes, whole: heldAll && !recordTruncated, bounded: !heldAll, cutShort: false };
  const { transfer, content } = codingsToRemove(headers);
  if (transfer.length === 0 && content.length === 0) return keep(stage.bytes, raw.totalBytes, bounds, null, []);
  const warnings: RecordWarningCode[] = [];
  for (const coding of transfer) {
    if (coding === 'chunked') {
      const unchunked = removeChunking(stage.bytes);
      if (unchunked.broken) warnings.push('broken_chunked_transfer_coding');
      stage = { ...stage, bytes: unchunked.bytes, whole: stage.whole && !unchunked.broken };
      continue;
    }
    const result = removeCoding(coding, stage, bounds);
    if (result.kind === 'failed') return failed(stage, `transfer coding ${result.reason}`, bounds, warnings);
    stage = result.stage;
  }
  const sent = stage;
  for (const coding of content) {
    const result = removeCoding(coding, stage, bounds);
    if (result.kind === 'failed') return failed(sent, result.reason, bounds, warnings);
    stage = result.stage;
  }
  if (stage.bounded) warnings.push('payload_past_decoding_bound');
  if (stage.cutShort) warnings.push('encoded_payload_cut_short');
  return keep(stage.bytes, stage.bounded ? null : stage.bytes.length, bounds, null, warnings);
}

function failed(sent: Stage, reason: string, bounds: PayloadBounds, warnings: RecordWarningCode[]): DecodedPayload {
  warnings.push('undecodable_content_encoding');
  return keep(sent.bytes, sent.bounded ? null : sent.bytes.length, bounds, reason, warnings);
}

function keep(
  bytes: Buffer,
  length: number | null,
  bounds: PayloadBounds,
  encodingError: string | null,
  warnings: readonly RecordWarningCode[],
): DecodedPayload {
  const cut = length === null || length > bounds.contentBytesMax;
  // A copy of the kept prefix, so the row does not pin a decoded buffer many times its size.
  const content = bytes.length > bounds.contentBytesMax ? bytes.subarray(0, bounds.contentBytesMax).slice() : bytes;
  return { content, contentLength: length, cut, encodingError, warnings };
}

type SyncDecoder = (bytes: Buffer, options: zlib.ZlibOptions | zlib.BrotliOptions) => Buffer;

/** Node's decoders by coding name; `x-gzip` is gzip (RFC 9110, 8.4.1.3). */
const decoders: Readonly<Record<string, readonly SyncDecoder[]>> = {
  gzip: [zlib.gunzipSync],
  'x-gzip': [zlib.gunzipSync],
  // RFC 9110's deflate is zlib-wrapped, but servers have long sent raw deflate and browsers
  // accept both: zlib first, raw when that fails (as warcio does).
  deflate: [zlib.inflateSync, zlib.inflateRawSync],
  br: [zlib.brotliDecompressSync],
};

/** Decodes one coding, or says why it cannot. */
function removeCoding(coding: string, stage: Stage, bounds: PayloadBounds): CodingResult {
  const tries = decoders[coding];
  if (tries === undefined) return { kind: 'failed', reason: `unsupported coding ${coding}` };
  let reason = '';
  for (const decode of tries) {
    const result = decodeBounded(decode, coding, stage, bounds);
    if (result.kind === 'decoded') return result;
    reason = result.reason;
  }
  return { kind: 'failed', reason };
}

/**
 * Bytes that end early (a truncated record, a bound on held bytes) are decoded with a sync flush
 * at their end, which gives what they hold instead of an error; whole bytes must decode whole.
 */
function flushOptions(coding: string, whole: boolean): zlib.ZlibOptions | zlib.BrotliOptions {
  if (whole) return {};
  return coding === 'br'
    ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }
    : { finishFlush: zlib.constants.Z_SYNC_FLUSH };
}

function decodeBounded(decode: SyncDecoder, coding: string, stage: Stage, bounds: PayloadBounds): CodingResult {
  try {
    const bytes = decode(stage.bytes, {
      ...flushOptions(coding, stage.whole),
      maxOutputLength: bounds.decodedBytesMax,
    });
    return { kind: 'decoded', stage: { ...stage, bytes } };
  } catch (error) {
    if (isTooLarge(error)) return { kind: 'decoded', stage: decodedPrefix(decode, coding, stage, bounds) };
    // Encoded bytes that end early (a Content-Length a few bytes short, a server that closed
    // the connection) are read as far as they go, as browsers and warcio read them.
    if (isCutShort(error) && stage.whole) {
      const cutShort = decodeBounded(decode, coding, { ...stage, whole: false }, bounds);
      return cutShort.kind === 'decoded' ? { kind: 'decoded', stage: { ...cutShort.stage, cutShort: true } } : cutShort;
    }
    if (isZlibError(error)) return { kind: 'failed', reason: `${coding}: ${error.message}` };
    throw error;
  }
}

/** zlib's and brotli's `unexpected end of file`: the bytes decoded well up to where they end. */
function isCutShort(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'Z_BUF_ERROR';
}

/** Compressed bytes decoded first when a payload decodes past the bound; doubled each turn. */
const prefixStartBytes = 1024;
/** Turns of the search for the longest prefix within the bound: enough to halve 2^32 bytes to one. */
const prefixSearchTurnsMax = 32;

/**
 * A payload that decodes past `decodedBytesMax`: its length is not counted further (that is the
 * bound on work), and the row keeps what the longest prefix of its bytes within the bound
 * decodes to. The prefix doubles from 1 KiB until its output fills `contentBytesMax` or passes
 * the bound, then a binary search between the last two finds the longest within it (a bomb
 * inflates 1 KiB past the bound). Each turn decodes at most `decodedBytesMax`; there are at
 * most 2 * log2(held bytes) turns.
 */
function decodedPrefix(decode: SyncDecoder, coding: string, stage: Stage, bounds: PayloadBounds): Stage {
  const options = { ...flushOptions(coding, false), maxOutputLength: bounds.decodedBytesMax };
  const attempt = (prefix: number): Buffer | null => {
    try {
      return decode(stage.bytes.subarray(0, prefix), options);
    } catch (error) {
      if (isTooLarge(error) || isZlibError(error)) return null;
      throw error;
    }
  };
  let kept: Buffer = Buffer.alloc(0);
  let within = 0;
  let past = stage.bytes.length + 1;
  for (let turn = 0, prefix = Math.min(prefixStartBytes, stage.bytes.length); turn < prefixSearchTurnsMax; turn++) {
    const output = attempt(prefix);
    if (output === null) past = prefix;
    else {
      [kept, within] = [output, prefix];
      if (output.length >= bounds.contentBytesMax || prefix === stage.bytes.length) break;
    }
    const doubling = past > stage.bytes.length;
    prefix = doubling ? Math.min(2 * prefix, stage.bytes.length) : Math.floor((within + past) / 2);
    if (!doubling && past - within <= 1) break;
  }
  return { bytes: kept, whole: false, bounded: true, cutShort: stage.cutShort };
}

function isTooLarge(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/** zlib's own errors (bad data, a stream cut short) carry a `Z_` code, brotli's an `ERR__` or `ERR_BROTLI` one; a bug does not. */
function isZlibError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof Error &&
    typeof code === 'string' &&
    (code.startsWith('Z_') || code.startsWith('ERR__') || code.startsWith('ERR_BROTLI'))
  );
}
