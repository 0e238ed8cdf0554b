// Writes ARC files as the Internet Archive's ARC writers (Heritrix 1, and the older Alexa
// ones) emit them: a `filedesc://` version block first (version 1.1 with its XML metadata,
// or 2 with the longer header lines), then one record per capture, each header line
// `URL IP-address Archive-date Content-type Archive-length`, the HTTP response as fetched, and
// a line feed. `.arc.gz` puts every record in a gzip member of its own. What each record
// should give as a row (URL, date, status, mime, payload digest, range) is worked out here
// from what was written, not by the decoder under test.
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

export interface ArcCapture {
  /** As written in the header line; may hold spaces, as Heritrix wrote some. */
  readonly url: string;
  readonly ipAddress?: string;
  /** `YYYYMMDDhhmmss`. */
  readonly date: string;
  /** The header line's Content-type (`no-type` when the server sent none). */
  readonly contentType: string;
  /** The whole block: an HTTP response for http(s) URLs, the document for `dns:`. */
  readonly block: Buffer;
  /** Added to the real block length in the header line: a wrong Archive-length. */
  readonly lengthError?: number;
}

export interface ArcWriteOptions {
  readonly name: string;
  readonly gzip: boolean;
  readonly version?: 1 | 2;
  /** Gzip headers with an FEXTRA field, as some ARC writers add one. */
  readonly extraField?: boolean;
  /** Leaves the version block out, as a file cut from the middle of an ARC (or a careless writer) has none. */
  readonly withoutVersionBlock?: boolean;
}

/** Where a record went and what its bytes say. */
export interface ArcRecordPlace {
  readonly url: string;
  readonly offset: number;
  readonly length: number;
}

export interface WrittenArc {
  readonly bytes: Buffer;
  /** Every record, the version block first. For gzip, its member's range; for plain, the record with its line feed. */
  readonly places: readonly ArcRecordPlace[];
}

/** An HTTP/1.x response block with LF or CRLF lines, as ARC writers stored what the server sent. */
export function httpResponse(
  status: string,
  headers: readonly string[],
  body: string | Buffer,
  lineEnd = '\r\n',
): Buffer {
  const head = [`HTTP/1.1 ${status}`, ...headers, '', ''].join(lineEnd);
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

/** The payload's SHA-1 in base32: the digest warcio and cdxj-indexer give a capture. */
export function payloadDigest(block: Buffer): string {
  const crlf = block.indexOf('\r\n\r\n');
  const lf = block.indexOf('\n\n');
  const end = crlf !== -1 && (lf === -1 || crlf < lf) ? crlf + 4 : lf + 2;
  return base32Reference(createHash('sha1').update(block.subarray(end)).digest());
}

/** A plain reading of RFC 4648 base32, bit by bit. */
function base32Reference(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...bytes].map((byte) => byte.toString(2).padStart(8, '0')).join('');
  let text = '';
  for (let index = 0; index < bits.length; index += 5)
    text += alphabet[parseInt(bits.slice(index, index + 5).padEnd(5, '0'), 2)];
  return text;
}

function versionBlock(version: 1 | 2): Buffer {
  if (version === 2) {
    return Buffer.from(
      '2 0 Alexa Internet\nURL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename Archive-length\n',
    );
  }
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<arcmetadata xmlns="http://archive.org/arc/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
    '<arc:software>Heritrix 1.14.4 http://crawler.archive.org</arc:software>',
    `<dc:format>ARC file version 1.1</dc:format>`,
    '</arcmetadata>',
  ].join('\n');
  return Buffer.from(`1 1 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n${xml}\n`);
}

function headerLine(capture: ArcCapture, version: 1 | 2, name: string): string {
  const length = capture.block.length + (capture.lengthError ?? 0);
  const ip = capture.ipAddress ?? '192.0.2.7';
  if (version === 1) return `${capture.url} ${ip} ${capture.date} ${capture.contentType} ${length}\n`;
  const status = /^HTTP\/\S+ (\d{3})/.exec(capture.block.toString('latin1', 0, 64))?.[1] ?? '-';
  return `${capture.url} ${ip} ${capture.date} ${capture.contentType} ${status} - - 0 ${name} ${length}\n`;
}

/** A gzip member, with an FEXTRA field when asked (RFC 1952). */
function gzipMember(data: Buffer, extraField: boolean): Buffer {
  if (!extraField) return zlib.gzipSync(data);
  const extra = Buffer.from([0x4c, 0x58, 0x04, 0x00, 0, 0, 0, 0]);
  const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0x03, extra.length, 0]), extra]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, zlib.deflateRawSync(data), trailer]);
}

export function writeArc(captures: readonly ArcCapture[], options: ArcWriteOptions): WrittenArc {
  const version = options.version ?? 1;
  const block = versionBlock(version);
  const records: { url: string; bytes: Buffer }[] = [
    {
      url: `filedesc://${options.name}`,
      bytes: Buffer.concat([
        Buffer.from(
          version === 1
            ? `filedesc://${options.name} 0.0.0.0 20080430204825 text/plain ${block.length}\n`
            : `filedesc://${options.name} 0.0.0.0 20080430204825 text/plain 200 - - 0 ${options.name} ${block.length}\n`,
        ),
        block,
        Buffer.from('\n'),
      ]),
    },
  ];
  for (const capture of captures) {
    records.push({
      url: capture.url,
      bytes: Buffer.concat([Buffer.from(headerLine(capture, version, options.name)), capture.block, Buffer.from('\n')]),
    });
  }
  const parts: Buffer[] = [];
  const places: ArcRecordPlace[] = [];
  let offset = 0;
  for (const record of records) {
    const bytes = options.gzip ? gzipMember(record.bytes, options.extraField ?? false) : record.bytes;
    places.push({ url: record.url, offset, length: bytes.length });
    parts.push(bytes);
    offset += bytes.length;
  }
  return options.withoutVersionBlock === true
    ? {
        bytes: Buffer.concat(parts.slice(1)),
        places: places.slice(1).map((place) => ({ ...place, offset: place.offset - places[1]!.offset })),
      }
    : { bytes: Buffer.concat(parts), places };
}

/** A small crawl's captures: pages, a redirect, a 404, a `dns:` lookup, LF-only headers, a URL with spaces. */
export function sampleCaptures(): ArcCapture[] {
  const page = (title: string) =>
    `<html><head><title>${title}</title></head><body>${`<p>${title} text</p>\n`.repeat(40)}</body></html>\n`;
  return [
    {
      url: 'dns:www.example.com',
      date: '20080430204826',
      contentType: 'text/dns',
      ipAddress: '192.0.2.53',
      block: Buffer.from('20080430204826\nwww.example.com.\t3600\tIN\tA\t192.0.2.7\n'),
    },
    {
      url: 'http://www.example.com/robots.txt',
      date: '20080430204826',
      contentType: 'text/plain',
      block: httpResponse('200 OK', ['Content-Type: text/plain', 'Content-Length: 25'], 'User-agent: *\nDisallow:\n\n'),
    },
    {
      url: 'http://www.example.com/',
      date: '20080430204827',
      contentType: 'text/html',
      block: httpResponse(
        '200 OK',
        ['Server: Apache/2.2.3', 'Content-Type: text/html; charset=ISO-8859-1'],
        page('Home'),
      ),
    },
    {
      url: 'http://www.example.com/old',
      date: '20080430204828',
      contentType: 'text/html',
      block: httpResponse(
        '301 Moved Permanently',
        ['Location: /new/', 'Content-Type: text/html'],
        '<a href="/new/">moved</a>\n',
      ),
    },
    {
      url: 'http://www.example.com/missing.html',
      date: '20080430204829',
      contentType: 'text/html',
      block: httpResponse('404 Not Found', ['Content-Type: text/html'], page('Not found')),
    },
    {
      url: 'http://www.example.org/index.cfm?a=Martinez Targets Castor&b=1',
      date: '20080430204830',
      contentType: 'text/html',
      block: httpResponse('400 Bad Request', ['Content-Type: text/html'], '<h1>Bad Request</h1>', '\n'),
    },
    {
      url: 'http://www.example.org/a page.html',
      date: '20080430204831',
      contentType: 'application/pdf',
      block: httpResponse(
        '200 OK',
        ['Content-Type: application/pdf'],
        Buffer.from([0x25, 0x50, 0x44, 0x46, 0x0a, 0x00, 0xff, 0x0d, 0x0a, 0x0a]),
      ),
    },
  ];
}
