// Proves that records other writers emit as the WARC standard allows become rows, not bad
// records: WARC-Date in every W3C form (an offset is converted to the UTC instant), a date
// that cannot be read keeps its row with a null fetch_time and a warning; pywb's and warcit's
// revisits without HTTP headers (as cdxj-indexer: `warc/revisit`, no status); a good record
// followed by garbage; a file whose lines end in CR CR LF; a Content-Length a byte or two off;
// and that Heritrix's `dns:` and `whois:` records are counted as skipped, apart from damage.
// A file whose every capture was bad, with nothing skipped and no capture record of another type
// (a warcinfo describes the file and does not count), fails
// with the reason. Each case is fed whole and in small chunks; row counts are checked against
// warcio's reading where warcio reads the file.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { parseWarcDate } from '../../adapters/warc/warc-date.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import {
  crCrLfFile,
  heritrixDns,
  heritrixWhois,
  httpBlock,
  pywbRevisit,
  response,
  warcinfo,
  warcitRevisit,
  writerRecord,
} from '../fixtures-gen/real-writer-warc.ts';
import { countRowRecords } from '../support/warcio-record-count.ts';

const input: InputRef = { uri: 'writers.warc', filename: 'writers.warc', crawl: null, subset: null, segment: null };

interface Decoded {
  rows: CaptureRow[];
  byType: Record<string, number>;
  badByReason: Record<string, number>;
  skippedByReason: Record<string, number>;
  warningByReason: Record<string, number>;
}

function decode(bytes: Buffer, chunkBytes = bytes.length): Decoded {
  const decoder = new WarcJobDecoder(input);
  const decoded: Decoded = { rows: [], byType: {}, badByReason: {}, skippedByReason: {}, warningByReason: {} };
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    const chunk = new Uint8Array(bytes.subarray(offset, offset + chunkBytes));
    const result = decoder.push(chunk, offset + chunkBytes >= bytes.length);
    decoded.rows.push(...result.rows);
    expectDecoderCodes(result.counters);
    add(decoded.byType, result.counters.byType);
    add(decoded.badByReason, result.counters.badByReason);
    add(decoded.skippedByReason, result.counters.skippedByReason ?? {});
    add(decoded.warningByReason, result.counters.warningByReason ?? {});
  }
  return decoded;
}

function add(into: Record<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + value;
}

/** The same counts and rows whole, in chunks of a few hundred bytes and byte by byte. */
function decodeEveryWay(bytes: Buffer): Decoded {
  const whole = decode(bytes);
  for (const chunkBytes of [300, 17, 1]) expect(decode(bytes, chunkBytes), `chunks of ${chunkBytes}`).toEqual(whole);
  return whole;
}

const gzipEach = (records: Buffer[]) => Buffer.concat(records.map((record) => zlib.gzipSync(record)));

describe('WARC-Date in the W3C forms WARC allows', () => {
  it('reads offsets, minute precision and fractional seconds as the UTC instant', () => {
    const cases: [string, number][] = [
      ['2019-08-15T01:02:03Z', Date.UTC(2019, 7, 15, 1, 2, 3)],
      ['2019-08-15T03:02:03+02:00', Date.UTC(2019, 7, 15, 1, 2, 3)],
      ['2019-08-14T18:02:03-0700', Date.UTC(2019, 7, 15, 1, 2, 3)],
      ['2019-08-15T01:02Z', Date.UTC(2019, 7, 15, 1, 2)],
      ['2019-08-15T06:32+05:30', Date.UTC(2019, 7, 15, 1, 2)],
      ['2019-08-15T01:02:03.5Z', Date.UTC(2019, 7, 15, 1, 2, 3, 500)],
      ['2019-08-15T01:02:03.123456789012Z', Date.UTC(2019, 7, 15, 1, 2, 3, 123)],
      ['2019-08-15T00:02:03.25-01:00', Date.UTC(2019, 7, 15, 1, 2, 3, 250)],
      ['2019-08-15', Date.UTC(2019, 7, 15)],
      ['2019-08', Date.UTC(2019, 7, 1)],
      ['2019', Date.UTC(2019, 0, 1)],
      // Across a day, a month and a year by its offset.
      ['2019-12-31T23:30:00-01:00', Date.UTC(2020, 0, 1, 0, 30)],
      ['20190815010203', Date.UTC(2019, 7, 15, 1, 2, 3)],
    ];
    for (const [text, time] of cases) expect(parseWarcDate(text), text).toBe(time);
    const unreadable = [
      '2019-08-15T01:02:03+25:00',
      '2019-08-15T01:02:03+02:60',
      '2019-02-30T00:00Z',
      '2019-08-15T24:00Z',
      '15/08/2019',
      '2019-08-15T01Z',
      '',
    ];
    for (const bad of unreadable) expect(parseWarcDate(bad), bad).toBeNull();
  });

  it('exports records with those dates; one whose date cannot be read keeps its row, fetch_time null, warned', () => {
    const bytes = Buffer.concat([
      response('http://example.com/offset', { date: '2019-08-15T03:02:03+02:00' }),
      response('http://example.com/minute', { date: '2019-08-15T01:02Z' }),
      response('http://example.com/unreadable', { date: 'Thu, 15 Aug 2019 01:02:03 GMT' }),
      response('http://example.com/fraction', { date: '2019-08-15T01:02:03.75Z' }),
      // A date, but no web capture's: Parquet's TIMESTAMP_MILLIS as written holds nothing before 1970.
      response('http://example.com/before-1970', { date: '1969-12-31T23:59:59Z' }),
    ]);
    const decoded = decodeEveryWay(bytes);
    expect(decoded.rows.map((row) => [row.url, row.fetch_time])).toEqual([
      ['http://example.com/offset', Date.UTC(2019, 7, 15, 1, 2, 3)],
      ['http://example.com/minute', Date.UTC(2019, 7, 15, 1, 2)],
      ['http://example.com/unreadable', null],
      ['http://example.com/fraction', Date.UTC(2019, 7, 15, 1, 2, 3, 750)],
      ['http://example.com/before-1970', null],
    ]);
    expect(decoded.badByReason).toEqual({});
    expect(decoded.warningByReason).toEqual({ unreadable_warc_date: 2 });
  });
});

describe('revisits without HTTP headers', () => {
  it("exports pywb's and warcit's revisits as cdxj-indexer does: warc/revisit, no status", async () => {
    const bytes = Buffer.concat([
      warcinfo(),
      response('http://example.com/a'),
      pywbRevisit('http://example.com/a', '2019-08-16T00:00:00Z'),
      warcitRevisit('http://example.com/b.png'),
      response('http://example.com/c'),
    ]);
    const gzipped = gzipEach([
      warcinfo(),
      response('http://example.com/a'),
      pywbRevisit('http://example.com/a'),
      warcitRevisit('http://example.com/b.png'),
    ]);
    for (const file of [bytes, gzipped]) {
      const decoded = decodeEveryWay(file);
      expect(decoded.badByReason).toEqual({});
      expect(decoded.rows).toHaveLength(await countRowRecords(file));
    }
    const rows = decodeEveryWay(bytes).rows;
    expect(rows.map((row) => [row.url, row.fetch_status, row.content_mime_type, row.content_digest])).toEqual([
      ['http://example.com/a', 200, 'text/html', 'RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU'],
      ['http://example.com/a', null, 'warc/revisit', 'RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU'],
      ['http://example.com/b.png', null, 'warc/revisit', 'sha256:0a2b'],
      ['http://example.com/c', 200, 'text/html', 'RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU'],
    ]);
    expect(rows[1]!.fetch_time).toBe(Date.UTC(2019, 7, 16));
  });

  it('keeps the columns of a revisit that carries its HTTP headers', () => {
    const block = 'HTTP/1.1 301 Moved\r\nLocation: /s\r\nContent-Type: text/html\r\n\r\n';
    const revisit = writerRecord({ type: 'revisit', url: 'http://example.com/r', id: '<urn:uuid:r>', block });
    const [row] = decodeEveryWay(revisit).rows;
    const columns = [row!.fetch_status, row!.content_mime_type, row!.fetch_redirect];
    expect(columns).toEqual([301, 'text/html', 'http://example.com/s']);
  });
});

describe('records around damage and odd line ends', () => {
  it('keeps a good record followed by garbage, and counts the garbage', () => {
    const garbage = Buffer.from('\u0000\u0001 garbage written after the last record, not a WARC header\nmore of it\n');
    const [first, second] = [response('http://example.com/1'), response('http://example.com/2')];
    const atEnd = decodeEveryWay(Buffer.concat([first, second, garbage]));
    expect(atEnd.rows.map((row) => row.url)).toEqual(['http://example.com/1', 'http://example.com/2']);
    expect(atEnd.badByReason).toEqual({ non_warc_data: 1 });
    const between = decodeEveryWay(Buffer.concat([first, garbage, second]));
    expect(between.rows.map((row) => row.url)).toEqual(['http://example.com/1', 'http://example.com/2']);
    expect(between.badByReason).toEqual({ non_warc_data: 1 });
  });

  it('reads a file whose lines end in CR CR LF', () => {
    const bytes = crCrLfFile(['http://example.com/1', 'http://example.com/2', 'http://example.com/3']);
    const decoded = decodeEveryWay(bytes);
    expect(decoded.rows.map((row) => [row.url, row.fetch_status, row.content_mime_type, row.fetch_time])).toEqual(
      ['1', '2', '3'].map((path) => [`http://example.com/${path}`, 200, 'text/html', Date.UTC(2019, 7, 15, 1, 2, 3)]),
    );
    expect(decoded.byType).toEqual({ warcinfo: 1, response: 3 });
    expect(decoded.badByReason).toEqual({});
  });

  it('reads a response whose Content-Length is a byte or two off when the next record follows, as warcio', async () => {
    for (const lengthError of [-2, -1, 1, 2]) {
      const off = response('http://example.com/off', { lengthError });
      const records = [warcinfo(), off, response('http://example.com/next')];
      for (const file of [Buffer.concat(records), gzipEach(records)]) {
        const decoded = decodeEveryWay(file);
        const urls = decoded.rows.map((row) => row.url);
        expect(urls, `off by ${lengthError}`).toEqual(['http://example.com/off', 'http://example.com/next']);
        expect(decoded.rows).toHaveLength(await countRowRecords(file));
        expect(decoded.badByReason, `off by ${lengthError}`).toEqual({});
      }
    }
    // The record's range runs to the next record, its stray bytes included.
    const short = response('http://example.com/off', { lengthError: -2 });
    const decoded = decode(Buffer.concat([short, response('http://example.com/next')]));
    const [row] = decoded.rows;
    expect([row!.warc_record_offset, row!.warc_record_length]).toEqual([0, short.length]);
    expect(decoded.warningByReason).toEqual({ content_length_short_of_block: 1 });
  });

  it('still counts a Content-Length far short of its block as wrong', () => {
    const body = 'x'.repeat(400);
    const far = response('http://example.com/far', { block: httpBlock(body), lengthError: -200 });
    const bytes = Buffer.concat([far, response('http://example.com/next')]);
    const decoded = decodeEveryWay(bytes);
    expect(decoded.rows.map((row) => row.url)).toEqual(['http://example.com/next']);
    expect(decoded.badByReason).toEqual({ wrong_content_length: 1 });
  });
});

describe('records that are not HTTP captures', () => {
  it("counts Heritrix's dns: and whois: records as skipped, apart from bad ones; resource records stay rows", () => {
    const resource = writerRecord({
      type: 'resource',
      url: 'http://example.com/file.txt',
      id: '<urn:uuid:res>',
      headers: ['Content-Type: text/plain'],
      block: 'text',
    });
    const records = [
      warcinfo(),
      heritrixDns('example.com'),
      response('http://example.com/'),
      heritrixWhois('example.com'),
      resource,
    ];
    for (const file of [Buffer.concat(records), gzipEach(records)]) {
      const decoded = decodeEveryWay(file);
      expect(decoded.rows.map((row) => [row.url, row.fetch_status])).toEqual([
        ['http://example.com/', 200],
        ['http://example.com/file.txt', 200],
      ]);
      expect(decoded.badByReason).toEqual({});
      expect(decoded.skippedByReason).toEqual({ not_http_capture: 2 });
      expect(decoded.byType).toEqual({ warcinfo: 1, response: 3, resource: 1 });
    }
  });

  it('gives a file of dns: records alone no row and no failure', () => {
    const decoded = decode(Buffer.concat([heritrixDns('a.example'), heritrixDns('b.example')]));
    expect(decoded.rows).toEqual([]);
    expect(decoded.skippedByReason).toEqual({ not_http_capture: 2 });
  });
});

describe('a file that gives no row', () => {
  function failureOf(bytes: Buffer, chunkBytes: number): FailureError | null {
    try {
      decode(bytes, chunkBytes);
    } catch (error) {
      if (error instanceof FailureError) return error;
      throw error;
    }
    return null;
  }

  it('fails when every record was bad, naming the damage', () => {
    const bad = Buffer.concat([
      response('http://example.com/1', { block: 'not an HTTP block at all\r\n' }),
      writerRecord({ type: 'response', url: '', id: '<urn:uuid:x>', block: httpBlock() }),
    ]);
    for (const chunkBytes of [bad.length, 17]) {
      const failure = failureOf(bad, chunkBytes)?.failure;
      expect(failure).toMatchObject({ fault: 'input', retryable: false });
      expect(failure?.reason).toBe(
        'writers.warc: no row, every record was bad (missing_warc_target_uri 1, no_http_status_line 1)',
      );
    }
  });

  it('fails a file of a warcinfo and bad captures: the warcinfo describes the file, not a capture', () => {
    const bad = response('http://example.com/1', { block: 'not an HTTP block at all\r\n' });
    for (const chunkBytes of [64, 17]) {
      const failure = failureOf(Buffer.concat([warcinfo(), bad]), chunkBytes)?.failure;
      expect(failure?.reason).toBe('writers.warc: no row, every record was bad (no_http_status_line 1)');
    }
  });

  it('does not fail when records of other capture types were read, or some were skipped', () => {
    const bad = response('http://example.com/1', { block: 'not an HTTP block at all\r\n' });
    const request = writerRecord({
      type: 'request',
      url: 'http://example.com/1',
      id: '<urn:uuid:request-1>',
      block: 'GET /1 HTTP/1.1\r\nHost: example.com\r\n\r\n',
    });
    expect(failureOf(Buffer.concat([warcinfo(), request, bad]), 64)).toBeNull();
    expect(failureOf(Buffer.concat([heritrixDns('example.com'), bad]), 64)).toBeNull();
  });
});
