// Proves the WARC decoder's handling of what the shared fixtures do not show: gzip headers
// with FEXTRA, FNAME, FCOMMENT and FHCRC; WARC 0.18 habits (14-digit dates, LF-only lines,
// folded headers, angle-bracketed URIs, a Content-Length that includes the closing CR LF
// CR LF); resource records (status 200, their WARC Content-Type as the mime type); the
// metadata join (only the metadata that names the response); bad records counted by reason
// (missing target URI, header lines and blocks past their limits, corrupt and
// truncated members, junk between members, a Content-Length past its gzip member) while the
// records around them still come out.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import { languages } from '../../adapters/warc/capture-row-builder.ts';
import { parseWarcDate } from '../../adapters/warc/warc-date.ts';

const input: InputRef = { uri: 'quirks', filename: 'quirks.warc', crawl: null, subset: null, segment: null };

interface RecordOptions {
  type?: string;
  url?: string | null;
  date?: string;
  id?: string;
  extra?: string[];
  block?: string;
  lineEnd?: string;
  /** Added to the real block length: a wrong Content-Length. */
  lengthError?: number;
  trailer?: string;
}

function record(options: RecordOptions = {}): Buffer {
  const lineEnd = options.lineEnd ?? '\r\n';
  const block = Buffer.from(
    options.block ??
      `HTTP/1.1 200 OK${lineEnd}Content-Type: text/html; charset=utf-8${lineEnd}${lineEnd}<html>hello</html>`,
  );
  const lines = [
    'WARC/1.0',
    `WARC-Type: ${options.type ?? 'response'}`,
    `WARC-Date: ${options.date ?? '2024-05-18T01:58:10Z'}`,
  ];
  if (options.url !== null) lines.push(`WARC-Target-URI: ${options.url ?? 'https://example.com/page'}`);
  lines.push(
    `WARC-Record-ID: ${options.id ?? '<urn:uuid:1>'}`,
    ...(options.extra ?? []),
    `Content-Length: ${block.length + (options.lengthError ?? 0)}`,
  );
  return Buffer.concat([
    Buffer.from(lines.join(lineEnd) + lineEnd + lineEnd),
    block,
    Buffer.from(options.trailer ?? '\r\n\r\n'),
  ]);
}

function metadata(concurrentTo: string, url = 'https://example.com/page'): Buffer {
  const body =
    'fetchTimeMs: 12\r\ncharset-detected: windows-1252\r\nlanguages-cld2: {"reliable":true,"languages":[{"code":"de","code-iso-639-3":"deu"},{"code":"en","code-iso-639-3":"eng"},{"code":"de","code-iso-639-3":"deu"}]}\r\n';
  return record({
    type: 'metadata',
    url,
    id: '<urn:uuid:m>',
    extra: [`WARC-Concurrent-To: ${concurrentTo}`, 'Content-Type: application/warc-fields'],
    block: body,
  });
}

function decode(bytes: Buffer, chunkBytes = bytes.length, fullInflate = false) {
  const decoder = new WarcJobDecoder(input, { fullInflate });
  const rows: CaptureRow[] = [];
  const badByReason: Record<string, number> = {};
  const byType: Record<string, number> = {};
  for (let offset = 0; offset < bytes.length || offset === 0; offset += chunkBytes) {
    const result = decoder.push(bytes.subarray(offset, offset + chunkBytes), offset + chunkBytes >= bytes.length);
    rows.push(...result.rows);
    expectDecoderCodes(result.counters);
    for (const [key, value] of Object.entries(result.counters.badByReason))
      badByReason[key] = (badByReason[key] ?? 0) + value;
    for (const [key, value] of Object.entries(result.counters.byType)) byType[key] = (byType[key] ?? 0) + value;
    if (bytes.length === 0) break;
  }
  return { rows, badByReason, byType };
}

/** A gzip member with every optional header field (RFC 1952), as Wget and others write them. */
function gzipWithHeaderFields(data: Buffer): Buffer {
  const extra = Buffer.from([0x41, 0x42, 0x02, 0x00, 0x01, 0x02]);
  const header = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 0x08, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 3]),
    Buffer.from([extra.length, 0]),
    extra,
    Buffer.from('file.warc\0comment\0'),
  ]);
  const headerCrc = Buffer.alloc(2);
  headerCrc.writeUInt16LE(zlib.crc32(header) & 0xffff);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, headerCrc, zlib.deflateRawSync(data), trailer]);
}

describe('WARC decoder quirks', () => {
  it('reads gzip members with FEXTRA, FNAME, FCOMMENT and FHCRC, and gives the member range', () => {
    const first = gzipWithHeaderFields(record({ url: 'https://example.com/a' }));
    const second = zlib.gzipSync(record({ url: 'https://example.com/b' }));
    const { rows, badByReason } = decode(Buffer.concat([first, second]), 7);
    expect(badByReason).toEqual({});
    expect(rows.map((row) => [row.url, row.warc_record_offset, row.warc_record_length])).toEqual([
      ['https://example.com/a', 0, first.length],
      ['https://example.com/b', first.length, second.length],
    ]);
  });

  it('reads WARC 0.18 habits: LF-only lines, folded values, 14-digit dates, <URI>, CR LF CR LF inside Content-Length', () => {
    const folded = record({
      lineEnd: '\n',
      date: '20240518015810',
      url: '<https://example.com/old>',
      extra: ['WARC-Truncated: len', ' gth'],
      trailer: '\n\n',
    });
    const included = record({
      url: 'https://example.com/included',
      block: 'HTTP/1.0 404 Not Found\r\n\r\n\r\n\r\n',
      trailer: '',
    });
    const { rows, badByReason } = decode(
      Buffer.concat([folded, included, record({ url: 'https://example.com/next' })]),
    );
    expect(badByReason).toEqual({});
    expect(rows.map((row) => [row.url, row.fetch_time, row.fetch_status, row.content_truncated])).toEqual([
      ['https://example.com/old', Date.UTC(2024, 4, 18, 1, 58, 10), 200, 'len gth'],
      ['https://example.com/included', Date.UTC(2024, 4, 18, 1, 58, 10), 404, null],
      ['https://example.com/next', Date.UTC(2024, 4, 18, 1, 58, 10), 200, null],
    ]);
  });

  it('gives resource records status 200 and their WARC Content-Type, and resolves redirects', () => {
    const resource = record({
      type: 'resource',
      url: 'file:///tmp/a.txt',
      extra: ['Content-Type: Text/Plain; charset=utf-8'],
      block: 'just text',
    });
    const redirect = record({
      url: 'https://example.com/a/b',
      block: 'HTTP/1.1 302 Found\r\nLocation: ../c?d=1\r\n\r\n',
    });
    const { rows } = decode(Buffer.concat([resource, redirect]));
    expect(rows.map((row) => [row.fetch_status, row.content_mime_type, row.fetch_redirect])).toEqual([
      [200, 'text/plain', null],
      [302, null, 'https://example.com/c?d=1'],
    ]);
  });

  it('joins only the metadata record that names the response, with languages in order and without repeats', () => {
    const joined = decode(Buffer.concat([record({ id: '<urn:uuid:r>' }), metadata('<urn:uuid:r>')])).rows;
    expect([joined[0]!.content_charset, joined[0]!.content_languages]).toEqual(['windows-1252', 'deu,eng']);
    const other = decode(Buffer.concat([record({ id: '<urn:uuid:r>' }), metadata('<urn:uuid:other>')])).rows;
    expect([other[0]!.content_charset, other[0]!.content_languages]).toEqual([null, null]);
    const otherUrl = decode(
      Buffer.concat([record({ id: '<urn:uuid:r>' }), metadata('<urn:uuid:r>', 'https://example.com/elsewhere')]),
    ).rows;
    expect(otherUrl[0]!.content_charset).toBeNull();
    expect(languages('{"reliable":false,"text-bytes":3}')).toBeNull();
    expect(languages('not json')).toBeNull();
  });

  it('counts bad records by reason and keeps the good ones around them', () => {
    const long = 'x'.repeat(70 * 1024);
    const bytes = Buffer.concat([
      record({ url: 'https://example.com/1' }),
      record({ url: null }),
      record({ block: `HTTP/1.1 200 OK\r\nX-Long: ${long}\r\n\r\n` }),
      record({ extra: [`X-Long: ${long}`] }),
      record({ url: 'https://example.com/2' }),
      // Short by far more than a line: the bytes after the block are no record's end.
      record({ lengthError: -70 }),
      record({ url: 'https://example.com/3' }),
      record({ block: 'an HTTP response should be here\r\n' }),
    ]);
    for (const chunkBytes of [bytes.length, 1000, 17]) {
      const { rows, badByReason } = decode(bytes, chunkBytes);
      expect(rows.map((row) => row.url)).toEqual([
        'https://example.com/1',
        'https://example.com/2',
        'https://example.com/3',
      ]);
      expect(badByReason).toEqual({
        missing_warc_target_uri: 1,
        http_header_too_long: 1,
        warc_header_line_too_long: 1,
        wrong_content_length: 1,
        no_http_status_line: 1,
      });
    }
  });

  it('resynchronises after a corrupt member, junk between members and a truncated last member', () => {
    const good = (path: string) => zlib.gzipSync(record({ url: `https://example.com/${path}` }));
    const corrupt = good('corrupt');
    corrupt.fill(0x55, 20, 40);
    const truncated = good('cut').subarray(0, 60);
    const bytes = Buffer.concat([
      good('1'),
      corrupt,
      good('2'),
      Buffer.from('junk between members'),
      good('3'),
      truncated,
    ]);
    for (const chunkBytes of [bytes.length, 50, 7]) {
      const { rows, badByReason } = decode(bytes, chunkBytes);
      expect(rows.map((row) => row.url)).toEqual([
        'https://example.com/1',
        'https://example.com/2',
        'https://example.com/3',
      ]);
      expect(badByReason).toEqual({
        corrupt_gzip_member: 1,
        non_gzip_data: 1,
        truncated_gzip_member: 1,
      });
    }
  });

  it('counts a few bytes of junk after the last member as junk, not as a member cut off', () => {
    const member = (path: string) => zlib.gzipSync(record({ url: `https://example.com/${path}` }));
    // Fewer bytes than a gzip header, none of which could start one: padding, a newline, junk.
    for (const tail of [Buffer.alloc(4), Buffer.from('\r\n'), Buffer.from('junk\0\x01'), Buffer.from([0x1f, 0x00])]) {
      const bytes = Buffer.concat([member('1'), member('2'), tail]);
      for (const chunkBytes of [bytes.length, 7, 3]) {
        for (const fullInflate of [false, true]) {
          const { rows, badByReason } = decode(bytes, chunkBytes, fullInflate);
          expect(rows.map((row) => row.url)).toEqual(['https://example.com/1', 'https://example.com/2']);
          expect(badByReason).toEqual({ non_gzip_data: 1 });
        }
      }
    }
    // The start of a gzip header that the file ends in is a member cut off.
    const cut = Buffer.concat([member('1'), zlib.gzipSync(Buffer.from('x')).subarray(0, 5)]);
    for (const fullInflate of [false, true])
      expect(decode(cut, cut.length, fullInflate).badByReason).toEqual({ truncated_gzip_member: 1 });
  });

  it('cuts a record whose Content-Length runs past its gzip member at the next member, as warcio does', () => {
    const member = (options: RecordOptions) => zlib.gzipSync(record(options));
    const bytes = Buffer.concat([
      member({ url: 'https://example.com/1' }),
      member({ lengthError: 40 }),
      member({ url: 'https://example.com/2' }),
      member({ url: 'https://example.com/3' }),
    ]);
    for (const chunkBytes of [bytes.length, 33]) {
      const { rows, badByReason } = decode(bytes, chunkBytes);
      expect(rows.map((row) => row.url)).toEqual([
        'https://example.com/1',
        'https://example.com/2',
        'https://example.com/3',
      ]);
      expect(badByReason).toEqual({ wrong_content_length: 1 });
    }
  });

  it('parses WARC dates strictly', () => {
    expect(parseWarcDate('2024-05-18T01:58:10.123456Z')).toBe(Date.UTC(2024, 4, 18, 1, 58, 10, 123));
    for (const bad of ['2024-13-01T00:00:00Z', '2024-05-18 01:58:10', '', 'yesterday', '2024-05-18T25:00:00Z'])
      expect(parseWarcDate(bad)).toBeNull();
  });
});
