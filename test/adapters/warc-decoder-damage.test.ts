// Proves how the WARC decoder recovers from damage that spans a whole gzip member: after a
// member whose header line never ends (or text with no line end), the next member's record
// is read again, not swallowed as the end of the damaged line; and that a member which
// inflates about 1,000 times (a run of one byte) is inflated with a bounded amount of output
// held, however much one compressed piece yields; and that a file with no record read says
// in its failure what damage was seen instead; and that a damaged member whose header or
// deflate data claims the bytes behind it costs that member only, not the rest of the file.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { StreamingMemberInflater } from '../../adapters/warc/streaming-member-inflater.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import { warcLimits } from '../../adapters/warc/warc-limits.ts';
import { endlessHeaderLinePrefix, oneByteRunMember } from '../fixtures-gen/damaged-warc.ts';
import { sharedFixture } from '../support/shared-fixtures.ts';

const input: InputRef = { uri: 'damage', filename: 'damage.warc.gz', crawl: null, subset: null, segment: null };
const whirlwind = readFileSync(sharedFixture('commoncrawl/whirlwind.warc.gz'));
/** whirlwind's members, by the offsets Python's zlib finds (see warc-decoder-fixtures.test.ts). */
const whirlwindResponse = whirlwind.subarray(1023, 18374);

interface Decoded {
  rows: CaptureRow[];
  byType: Record<string, number>;
  badByReason: Record<string, number>;
}

function decode(bytes: Buffer, chunkBytes = bytes.length): Decoded {
  const decoder = new WarcJobDecoder(input);
  const decoded: Decoded = { rows: [], byType: {}, badByReason: {} };
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    const result = decoder.push(bytes.subarray(offset, offset + chunkBytes), offset + chunkBytes >= bytes.length);
    decoded.rows.push(...result.rows);
    expectDecoderCodes(result.counters);
    add(decoded.byType, result.counters.byType);
    add(decoded.badByReason, result.counters.badByReason);
  }
  return decoded;
}

function add(into: Record<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + value;
}

describe('WARC decoder after a damaged gzip member', () => {
  it('reads the record of the next member after a header line past its limit', () => {
    const longLine = zlib.gzipSync(
      Buffer.concat([
        Buffer.from('WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://example.com/'),
        Buffer.alloc(200_000, 'A'),
      ]),
    );
    const bytes = Buffer.concat([whirlwind, longLine, whirlwindResponse, whirlwind]);
    for (const chunkBytes of [bytes.length, 4096, 777]) {
      const decoded = decode(bytes, chunkBytes);
      expect(
        decoded.rows.map((row) => row.warc_record_offset),
        `chunks of ${chunkBytes}`,
      ).toEqual([
        1023,
        whirlwind.length + longLine.length,
        whirlwind.length + longLine.length + whirlwindResponse.length + 1023,
      ]);
      expect(decoded.byType).toEqual({ warcinfo: 2, request: 2, response: 3, metadata: 2 });
      expect(decoded.badByReason).toEqual({ warc_header_line_too_long: 1 });
    }
  });

  it('reads the record of the next member after a member of text with no line end', () => {
    const text = zlib.gzipSync(Buffer.from('not a record, and no line feed either'));
    const bytes = Buffer.concat([text, whirlwindResponse]);
    for (const chunkBytes of [bytes.length, 100]) {
      const decoded = decode(bytes, chunkBytes);
      expect(
        decoded.rows.map((row) => row.warc_record_offset),
        `chunks of ${chunkBytes}`,
      ).toEqual([text.length]);
      expect(decoded.badByReason).toEqual({ non_warc_data: 1 });
    }
  });
});

describe('WARC decoder on a damaged member that claims the bytes behind it', () => {
  const rowsAfter = (prefixBytes: number) => [prefixBytes + 1023];

  it('reads the members after a header whose flipped flag announces a long extra field', () => {
    const bytes = Buffer.concat([whirlwind, whirlwind]);
    bytes[1023 + 3]! ^= 0x04;
    bytes.writeUInt16LE(60_000, 1023 + 10);
    for (const chunkBytes of [bytes.length, 4096, 777]) {
      const decoded = decode(bytes, chunkBytes);
      expect(
        decoded.rows.map((row) => row.warc_record_offset),
        `chunks of ${chunkBytes}`,
      ).toEqual(rowsAfter(whirlwind.length));
      expect(decoded.badByReason).toEqual({ corrupt_gzip_member: 1 });
    }
  });

  it('reads the members after deflate data that runs on through them', () => {
    // A stored block that is not the last one, as long as the file behind it: zlib reads the
    // whole file as its data and then waits for a next block that never comes.
    const storedBlock = Buffer.from([0x00, 0, 0, 0, 0]);
    storedBlock.writeUInt16LE(whirlwind.length, 1);
    storedBlock.writeUInt16LE(~whirlwind.length & 0xffff, 3);
    const runsOn = Buffer.concat([zlib.gzipSync(Buffer.alloc(0)).subarray(0, 10), storedBlock]);
    const bytes = Buffer.concat([runsOn, whirlwind]);
    for (const chunkBytes of [bytes.length, 4096, 777]) {
      const decoded = decode(bytes, chunkBytes);
      expect(
        decoded.rows.map((row) => row.warc_record_offset),
        `chunks of ${chunkBytes}`,
      ).toEqual(rowsAfter(runsOn.length));
      expect(decoded.badByReason).toEqual({ corrupt_gzip_member: 1 });
    }
  });

  it('still counts a last member cut off by the end of the file as truncated', () => {
    const bytes = whirlwind.subarray(0, 1023 + 5000);
    const decoded = decode(bytes, 777);
    expect(decoded.rows).toEqual([]);
    expect(decoded.badByReason).toEqual({ truncated_gzip_member: 1 });
  });
});

describe('WARC decoder on a member that inflates a thousandfold', () => {
  const mebibyte = 1024 * 1024;
  const pakoOutputBytes = 64 * 1024;

  it('hands the output of one compressed piece over in bounded batches', () => {
    const member = oneByteRunMember(endlessHeaderLinePrefix, 64);
    const deflate = member.subarray(10);
    // The whole member is one piece (66 KB compressed): before the bound it came back as 64 MiB at once.
    expect(deflate.length).toBeLessThan(warcLimits.streamPieceBytes);
    const outputBytesMax = 4 * mebibyte;
    const inflater = new StreamingMemberInflater(outputBytesMax);
    const batches: number[] = [];
    const sum = (outputs: Buffer[]) => outputs.reduce((total, output) => total + output.length, 0);
    const step = inflater.push(deflate, (outputs) => batches.push(sum(outputs)));
    expect(step.kind).toBe('ended');
    if (step.kind !== 'ended') return;
    batches.push(sum(step.outputs));
    expect(Math.max(...batches)).toBeLessThanOrEqual(outputBytesMax + pakoOutputBytes);
    expect(batches.reduce((total, bytes) => total + bytes, 0)).toBe(endlessHeaderLinePrefix.length + 64 * mebibyte);
    expect(inflater.trailerMatches(deflate, deflate.length - step.unconsumed)).toBe(true);
  });

  it("counts a streamed member's endless header line and reads the records around it, however the input is chunked", () => {
    // Past memberOutputBytesMax (64 MiB), so the member takes the streaming inflater.
    const runMebibytes = 80;
    const member = oneByteRunMember(endlessHeaderLinePrefix, runMebibytes);
    expect(runMebibytes * mebibyte).toBeGreaterThan(warcLimits.memberOutputBytesMax);
    const bytes = Buffer.concat([whirlwind, member, whirlwindResponse]);
    for (const chunkBytes of [bytes.length, mebibyte, 100_000]) {
      const decoded = decode(bytes, chunkBytes);
      expect(
        decoded.rows.map((row) => row.warc_record_offset),
        `chunks of ${chunkBytes}`,
      ).toEqual([1023, whirlwind.length + member.length]);
      expect(decoded.badByReason).toEqual({ warc_header_line_too_long: 1 });
    }
  });
});

describe('WARC decoder on a file with no record read', () => {
  function failureOf(bytes: Buffer): FailureError {
    try {
      decode(bytes, 64 * 1024);
    } catch (error) {
      if (error instanceof FailureError) return error;
      throw error;
    }
    throw new Error('decoded without a failure');
  }

  it('names the damage it saw: a header line past its limit is not called a text file', () => {
    const failure = failureOf(oneByteRunMember(endlessHeaderLinePrefix, 1)).failure;
    expect(failure).toMatchObject({ fault: 'input', retryable: false });
    expect(failure.reason).toBe(
      'damage: not a WARC file, no WARC record found (damage seen: warc_header_line_too_long 1)',
    );
    expect(failureOf(Buffer.from('minutes of the meeting\n'.repeat(10))).failure.reason).toBe(
      'damage: not a WARC file, no WARC record found (damage seen: non_warc_data 1)',
    );
    expect(failureOf(zlib.gzipSync(Buffer.alloc(0))).failure.reason).toBe(
      'damage: not a WARC file, no WARC record found',
    );
  });
});
