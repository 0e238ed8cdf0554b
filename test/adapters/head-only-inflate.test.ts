// Proves that reading `.warc.gz` head-only (each member's head inflated, its end found by the
// trailer's ISIZE and the next member's `WARC/` head) gives the very rows, counts and record
// offsets of the full path (every member inflated, every CRC checked): on every shared fixture;
// on generated adversarial files (payloads holding gzip headers with plausible trailers, an
// embedded `.warc.gz` stored verbatim, members with FEXTRA, FNAME and FCOMMENT, empty members,
// one-stream gzip files, records closed by CR LF CR LF, CR LF or nothing); and under fast-check
// on random files cut into random chunks, so members straddle chunk boundaries anywhere. It also
// shows the head-only path is taken at all: on real CommonCrawl records most block bytes are
// counted, not inflated.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { HeadOnlyMemberReader } from '../../adapters/warc/head-only-member-reader.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { ParsedRecord, Segment } from '../../adapters/warc/warc-record-parser.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

const fixtureRoot = sharedFixtureRoot;

function inputFor(name: string): InputRef {
  return { uri: name, filename: name, crawl: null, subset: null, segment: null };
}

interface Decoded {
  rows: CaptureRow[];
  counts: Record<string, Record<string, number>>;
  records: Pick<ParsedRecord, 'type' | 'httpStatusLine' | 'offset' | 'length'>[];
  failure: string | null;
}

function add(total: Record<string, number>, part: Readonly<Partial<Record<string, number>>> | undefined): void {
  for (const [key, value] of Object.entries(part ?? {})) total[key] = (total[key] ?? 0) + (value ?? 0);
}

/** Decodes `bytes` cut at `cuts` (sorted offsets), with or without the full path. */
function decode(name: string, bytes: Buffer, fullInflate: boolean, cuts: readonly number[] = []): Decoded {
  const records: Decoded['records'] = [];
  const decoder = new WarcJobDecoder(inputFor(name), {
    fullInflate,
    observer: (record) =>
      records.push({
        type: record.type,
        httpStatusLine: record.httpStatusLine,
        offset: record.offset,
        length: record.length,
      }),
  });
  const decoded: Decoded = {
    rows: [],
    counts: { byType: {}, bad: {}, skipped: {}, warning: {} },
    records,
    failure: null,
  };
  const bounds = [0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length), bytes.length];
  try {
    for (let index = 0; index + 1 < bounds.length; index++) {
      const chunk = bytes.subarray(bounds[index], bounds[index + 1]);
      const result = decoder.push(chunk, index + 2 === bounds.length);
      decoded.rows.push(...result.rows);
      add(decoded.counts.byType!, result.counters.byType);
      add(decoded.counts.bad!, result.counters.badByReason);
      add(decoded.counts.skipped!, result.counters.skippedByReason);
      add(decoded.counts.warning!, result.counters.warningByReason);
    }
  } catch (error) {
    if (!(error instanceof FailureError)) throw error;
    decoded.failure = error.message;
  }
  return decoded;
}

function expectSameAsFull(name: string, bytes: Buffer, cuts: readonly number[] = []): Decoded {
  const full = decode(name, bytes, true);
  const headOnly = decode(name, bytes, false, cuts);
  expect(JSON.stringify(headOnly.rows)).toBe(JSON.stringify(full.rows));
  expect(headOnly.counts).toEqual(full.counts);
  expect(headOnly.records).toEqual(full.records);
  expect(headOnly.failure).toBe(full.failure);
  return full;
}

function fixtureFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return fixtureFiles(path);
    return /\.(warc|arc)(\.gz)?$/.test(entry) ? [path] : [];
  });
}

function warcRecord(type: string, block: Buffer, closing = '\r\n\r\n', extra = ''): Buffer {
  const header =
    `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Date: 2024-05-18T01:02:03Z\r\nWARC-Record-ID: <urn:uuid:${type}-${block.length}>\r\n` +
    `WARC-Target-URI: https://example.com/${type}/${block.length}\r\nContent-Length: ${block.length}\r\n${extra}\r\n`;
  return Buffer.concat([Buffer.from(header), block, Buffer.from(closing)]);
}

function httpResponse(body: Buffer<ArrayBufferLike>, status = '200 OK'): Buffer {
  const head = `HTTP/1.1 ${status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

interface MemberOptions {
  level?: number;
  extra?: Buffer;
  name?: string;
  comment?: string;
}

/** One gzip member written by hand, so its header can carry FEXTRA, FNAME and FCOMMENT. */
function gzipMember(data: Buffer, options: MemberOptions = {}): Buffer {
  const flags =
    (options.extra ? 0x04 : 0) | (options.name !== undefined ? 0x08 : 0) | (options.comment !== undefined ? 0x10 : 0);
  const parts: Buffer<ArrayBufferLike>[] = [Buffer.from([0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 0xff])];
  if (options.extra) {
    const length = Buffer.alloc(2);
    length.writeUInt16LE(options.extra.length);
    parts.push(length, options.extra);
  }
  if (options.name !== undefined) parts.push(Buffer.from(`${options.name}\0`, 'latin1'));
  if (options.comment !== undefined) parts.push(Buffer.from(`${options.comment}\0`, 'latin1'));
  parts.push(zlib.deflateRawSync(data, { level: options.level ?? 6 }));
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data), 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

function html(seed: number, bytes: number): Buffer<ArrayBufferLike> {
  let text = '';
  for (let index = 0; text.length < bytes; index++)
    text += `<p class="c${(seed + index) % 17}">item ${(index * 7919 + seed) % 1000}</p>\n`;
  return Buffer.from(text.slice(0, bytes));
}

function capture(seed: number, body: Buffer, member: MemberOptions = {}, closing = '\r\n\r\n'): Buffer[] {
  const response = warcRecord('response', httpResponse(body), closing, 'WARC-Identified-Payload-Type: text/html\r\n');
  const metadata = warcRecord(
    'metadata',
    Buffer.from(`languages-cld2: {"languages":[]}\r\ncharset-detected: UTF-8\r\n`),
  );
  return [
    gzipMember(warcRecord('request', Buffer.from(`GET /${seed} HTTP/1.1\r\nHost: example.com\r\n\r\n`)), member),
    gzipMember(response, member),
    gzipMember(metadata, member),
  ];
}

function randomCuts(length: number, seed: number, count: number): number[] {
  const cuts: number[] = [];
  let state = seed;
  for (let index = 0; index < count; index++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    cuts.push(state % length);
  }
  return cuts.sort((a, b) => a - b);
}

describe('head-only inflate gives the rows of the full path', () => {
  for (const path of fixtureFiles(fixtureRoot)) {
    const name = path.slice(fixtureRoot.length);
    it(`${name}: the same rows, counts and offsets, whole and in random chunks`, () => {
      const bytes = readFileSync(path);
      expectSameAsFull(name, bytes);
      for (let seed = 1; seed <= 5; seed++) expectSameAsFull(name, bytes, randomCuts(bytes.length, seed, 8));
    });
  }

  it('counts most of a real CommonCrawl response block without inflating it', () => {
    const bytes = readFileSync(join(fixtureRoot, 'resiliparse/cc-2020-34-excerpt.warc.gz'));
    let inflated = 0;
    let skipped = 0;
    const reader = new HeadOnlyMemberReader({
      segment: (segment: Segment) => (inflated += segment.end - segment.start),
      damaged: () => undefined,
      skipUninflated: (byteCount) => {
        skipped += byteCount;
        return true;
      },
    });
    expect(reader.read(bytes, 0, true)).toBe(bytes.length);
    expect(skipped).toBeGreaterThan(inflated);
  });

  it('ignores gzip headers with plausible trailers inside payloads, and an embedded .warc.gz stored verbatim', () => {
    const embedded = Buffer.concat(capture(7, html(7, 30_000)));
    // A member that inflates to `WARC/`, right after 4 bytes that are a plausible ISIZE (a small
    // record's length): only the ISIZE check tells it from the member's real end.
    const lure = Buffer.alloc(4);
    lure.writeUInt32LE(200);
    const payload = Buffer.concat([html(1, 5_000), lure, embedded]);
    const file = Buffer.concat([
      ...capture(1, payload, { level: 0 }),
      ...capture(2, embedded),
      ...capture(3, payload, { level: 6 }),
    ]);
    const full = expectSameAsFull('lures.warc.gz', file, randomCuts(file.length, 3, 6));
    expect(full.rows.length).toBe(3);
  });

  it('reads members with FEXTRA, FNAME and FCOMMENT, empty members, and every record closing', () => {
    const members = [
      ...capture(1, html(1, 20_000), { extra: Buffer.from('sl\x04\x00abcd', 'latin1'), name: 'a.warc', comment: 'hi' }),
      gzipMember(Buffer.alloc(0)),
      ...capture(2, html(2, 40_000), {}, '\r\n'),
      gzipMember(Buffer.alloc(0), { name: 'empty' }),
      ...capture(3, html(3, 10_000), {}, ''),
      ...capture(4, html(4, 60_000), { level: 1 }),
    ];
    const file = Buffer.concat(members);
    const full = expectSameAsFull('headers.warc.gz', file);
    expect(full.rows.length).toBe(4);
    for (let seed = 1; seed <= 10; seed++) expectSameAsFull('headers.warc.gz', file, randomCuts(file.length, seed, 12));
  });

  it('reads a one-stream gzip file and a file whose members do not follow records as the full path does', () => {
    const records = [1, 2, 3].flatMap((seed) => [
      warcRecord('request', Buffer.from(`GET /${seed} HTTP/1.1\r\n\r\n`)),
      warcRecord('response', httpResponse(html(seed, 30_000))),
    ]);
    const whole = Buffer.concat(records);
    expectSameAsFull('one-stream.warc.gz', zlib.gzipSync(whole), [100, 5000]);
    const split = Buffer.concat(
      [0, 20_000, 50_000, whole.length]
        .slice(1)
        .map((end, index, ends) => gzipMember(whole.subarray(index === 0 ? 0 : ends[index - 1], end))),
    );
    expectSameAsFull('split.warc.gz', split, [7000]);
  });

  it("gives the full path's rows on random files in random chunks (fast-check)", () => {
    const recordArbitrary = fc.record({
      kind: fc.constantFrom('response', 'revisit', 'request', 'metadata', 'warcinfo', 'resource'),
      bodyBytes: fc.integer({ min: 0, max: 20_000 }),
      seed: fc.nat(1000),
      lure: fc.boolean(),
      closing: fc.constantFrom('\r\n\r\n', '\r\n', ''),
      level: fc.constantFrom(0, 1, 6, 9),
      extra: fc.boolean(),
      emptyBefore: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(recordArbitrary, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (specs, cutDraws) => {
          const members = specs.flatMap((spec) => {
            let body = html(spec.seed, spec.bodyBytes);
            if (spec.lure) {
              const size = Buffer.alloc(4);
              size.writeUInt32LE(spec.bodyBytes + 180);
              body = Buffer.concat([body, size, gzipMember(Buffer.from('WARC/1.0\r\n\r\n'))]);
            }
            const block = spec.kind === 'response' || spec.kind === 'revisit' ? httpResponse(body) : body;
            const member = gzipMember(warcRecord(spec.kind, block, spec.closing), {
              level: spec.level,
              ...(spec.extra ? { extra: Buffer.from('xy\x02\x00zz', 'latin1'), name: 'n' } : {}),
            });
            return spec.emptyBefore ? [gzipMember(Buffer.alloc(0)), member] : [member];
          });
          const file = Buffer.concat(members);
          const cuts = cutDraws.map((draw) => draw % file.length).sort((a, b) => a - b);
          expectSameAsFull('fuzz.warc.gz', file, cuts);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
    );
  });
});
