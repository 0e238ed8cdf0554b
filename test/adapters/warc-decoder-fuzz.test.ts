// Proves, on random WARC files written by warcio's own writer (WARCRecord.create and
// WARCSerializer; one gzip member per record, and plain), that the decoder's `push` never
// throws except the documented input fault for a file with no WARC record left, always
// returns, and gives the rows of undamaged records exactly: cut at random chunk boundaries
// (same rows and counts as whole), truncated at a random byte (every record and metadata
// before the cut comes out unchanged, nothing invented after it), or with random bytes
// flipped (gzip: every record in an intact member comes out unchanged and no damaged one
// leaks a row, thanks to the CRC check; plain: every record before the first flip). A third
// layout, one gzip member for the whole file, runs with shrunken limits so that it takes the
// streaming inflater: its rows equal the plain file's but for offsets, and do not depend on
// the chunking either. Bodies carry `WARC/1.0` lines and CR LF runs to lure the
// resynchronisation. fast-check prints the seed and the shrunk counterexample on failure;
// FUZZ_RUNS=5000 searches longer than the 300 runs of `npm test`.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { WARCRecord, WARCSerializer } from 'warcio';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import { type WarcLimits, warcLimits } from '../../adapters/warc/warc-limits.ts';

const input: InputRef = { uri: 'fuzz', filename: 'fuzz.warc.gz', crawl: null, subset: null, segment: null };

interface Page {
  kind: 'response' | 'revisit' | 'resource' | 'request';
  host: string;
  path: string;
  seconds: number;
  status: number;
  body: Uint8Array;
  withRequest: boolean;
  withMetadata: boolean;
  languages: string[];
}

/** A record's place in the generated file. */
interface Member {
  offset: number;
  length: number;
  type: string;
  page: number;
}

const lures = [
  'WARC/1.0\r\nWARC-Type: response\r\n',
  '\r\n\r\n',
  '\n\nWARC/1.1\n',
  'HTTP/1.1 200 OK\r\n',
  '\x1f\x8b\x08',
].map((text) => Buffer.from(text, 'latin1'));

const bodyArbitrary = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...lures)), { maxLength: 10 })
      .map((parts) => Buffer.concat(parts)),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 20_000, max: 80_000 }).map((size) => Buffer.alloc(size, 'compressible text ')),
  },
);

const pageArbitrary: fc.Arbitrary<Page> = fc.record({
  kind: fc.constantFrom('response', 'response', 'revisit', 'resource', 'request'),
  host: fc.stringMatching(/^[a-z][a-z0-9]{0,9}\.(com|org|de)$/),
  path: fc.stringMatching(/^[a-z0-9/]{0,16}$/),
  seconds: fc.integer({ min: 0, max: 2_000_000_000 }),
  status: fc.constantFrom(200, 200, 301, 302, 404, 500),
  body: bodyArbitrary,
  withRequest: fc.boolean(),
  withMetadata: fc.boolean(),
  languages: fc.subarray(['eng', 'deu', 'zho', 'jpn', 'fra']),
});

async function serialize(record: WARCRecord, gzip: boolean): Promise<Uint8Array> {
  return WARCSerializer.serialize(record, { gzip });
}

/** The records of one page, in CommonCrawl's order: request, capture, metadata. */
async function pageRecords(page: Page): Promise<[string, WARCRecord][]> {
  const url = `http://${page.host}/${page.path}`;
  const date = new Date(page.seconds * 1000).toISOString();
  const records: [string, WARCRecord][] = [];
  if (page.withRequest || page.kind === 'request') {
    records.push([
      'request',
      WARCRecord.create(
        { url, date, type: 'request', statusline: `GET /${page.path} HTTP/1.1`, httpHeaders: { Host: page.host } },
        [new Uint8Array(0)],
      ),
    ]);
  }
  if (page.kind === 'request') return records;
  const httpHeaders: Record<string, string> = { 'Content-Type': 'text/html; charset=utf-8' };
  if (page.status >= 300 && page.status < 400) httpHeaders.Location = `/moved/${page.path}`;
  const capture =
    page.kind === 'resource'
      ? WARCRecord.create({ url, date, type: 'resource', warcHeaders: { 'Content-Type': 'text/plain' } }, [page.body])
      : WARCRecord.create(
          {
            url,
            date,
            type: page.kind,
            statusline: `HTTP/1.1 ${page.status} Something`,
            httpHeaders,
            refersToUrl: url,
            refersToDate: date,
          },
          [page.kind === 'revisit' ? new Uint8Array(0) : page.body],
        );
  records.push([page.kind, capture]);
  if (page.withMetadata) {
    const languages = JSON.stringify({
      reliable: true,
      languages: page.languages.map((code) => ({ 'code-iso-639-3': code })),
    });
    const body = Buffer.from(`charset-detected: UTF-8\r\nlanguages-cld2: ${languages}\r\n`);
    const concurrentTo = capture.warcHeaders.headers.get('WARC-Record-ID')!;
    records.push([
      'metadata',
      WARCRecord.create({ url, date, type: 'metadata', warcHeaders: { 'WARC-Concurrent-To': concurrentTo } }, [body]),
    ]);
  }
  return records;
}

async function buildWarc(pages: Page[], gzip: boolean): Promise<{ bytes: Buffer; members: Member[] }> {
  const parts: Uint8Array[] = [];
  const members: Member[] = [];
  let offset = 0;
  const info = WARCRecord.createWARCInfo({ filename: 'fuzz.warc', type: 'warcinfo' }, { software: 'fuzz' });
  for (const [index, records] of [
    [['warcinfo', info] as [string, WARCRecord]],
    ...(await Promise.all(pages.map(pageRecords))),
  ].entries()) {
    for (const [type, record] of records) {
      const bytes = await serialize(record, gzip);
      parts.push(bytes);
      members.push({ offset, length: bytes.length, type, page: index - 1 });
      offset += bytes.length;
    }
  }
  return { bytes: Buffer.concat(parts), members };
}

interface Decoded {
  rows: CaptureRow[];
  counters: { byType: Record<string, number>; badByReason: Record<string, number> };
  inputFault: boolean;
}

/** Small enough that a whole-file gzip of a few records is streamed in several pieces. */
const streamingLimits: WarcLimits = {
  ...warcLimits,
  memberBufferBytesMax: 1024,
  memberOutputBytesMax: 2048,
  streamPieceBytes: 256,
};

function decode(bytes: Buffer, chunkSizes: number[] = [], limits: WarcLimits = warcLimits): Decoded {
  const decoder = new WarcJobDecoder(input, { limits });
  const decoded: Decoded = { rows: [], counters: { byType: {}, badByReason: {} }, inputFault: false };
  let offset = 0;
  let turn = 0;
  try {
    do {
      const size = chunkSizes.length === 0 ? bytes.length : chunkSizes[turn++ % chunkSizes.length]!;
      const end = Math.min(bytes.length, offset + size);
      const result = decoder.push(new Uint8Array(bytes.subarray(offset, end)), end === bytes.length);
      decoded.rows.push(...result.rows);
      expectDecoderCodes(result.counters);
      for (const [key, value] of Object.entries(result.counters.byType))
        decoded.counters.byType[key] = (decoded.counters.byType[key] ?? 0) + value;
      for (const [key, value] of Object.entries(result.counters.badByReason))
        decoded.counters.badByReason[key] = (decoded.counters.badByReason[key] ?? 0) + value;
      offset = end;
    } while (offset < bytes.length);
  } catch (error) {
    if (!(error instanceof FailureError && error.failure.fault === 'input')) throw error;
    decoded.inputFault = true;
  }
  return decoded;
}

/** The capture member of each row of the intact file, and its metadata member if any. */
function rowMembers(members: Member[]): Map<number, { capture: Member; metadata: Member | null }> {
  const byOffset = new Map<number, { capture: Member; metadata: Member | null }>();
  members.forEach((member, index) => {
    if (!['response', 'revisit', 'resource'].includes(member.type)) return;
    const next = members[index + 1];
    byOffset.set(member.offset, {
      capture: member,
      metadata: next?.type === 'metadata' && next.page === member.page ? next : null,
    });
  });
  return byOffset;
}

const withoutMetadata = (row: CaptureRow) => ({ ...row, content_charset: null, content_languages: null });

/**
 * Every row decoded from damaged input is an intact row, at most missing its metadata. A plain
 * file cut inside a record's closing CR LF CR LF reports the record's length up to the cut.
 */
function expectNoInventedRows(rows: CaptureRow[], baseline: Map<number, CaptureRow>, inputEnd = Infinity): void {
  for (const found of rows) {
    const expected = baseline.get(found.warc_record_offset);
    expect(expected, `row at ${found.warc_record_offset} is not in the intact file`).toBeDefined();
    const cutInTrailer =
      found.warc_record_offset + found.warc_record_length === inputEnd &&
      found.warc_record_length >= expected!.warc_record_length - 4;
    const row = cutInTrailer ? { ...found, warc_record_length: expected!.warc_record_length } : found;
    if (row.content_charset === null && expected!.content_charset !== null)
      expect(row).toEqual(withoutMetadata(expected!));
    else expect(row).toEqual(expected);
  }
}

function expectIntactRows(
  rows: CaptureRow[],
  baseline: Map<number, CaptureRow>,
  intact: (range: Member) => boolean,
  members: Member[],
): void {
  const got = new Map(rows.map((row) => [row.warc_record_offset, row]));
  for (const [offset, { capture, metadata }] of rowMembers(members)) {
    if (intact(capture) && (metadata === null || intact(metadata)))
      expect(got.get(offset), `row at ${offset}`).toEqual(baseline.get(offset));
  }
}

const fileArbitrary = fc.record({
  pages: fc.array(pageArbitrary, { minLength: 1, maxLength: 8 }),
  layout: fc.constantFrom('members', 'plain', 'whole-file'),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 2048 }), { minLength: 1, maxLength: 8 }),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
  flips: fc.array(
    fc.tuple(
      fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      fc.integer({ min: 1, max: 255 }),
      fc.boolean(),
    ),
    { minLength: 1, maxLength: 3 },
  ),
});

describe('WARC decoder on random, damaged WARC files written by warcio', () => {
  it('never throws but the input fault, and gives undamaged records exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fileArbitrary, async ({ pages, layout, chunkSizes, cut, flips }) => {
        if (layout === 'whole-file') return wholeFileProperty(await buildWarc(pages, false), chunkSizes, cut, flips);
        const gzip = layout === 'members';
        const { bytes, members } = await buildWarc(pages, gzip);
        const whole = decode(bytes);
        expect(whole.inputFault).toBe(false);
        expect(whole.counters.badByReason).toEqual({});
        const baseline = new Map(whole.rows.map((row) => [row.warc_record_offset, row]));
        expect([...baseline.keys()]).toEqual([...rowMembers(members).keys()]);
        for (const row of whole.rows)
          expect(row.warc_record_length).toBe(rowMembers(members).get(row.warc_record_offset)!.capture.length);

        const chunked = decode(bytes, chunkSizes);
        expect(chunked.rows).toEqual(whole.rows);
        expect(chunked.counters).toEqual(whole.counters);

        const end = Math.floor(cut * bytes.length);
        const truncated = decode(bytes.subarray(0, end), chunkSizes);
        // A cut may leave no capture at all (past the warcinfo, which describes the file): then
        // the job fails as giving no row; otherwise it never does.
        const capturesLeft = members.some(
          (member) => member.type !== 'warcinfo' && member.offset + member.length <= end,
        );
        expect(!truncated.inputFault || !capturesLeft).toBe(true);
        expectNoInventedRows(truncated.rows, baseline, end);
        expectIntactRows(truncated.rows, baseline, (member) => member.offset + member.length <= end, members);

        const damaged = Buffer.from(bytes);
        const positions = flips.map(([where, mask, inFlags]) => {
          // A flipped gzip header flag can make a member claim the bytes behind it; a random
          // byte lands there too seldom to be tried in every run.
          const position =
            gzip && inFlags
              ? members[Math.floor(where * members.length)]!.offset + 3
              : Math.floor(where * bytes.length);
          damaged[position] = damaged[position]! ^ mask;
          return position;
        });
        const flipped = decode(damaged, chunkSizes);
        const touched = (member: Member) =>
          positions.some((position) => position >= member.offset && position < member.offset + member.length);
        if (gzip) {
          // Failing is allowed when the flips leave no capture record untouched (the warcinfo
          // describes the file) or hit the first member, which tells the format.
          const capturesUntouched = members.some((member) => member.type !== 'warcinfo' && !touched(member));
          expect(!flipped.inputFault || !capturesUntouched || touched(members[0]!)).toBe(true);
          expectNoInventedRows(flipped.rows, baseline);
          expectIntactRows(flipped.rows, baseline, (member) => !touched(member), members);
        } else {
          const firstFlip = Math.min(...positions);
          const capturesBefore = members.some(
            (member) => member.type !== 'warcinfo' && member.offset + member.length <= firstFlip,
          );
          expect(!flipped.inputFault || firstFlip < members[0]!.offset + members[0]!.length || !capturesBefore).toBe(
            true,
          );
          expectIntactRows(flipped.rows, baseline, (member) => member.offset + member.length <= firstFlip, members);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});

const withoutOffsets = (row: CaptureRow) => ({ ...row, warc_record_offset: 0, warc_record_length: 0 });

/** One gzip member for the whole file, streamed under `streamingLimits`. */
function wholeFileProperty(
  plain: { bytes: Buffer },
  chunkSizes: number[],
  cut: number,
  flips: [number, number, boolean][],
): void {
  const bytes = zlib.gzipSync(plain.bytes);
  const plainRows = decode(plain.bytes).rows;
  const expected = plainRows.map(withoutOffsets);
  const whole = decode(bytes, [], streamingLimits);
  expect(whole.counters.badByReason).toEqual({});
  expect(whole.rows.map(withoutOffsets)).toEqual(expected);
  whole.rows.forEach((row, index) => {
    // Inflating from the member's start up to the reported end yields the whole record.
    const inflated = zlib.inflateRawSync(bytes.subarray(10, row.warc_record_offset + row.warc_record_length), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const plainRow = plainRows[index]!;
    expect(row.warc_record_offset).toBe(0);
    expect(inflated.length).toBeGreaterThanOrEqual(plainRow.warc_record_offset + plainRow.warc_record_length);
  });
  expect(decode(bytes, chunkSizes, streamingLimits).rows).toEqual(whole.rows);
  const truncated = decode(bytes.subarray(0, Math.floor(cut * bytes.length)), chunkSizes, streamingLimits);
  for (const row of truncated.rows) expect(expected.map((intact) => withoutMetadata(intact).url)).toContain(row.url);
  const damaged = Buffer.from(bytes);
  for (const [where, mask] of flips) damaged[Math.floor(where * bytes.length)]! ^= mask;
  decode(damaged, chunkSizes, streamingLimits);
}
