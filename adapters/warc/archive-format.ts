import { arcFileMagic, startsArcFile, startsArcRecord } from './arc-record-parser.ts';
import { findGzipMagic, inflateMember, inflateTruncatedMember, startsGzipMember } from './gzip-member.ts';

/** How an input is stored (plain, or gzip members) and which archive format its records are in. */
export interface ArchiveFormat {
  readonly container: 'gzip' | 'plain';
  readonly archive: 'warc' | 'arc';
}

/** Bytes needed to tell gzip (1f 8b 08) from plain WARC (`WARC/`). */
const magicBytes = 5;
const warcMagic = Buffer.from('WARC/', 'latin1');
const lineFeed = 0x0a;
/** Input that starts with neither is searched this far for a gzip member holding a record. */
export const detectionWindowBytes = 64 * 1024;
/**
 * Compressed bytes of the first member inflated to see what it starts: enough for any deflate
 * block's code tables and the 11 bytes of `filedesc://`, and small enough that a member of
 * one repeated byte cannot inflate to more than a few MiB here.
 */
const firstMemberBytes = 4 * 1024;

/**
 * Tells the format from an input's first bytes, not its name, or returns null while too few
 * are in. Every decision waits for a fixed number of bytes (or the input's end), so where the
 * chunks were cut cannot change it. `working` is not empty.
 */
export function detectArchiveFormat(working: Buffer, final: boolean): ArchiveFormat | null {
  if (working.length < magicBytes && !final) return null;
  if (startsGzipMember(working, 0)) {
    const holds = firstMemberHolds(working, final);
    if (holds === null) return null;
    if (holds !== 'neither') return { container: 'gzip', archive: holds };
    // A damaged first member: the members after it tell ARC from WARC.
    if (working.length < detectionWindowBytes && !final) return null;
    return { container: 'gzip', archive: gzipMemberFollows(working.subarray(0, detectionWindowBytes)) ?? 'warc' };
  }
  if (working.subarray(0, magicBytes).equals(warcMagic)) return { container: 'plain', archive: 'warc' };
  if (working.length < arcFileMagic.length && !final) return null;
  if (startsArcFile(working)) return { container: 'plain', archive: 'arc' };
  // Neither: an ARC without its version block, a damaged first member, or junk before the first record.
  if (working.length < detectionWindowBytes && !final) return null;
  if (startsArcRecord(working.subarray(0, detectionWindowBytes))) return { container: 'plain', archive: 'arc' };
  const follows = gzipMemberFollows(working.subarray(0, detectionWindowBytes));
  return follows === null ? { container: 'plain', archive: 'warc' } : { container: 'gzip', archive: follows };
}

/** Which archive a gzip member after the damaged start holds (its output starts a WARC or ARC record), if any. */
function gzipMemberFollows(window: Buffer): 'warc' | 'arc' | null {
  // Each candidate magic is tried once, at most 64 of them.
  for (let index = findGzipMagic(window, 1), tries = 0; index !== -1 && tries < 64; tries++) {
    const output = inflateTruncatedMember(window, index, window.length);
    if (output.subarray(0, magicBytes).equals(warcMagic)) return 'warc';
    if (startsArcRecord(output)) return 'arc';
    index = findGzipMagic(window, index + 1);
  }
  return null;
}

/**
 * What the first gzip member starts: a WARC record, an ARC file (or, without its version block,
 * an ARC record's header line), neither (it is damaged), or null while too few of its bytes
 * are in to tell. Each answer needs a prefix of the output that more bytes cannot change.
 */
function firstMemberHolds(working: Buffer, final: boolean): 'warc' | 'arc' | 'neither' | null {
  const window = working.subarray(0, firstMemberBytes);
  const output = inflateTruncatedMember(window, 0, window.length);
  if (output.subarray(0, magicBytes).equals(warcMagic)) return 'warc';
  if (startsArcFile(output)) return 'arc';
  const complete =
    final || window.length === firstMemberBytes || inflateMember(window, 0, window.length).kind !== 'incomplete';
  if (!complete && (output.length < arcFileMagic.length || output.indexOf(lineFeed) === -1)) return null;
  return startsArcRecord(output) ? 'arc' : 'neither';
}
