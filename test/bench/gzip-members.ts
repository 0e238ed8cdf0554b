// The members of a `.warc.gz` and node's one-shot inflate of each: the baseline the benches
// compare the worker with. `zlib.gunzipSync` of a whole file in one call puts every member's
// output in one buffer (1.4 GB for a 300 MB CommonCrawl-density file), and on the project's
// 2-core VM memory touched for the first time costs about 5 ms a MB: that call took 12-16 CPU
// seconds on the 300 MB file against 2.9-3.0 member by member (docs/figures.md, "The baseline").
import zlib from 'node:zlib';
import { parseGzipHeader } from '../../adapters/warc/gzip-member.ts';

export interface MemberRange {
  /** The member's first byte (its gzip header). */
  readonly memberStart: number;
  /** Its deflate data: [start, end); the 8-byte trailer follows. */
  readonly start: number;
  readonly end: number;
}

const gzipTrailerBytes = 8;

/** Every member's bounds (each header parsed and each member inflated once, outside any timing). */
export function memberRanges(bytes: Buffer): MemberRange[] {
  const ranges: MemberRange[] = [];
  // Each turn moves past one member: bounded by the file's length.
  for (let index = 0; index < bytes.length;) {
    const header = parseGzipHeader(bytes, index, bytes.length);
    if (header.kind !== 'header') throw new Error(`no gzip member at ${index}`);
    const start = index + header.length;
    const inflated = zlib.inflateRawSync(bytes.subarray(start), { info: true }) as unknown as {
      engine: { bytesWritten: number };
    };
    const end = start + inflated.engine.bytesWritten;
    ranges.push({ memberStart: index, start, end });
    index = end + gzipTrailerBytes;
  }
  return ranges;
}

/** CPU seconds of `zlib.gunzipSync` of each member in turn (CRC and size checked, as gunzip does). */
export function gunzipMembersCpuSeconds(bytes: Buffer, ranges: readonly MemberRange[]): number {
  const started = process.cpuUsage();
  for (const { memberStart, end } of ranges) zlib.gunzipSync(bytes.subarray(memberStart, end + gzipTrailerBytes));
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1e6;
}
