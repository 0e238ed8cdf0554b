import { findGzipMagic, parseGzipHeader } from './gzip-member.ts';
import { headOnlyLimits } from './head-only-member-reader.ts';
import { inflateHead } from './member-head.ts';
import { type WarcLimits, warcLimits } from './warc-limits.ts';

/** Bounds of the scan for a record boundary, units last. */
export const boundaryLimits = {
  /**
   * Gzip magics tried before the scan gives up (`unknown`). A record's member is found at the
   * first magic in nearly every chunk; a payload of stored gzip bytes can hold many, and the
   * bound keeps a crafted one from costing an inflate a byte.
   */
  candidatesMax: 4096,
  /** Deflate data inflated of a candidate: enough for a WARC header whole, as `headInputBytesMax`. */
  headInputBytes: headOnlyLimits.headInputBytesMax,
};

/**
 * Where a scan for a record boundary ended: `found` at an index, `none` in the region, or
 * `unknown` when a candidate needs bytes past the buffer to be judged (or the scan's bound ran
 * out), so that the caller treats the region as not splittable rather than guess.
 */
export type BoundaryScan =
  { readonly kind: 'found'; readonly index: number } | { readonly kind: 'none' } | { readonly kind: 'unknown' };

const recordMagic = Buffer.from('WARC/', 'latin1');
const typeField = /^warc-type:[ \t]*([^\r\n]*)/im;
/** A WARC header ends at a blank line; the parser takes LF or CR LF line ends. */
const blankLine = /\r?\n\r?\n/;
/** Inflated bytes searched for the header's end: a header longer than this is read as no boundary. */
const headerTextBytesMax = 64 * 1024;

/**
 * The first record boundary in `bytes[from, regionEnd)`: a gzip member whose header parses
 * and whose deflate data inflates to a WARC header whose type is not `metadata` (a metadata
 * record belongs with the capture before it, so a split there would part them). The scan is a
 * function of the bytes from the candidate on, so two decodes that see the same bytes agree on
 * it: the core's rule relies on that (core/split-decode.ts). It can be fooled by a payload that
 * holds such a member (a stored `.warc.gz`): the rule catches that by offsets.
 * `inputEnds`: nothing follows `bytes` in the file, so a candidate cut by its end is no record.
 */
export function findRecordBoundary(
  bytes: Buffer,
  from: number,
  regionEnd: number,
  inputEnds: boolean,
  limits: WarcLimits = warcLimits,
): BoundaryScan {
  let candidate = findGzipMagic(bytes, from);
  // Each turn moves past one magic, at most `candidatesMax` of them.
  for (let tries = 0; candidate !== -1 && candidate < regionEnd; tries++) {
    if (tries === boundaryLimits.candidatesMax) return { kind: 'unknown' };
    const judged = judgeCandidate(bytes, candidate, inputEnds, limits);
    if (judged === 'record') return { kind: 'found', index: candidate };
    if (judged === 'unknown') return { kind: 'unknown' };
    candidate = findGzipMagic(bytes, candidate + 1);
  }
  return { kind: 'none' };
}

/**
 * Whether a record's member starts at `index` (a boundary as `findRecordBoundary` takes it),
 * not (no member, no `WARC/`, a metadata record), or unknown without bytes past `bytes`.
 */
export function judgeCandidate(
  bytes: Buffer,
  index: number,
  inputEnds: boolean,
  limits: WarcLimits,
): 'record' | 'not' | 'unknown' {
  const cut = inputEnds ? 'not' : 'unknown';
  const header = parseGzipHeader(bytes, index, bytes.length, limits);
  if (header.kind === 'incomplete') return cut;
  if (header.kind === 'invalid') return 'not';
  const deflateStart = index + header.length;
  const end = Math.min(bytes.length, deflateStart + boundaryLimits.headInputBytes);
  const head = inflateHead(bytes.subarray(deflateStart, end), headOnlyLimits.headOutputBytesMax);
  if (head.kind === 'corrupt') return 'not';
  const output = head.output;
  const cutShort = !head.ended && end === bytes.length && end - deflateStart < boundaryLimits.headInputBytes;
  if (output.length < recordMagic.length) return cutShort ? cut : 'not';
  if (!output.subarray(0, recordMagic.length).equals(recordMagic)) return 'not';
  const text = output.toString('latin1', 0, Math.min(output.length, headerTextBytesMax));
  const headerEnd = blankLine.exec(text)?.index;
  if (headerEnd === undefined) return cutShort ? cut : 'not';
  const type = typeField.exec(text.slice(0, headerEnd));
  return type?.[1]?.trim().toLowerCase() === 'metadata' ? 'not' : 'record';
}
