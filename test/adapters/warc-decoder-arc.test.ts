// Proves that the decoder reads ARC files (CommonCrawl's crawls before 2013) into the same
// columns as WARC: plain and one gzip member a record, version 1 and 2 header lines, whole or
// cut into small chunks; that each row's URL, date, status, mime, redirect, payload digest and
// range are what the file says (worked out by the generator, not the decoder); that the same
// captures written as WARC by warcio (npm warcio does not read ARC) give the same rows; and that
// damage is counted by reason while the records around it still come out.
import zlib from 'node:zlib';
import { WARCRecord, WARCSerializer } from 'warcio';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';
import { base32, parseArcHeaderLine } from '../../adapters/warc/arc-record-parser.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import type { ParsedRecord } from '../../adapters/warc/warc-record-parser.ts';
import {
  type ArcCapture,
  httpResponse,
  payloadDigest,
  sampleCaptures,
  writeArc,
} from '../fixtures-gen/heritrix-like-arc.ts';

const input: InputRef = {
  uri: 'arc',
  filename: 'IAH-20080430204825-00000.arc.gz',
  crawl: null,
  subset: null,
  segment: null,
};

interface Decoded {
  rows: CaptureRow[];
  byType: Record<string, number>;
  badByReason: Record<string, number>;
  records: ParsedRecord[];
}

function add(into: Record<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + value;
}

/** Decodes in chunks drawn up to `largest` bytes from `seed` (whole when null). */
function decode(bytes: Buffer, largest: number | null = null, seed = 1): Decoded {
  const records: ParsedRecord[] = [];
  const decoder = new WarcJobDecoder(input, { observer: (record) => records.push(record) });
  const decoded: Decoded = { rows: [], byType: {}, badByReason: {}, records };
  const random = seededRandom(seed);
  let offset = 0;
  do {
    const size = largest === null ? bytes.length : 1 + Math.floor(nextUnit(random) * largest);
    const end = Math.min(bytes.length, offset + size);
    const result = decoder.push(new Uint8Array(bytes.subarray(offset, end)), end === bytes.length);
    decoded.rows.push(...result.rows);
    expectDecoderCodes(result.counters);
    add(decoded.byType, result.counters.byType);
    add(decoded.badByReason, result.counters.badByReason);
    offset = end;
  } while (offset < bytes.length);
  return decoded;
}

/** What the generator says each HTTP capture's row holds. */
function expectedRows(captures: readonly ArcCapture[], places: readonly { offset: number; length: number }[]) {
  return captures.flatMap((capture, index) => {
    if (!capture.url.startsWith('http')) return [];
    const head = capture.block.toString(
      'latin1',
      0,
      capture.block.indexOf('\n\n') === -1 ? capture.block.indexOf('\r\n\r\n') : capture.block.indexOf('\n\n'),
    );
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)![1]);
    const mime = /Content-Type: ([^;\r\n]+)/.exec(head)![1]!.toLowerCase();
    const d = capture.date;
    return [
      {
        fetch_time: Date.UTC(
          Number(d.slice(0, 4)),
          Number(d.slice(4, 6)) - 1,
          Number(d.slice(6, 8)),
          Number(d.slice(8, 10)),
          Number(d.slice(10, 12)),
          Number(d.slice(12, 14)),
        ),
        fetch_status: status,
        content_mime_type: mime,
        content_digest: payloadDigest(capture.block),
        warc_record_offset: places[index + 1]!.offset,
        warc_record_length: places[index + 1]!.length,
      },
    ];
  });
}

const pick = (row: CaptureRow) => ({
  fetch_time: row.fetch_time,
  fetch_status: row.fetch_status,
  content_mime_type: row.content_mime_type,
  content_digest: row.content_digest,
  warc_record_offset: row.warc_record_offset,
  warc_record_length: row.warc_record_length,
});

const httpUrls = [
  'http://www.example.com/robots.txt',
  'http://www.example.com/',
  'http://www.example.com/old',
  'http://www.example.com/missing.html',
  'http://www.example.org/index.cfm?a=Martinez+Targets+Castor&b=1',
  'http://www.example.org/a%20page.html',
];

describe('ARC files', () => {
  for (const [label, options] of [
    ['.arc.gz, one gzip member a record', { gzip: true }],
    ['.arc.gz with FEXTRA gzip headers', { gzip: true, extraField: true }],
    ['plain .arc', { gzip: false }],
    ['.arc.gz with version 2 header lines', { gzip: true, version: 2 }],
    ['plain .arc with version 2 header lines', { gzip: false, version: 2 }],
  ] as const) {
    it(`${label}: a row per HTTP capture with the columns its records say, whole and in small chunks`, () => {
      const captures = sampleCaptures().filter((capture) => capture.url.startsWith('http'));
      const { bytes, places } = writeArc(captures, { name: 'IAH-20080430204825-00000-example.arc', ...options });
      const whole = decode(bytes);
      expect(whole.badByReason).toEqual({});
      expect(whole.byType).toEqual({ warcinfo: 1, response: captures.length });
      expect(whole.rows.map((row) => row.url)).toEqual(httpUrls);
      expect(whole.rows.map(pick)).toEqual(expectedRows(captures, places));
      expect(whole.rows.find((row) => row.url.endsWith('/old'))?.fetch_redirect).toBe('http://www.example.com/new/');
      expect(whole.rows[1]).toMatchObject({
        url_host_name: 'www.example.com',
        url_host_registered_domain: 'example.com',
        warc_filename: input.filename,
      });
      // Every record's range, the version block's included.
      expect(whole.records.map((record) => ({ offset: record.offset, length: record.length }))).toEqual(
        places.map(({ offset, length }) => ({ offset, length })),
      );
      for (const [largest, seed] of [
        [7, 1],
        [300, 2],
        [5000, 3],
      ] as const) {
        const chunked = decode(bytes, largest, seed);
        expect(chunked.rows, `chunks up to ${largest}`).toEqual(whole.rows);
        expect(chunked.byType).toEqual(whole.byType);
        expect(chunked.badByReason).toEqual(whole.badByReason);
      }
    });
  }

  it('reads a dns: lookup as a response whose block is its document (text/dns), with no HTTP status, and makes no row of it', () => {
    for (const gzip of [true, false]) {
      const captures = sampleCaptures();
      const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip });
      const decoded = decode(bytes, 9);
      const dns = decoded.records.find((record) => record.warc.get('warc-target-uri') === 'dns:www.example.com')!;
      expect(dns).toMatchObject({
        type: 'response',
        httpStatusLine: null,
        offset: places[1]!.offset,
        length: places[1]!.length,
      });
      expect(dns.warc.get('content-type')).toBe('text/dns');
      expect(dns.warc.get('warc-ip-address')).toBe('192.0.2.53');
      expect(decoded.rows.map((row) => row.url)).toEqual(httpUrls);
      expect(decoded.byType).toEqual({ warcinfo: 1, response: captures.length });
    }
  });

  it('reads the version block as a warcinfo record naming the file', () => {
    const { records } = decode(
      writeArc(sampleCaptures(), { name: 'IAH-20080430204825-00000-example.arc', gzip: true }).bytes,
    );
    expect(records[0]!.type).toBe('warcinfo');
    expect(records[0]!.warc.get('warc-filename')).toBe('IAH-20080430204825-00000-example.arc');
    expect(records[0]!.warc.get('warc-date')).toBe('2008-04-30T20:48:25Z');
  });

  it('reads an ARC gzipped whole, as one member, like a whole-file gzip WARC', () => {
    const captures = sampleCaptures().filter((capture) => capture.url.startsWith('http'));
    const plain = writeArc(captures, { name: 'x.arc', gzip: false }).bytes;
    for (const largest of [null, 9, 700]) {
      const decoded = decode(zlib.gzipSync(plain), largest);
      expect(decoded.badByReason).toEqual({});
      expect(decoded.rows.map((row) => row.url)).toEqual(httpUrls);
      expect(decoded.rows.map((row) => row.content_digest)).toEqual(
        captures.map((capture) => payloadDigest(capture.block)),
      );
    }
  });

  it('gives each gzip member its range: inflating it yields exactly its record', () => {
    const { bytes } = writeArc(sampleCaptures(), { name: 'x.arc', gzip: true });
    const { records } = decode(bytes);
    for (const record of records) {
      const text = zlib.gunzipSync(bytes.subarray(record.offset, record.offset + record.length)).toString('latin1');
      expect(
        text.startsWith(
          record.type === 'warcinfo' ? 'filedesc://' : record.warc.get('warc-target-uri')!.split(/%20|\+/)[0]!,
        ),
      ).toBe(true);
      expect(text.endsWith('\n')).toBe(true);
    }
  });

  it('gives the rows warcio-written WARC records of the same captures give (payload digests by warcio)', async () => {
    const captures = sampleCaptures().filter((capture) => capture.url.startsWith('http') && !capture.url.includes(' '));
    const warcParts: Uint8Array[] = [];
    for (const capture of captures) {
      const head = capture.block.toString('latin1', 0, capture.block.indexOf('\r\n\r\n'));
      const [statusLine, ...headerLines] = head.split('\r\n');
      const body = capture.block.subarray(capture.block.indexOf('\r\n\r\n') + 4);
      const d = capture.date;
      const record = WARCRecord.create(
        {
          url: capture.url,
          type: 'response',
          date: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(8, 10)}:${d.slice(10, 12)}:${d.slice(12, 14)}Z`,
          statusline: statusLine!,
          httpHeaders: Object.fromEntries(
            headerLines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
          ),
        },
        (async function* () {
          yield body;
        })(),
      );
      warcParts.push(
        await WARCSerializer.serialize(record, {
          gzip: true,
          digest: { algo: 'sha-1', prefix: 'sha1:', base32: true },
        }),
      );
    }
    const fromWarc = decode(Buffer.concat(warcParts));
    const fromArc = decode(writeArc(captures, { name: 'x.arc', gzip: true }).bytes);
    const columns = (row: CaptureRow) => {
      const { warc_record_offset: _offset, warc_record_length: _length, ...rest } = row;
      return rest;
    };
    expect(fromWarc.rows).toHaveLength(captures.length);
    expect(fromArc.rows.map(columns)).toEqual(fromWarc.rows.map(columns));
  });

  it('reads header lines as warcio and CommonCrawl do: fields from the right, URL words joined', () => {
    expect(parseArcHeaderLine('http://a.example/x y z 192.0.2.1 20040925001013 text/html 149', 5)?.url).toBe(
      'http://a.example/x%20y%20z',
    );
    expect(parseArcHeaderLine('http://a.example/q?x=a b 192.0.2.1 20040925001013 text/html 149', 5)?.url).toBe(
      'http://a.example/q?x=a+b',
    );
    expect(parseArcHeaderLine('http://a.example/ 192.0.2.1 20040925001013 text/html 200 - - 0 f.arc 149', 10)).toEqual({
      url: 'http://a.example/',
      ipAddress: '192.0.2.1',
      date: '20040925001013',
      contentType: 'text/html',
      length: 149,
    });
    expect(parseArcHeaderLine('http://a.example/ 192.0.2.1 20040925001013 text/html', 5)).toBeNull();
    expect(parseArcHeaderLine('http://a.example/ 192.0.2.1 2004-09-25 text/html 149', 5)).toBeNull();
    expect(parseArcHeaderLine('http://a.example/ 192.0.2.1 20040925001013 text/html -1', 5)).toBeNull();
    // Fewer fields than a header line has: no line reads as one, however few words it holds.
    for (const fieldCount of [1, 2, 3, 4])
      expect(parseArcHeaderLine('http://a.example/ 192.0.2.1 20040925001013 text/html 149', fieldCount)).toBeNull();
  });

  it('reads an ARC without its version block, plain or gzip, told by its first header line', () => {
    const captures = sampleCaptures().filter((capture) => capture.url.startsWith('http'));
    for (const gzip of [true, false]) {
      const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip, withoutVersionBlock: true });
      for (const largest of [null, 6, 333]) {
        const decoded = decode(bytes, largest);
        expect(decoded.badByReason).toEqual({});
        expect(decoded.byType).toEqual({ response: captures.length });
        expect(decoded.rows.map((row) => row.url)).toEqual(httpUrls);
        expect(decoded.rows.map((row) => row.warc_record_offset)).toEqual(places.map((place) => place.offset));
      }
    }
  });

  it("counts header lines with a length that is no number as bad, as pywb's bad.arc has them", () => {
    const version = '1 0 Bad Capture\nURL IP-address Archive-date Content-type Archive-length\n';
    const good = httpResponse('200 OK', ['Content-Type: text/html'], 'ok');
    const bytes = Buffer.from(
      [
        `filedesc://bad.arc 127.0.0.1 20140301000000 text/plain ${version.length}\n${version}\n`,
        'http://example.com/ 93.184.216.119 201404010000000000 text/html -1\n\n',
        'http://example.com/ 93.184.216.119 201404010000000000 text/html abc\n\n',
        `http://example.com/good 93.184.216.119 201404010000000000 text/html ${good.length}\n${good.toString('latin1')}\n`,
      ].join(''),
      'latin1',
    );
    const decoded = decode(bytes, 5);
    expect(decoded.badByReason).toEqual({ invalid_arc_header_line: 1 });
    expect(decoded.rows.map((row) => [row.url, row.fetch_time])).toEqual([
      ['http://example.com/good', Date.UTC(2014, 3, 1)],
    ]);
  });

  it('reads 14-digit dates, and longer ones to the second (as pywb) and minute-precision ones', () => {
    const block = httpResponse('200 OK', ['Content-Type: text/html'], 'x');
    const captures = [
      { url: 'http://a.example/1', date: '20040925001013', contentType: 'text/html', block },
      { url: 'http://a.example/2', date: '20040925001013123', contentType: 'text/html', block },
      { url: 'http://a.example/3', date: '200409250010', contentType: 'text/html', block },
    ];
    const { rows } = decode(writeArc(captures, { name: 'x.arc', gzip: false }).bytes);
    expect(rows.map((row) => row.fetch_time)).toEqual([
      Date.UTC(2004, 8, 25, 0, 10, 13),
      Date.UTC(2004, 8, 25, 0, 10, 13),
      Date.UTC(2004, 8, 25, 0, 10, 0),
    ]);
  });

  it('writes base32 as RFC 4648 does', () => {
    for (const [text, encoded] of [
      ['', ''],
      ['f', 'MY======'],
      ['fo', 'MZXQ===='],
      ['foo', 'MZXW6==='],
      ['foob', 'MZXW6YQ='],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI======'],
    ]) {
      expect(base32(Buffer.from(text!))).toBe(encoded);
    }
  });
});

describe('damaged ARC files', () => {
  const pages = (count: number): ArcCapture[] =>
    Array.from({ length: count }, (_, index) => ({
      url: `http://www.example.com/p${index}`,
      date: `2008043020${String(4800 + index).padStart(4, '0')}`,
      contentType: 'text/html',
      block: httpResponse('200 OK', ['Content-Type: text/html'], `<p>page ${index}</p>\n`.repeat(20)),
    }));

  it('plain: a wrong Archive-length loses that record, and the next one when it ate its header line, counted', () => {
    // Too short: the block's rest is no header line; too long: the next header line is cut.
    for (const [lengthError, survivors] of [
      [-7, ['p0', 'p1', 'p3', 'p4']],
      [9, ['p0', 'p1', 'p4']],
    ] as const) {
      const captures = pages(5);
      captures[2] = { ...captures[2]!, lengthError };
      const { bytes } = writeArc(captures, { name: 'x.arc', gzip: false });
      for (const largest of [null, 11]) {
        const decoded = decode(bytes, largest);
        expect(decoded.badByReason, `error ${lengthError}`).toEqual({ wrong_archive_length: 1 });
        expect(decoded.rows.map((row) => row.url)).toEqual(survivors.map((page) => `http://www.example.com/${page}`));
      }
    }
  });

  it('gzip: a member is its record, whatever its Archive-length says, as warcio reads it', () => {
    const captures = pages(4);
    captures[1] = { ...captures[1]!, lengthError: -30 };
    captures[2] = { ...captures[2]!, lengthError: 500 };
    const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip: true });
    const decoded = decode(bytes, 13);
    expect(decoded.badByReason).toEqual({});
    expect(decoded.rows.map((row) => [row.url, row.warc_record_offset, row.warc_record_length])).toEqual(
      captures.map((capture, index) => [capture.url, places[index + 1]!.offset, places[index + 1]!.length]),
    );
    // The payload is what the length held, or the member's rest: what warcio's reader yields.
    const short = captures[1]!.block;
    const shortHead = short.indexOf('\r\n\r\n') + 4;
    expect(decoded.rows[1]!.content_digest).toBe(
      payloadDigest(Buffer.concat([short.subarray(0, shortHead), short.subarray(shortHead, short.length - 30)])),
    );
    expect(decoded.rows[2]!.content_digest).toBe(payloadDigest(Buffer.concat([captures[2]!.block, Buffer.from('\n')])));
  });

  it('gzip: the last member ends its record too, unless the file was cut inside it', () => {
    const captures = pages(3);
    captures[2] = { ...captures[2]!, lengthError: 40 };
    const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip: true });
    const whole = decode(bytes, 21);
    expect(whole.badByReason).toEqual({});
    expect(whole.rows.map((row) => [row.url, row.warc_record_offset, row.warc_record_length]).at(-1)).toEqual([
      captures[2]!.url,
      places[3]!.offset,
      places[3]!.length,
    ]);
    const cut = decode(bytes.subarray(0, bytes.length - 5), 21);
    expect(cut.badByReason).toEqual({ truncated_gzip_member: 1 });
    expect(cut.rows).toHaveLength(2);
  });

  it('gzip: a corrupt member, a truncated file and a garbled header line are counted; the rest come out', () => {
    const captures = pages(5);
    const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip: true });
    const corrupt = Buffer.from(bytes);
    corrupt[places[2]!.offset + 20]! ^= 0xff;
    const corrupted = decode(corrupt, 17);
    expect(Object.values(corrupted.badByReason).reduce((sum, count) => sum + count, 0)).toBe(1);
    expect(corrupted.rows.map((row) => row.url)).toEqual(
      ['p0', 'p2', 'p3', 'p4'].map((page) => `http://www.example.com/${page}`),
    );

    const truncated = decode(bytes.subarray(0, places[5]!.offset + 40), 17);
    expect(truncated.badByReason).toEqual({ truncated_gzip_member: 1 });
    expect(truncated.rows).toHaveLength(4);

    const garbled = Buffer.concat([
      bytes.subarray(0, places[3]!.offset),
      zlib.gzipSync('this is no header line\nHTTP/1.1 200 OK\r\n\r\nx\n'),
      bytes.subarray(places[3]!.offset),
    ]);
    const read = decode(garbled, 17);
    expect(read.badByReason).toEqual({ invalid_arc_header_line: 1 });
    expect(read.rows).toHaveLength(5);
  });

  it('gzip: a damaged first member (the version block) is counted and the records after it are still read as ARC', () => {
    const captures = pages(4);
    const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip: true });
    for (const position of [0, 15, places[1]!.offset - 12]) {
      const damaged = Buffer.from(bytes);
      damaged[position]! ^= 0x5a;
      for (const largest of [null, 7]) {
        const decoded = decode(damaged, largest);
        expect(
          Object.values(decoded.badByReason).reduce((sum, count) => sum + count, 0),
          `byte ${position}`,
        ).toBe(1);
        expect(decoded.rows.map((row) => row.url)).toEqual(captures.map((capture) => capture.url));
      }
    }
  });

  it('plain: garbage between records and a cut file are counted; the records around the garbage come out', () => {
    const captures = pages(4);
    const { bytes, places } = writeArc(captures, { name: 'x.arc', gzip: false });
    const junk = Buffer.from('junk line one\n\x00\x01 binary junk without structure\nmore junk\n');
    const joined = Buffer.concat([bytes.subarray(0, places[3]!.offset), junk, bytes.subarray(places[3]!.offset)]);
    for (const largest of [null, 5, 64]) {
      const decoded = decode(joined, largest);
      expect(decoded.badByReason).toEqual({ invalid_arc_header_line: 1 });
      expect(decoded.rows.map((row) => row.url)).toEqual(
        ['p0', 'p1', 'p2', 'p3'].map((page) => `http://www.example.com/${page}`),
      );
    }
    // Garbage at the end counts once, and the last record stands.
    const trailing = decode(Buffer.concat([bytes, Buffer.from('no line end here')]), 9);
    expect(trailing.badByReason).toEqual({ truncated_record: 1 });
    expect(trailing.rows).toHaveLength(4);
    const junkThenCut = decode(Buffer.concat([bytes, Buffer.from('junk\nmore junk, cut')]), 9);
    expect(junkThenCut.badByReason).toEqual({ invalid_arc_header_line: 1 });
    expect(junkThenCut.rows).toHaveLength(4);
    const cut = decode(bytes.subarray(0, places[4]!.offset + 60), 9);
    expect(cut.badByReason).toEqual({ truncated_record: 1 });
    expect(cut.rows).toHaveLength(3);
  });

  it('never throws on seeded byte flips and cuts, counts what it loses, and reads the same whatever the chunks', () => {
    const random = seededRandom(20080430);
    for (const gzip of [true, false]) {
      const { bytes, places } = writeArc(pages(6), { name: 'x.arc', gzip });
      for (let trial = 0; trial < 60; trial++) {
        const damaged = Buffer.from(bytes.subarray(0, bytes.length - Math.floor(nextUnit(random) * 40)));
        const flips = [0, 1, 2].map(() => Math.floor(nextUnit(random) * damaged.length));
        for (const position of flips) damaged[position]! ^= 1 + Math.floor(nextUnit(random) * 255);
        let decoded: Decoded;
        try {
          decoded = decode(damaged, 1 + Math.floor(nextUnit(random) * 200), trial);
        } catch (error) {
          // Only a file whose version block was hit is no archive at all: a clear input fault, not a crash.
          expect(String(error)).toMatch(/not a WARC file/);
          expect(Math.min(...flips), `trial ${trial}`).toBeLessThan(places[1]!.offset);
          continue;
        }
        expect(decoded.rows.length).toBeLessThanOrEqual(6);
        // Where the chunks were cut changes nothing, damage or not.
        const whole = decode(damaged);
        expect(decoded.rows, `trial ${trial}`).toEqual(whole.rows);
        expect(decoded.badByReason, `trial ${trial}`).toEqual(whole.badByReason);
        const lost = 6 - decoded.rows.length;
        const counted = Object.values(decoded.badByReason).reduce((sum, count) => sum + count, 0);
        if (lost > 0) expect(counted, `trial ${trial}`).toBeGreaterThan(0);
      }
    }
  });
});
