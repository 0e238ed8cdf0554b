// Writes `.warc.gz` files (one gzip member a record, as CommonCrawl writes) whose responses
// carry their payloads encoded as servers send them: every Content-Encoding the content schema
// decodes, chunked transfer coding alone and under gzip, stacked encodings, and the broken
// cases (a gzip body that is no gzip, chunking cut short, a coding nobody decodes). CommonCrawl
// stores payloads decoded, so its files hold none of these; the interop test needs them.
import zlib from 'node:zlib';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';

/** One response of the file: how its body is encoded, and the headers that say so. */
export interface EncodedCase {
  readonly name: string;
  readonly headers: readonly string[];
  /** The body as sent, from the page's bytes. */
  readonly encode: (page: Buffer) => Buffer;
}

/** Chunks of 1,000 bytes and the closing chunk, with an extension on the first size line. */
export function chunked(body: Buffer, chunkBytes = 1000): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    const chunk = body.subarray(offset, offset + chunkBytes);
    const extension = offset === 0 ? ';name=value' : '';
    parts.push(Buffer.from(`${chunk.length.toString(16)}${extension}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** A gzip body with its middle bytes overwritten: the header reads, the data does not. */
function corruptGzipMiddle(page: Buffer): Buffer {
  const gzip = zlib.gzipSync(page);
  const damaged = Buffer.from(gzip);
  damaged.fill(0xff, 20, Math.min(damaged.length - 8, 60));
  return damaged;
}

export const encodedCases: readonly EncodedCase[] = [
  { name: 'plain', headers: [], encode: (page) => page },
  { name: 'identity', headers: ['Content-Encoding: identity'], encode: (page) => page },
  { name: 'gzip', headers: ['Content-Encoding: gzip'], encode: (page) => zlib.gzipSync(page) },
  { name: 'x-gzip', headers: ['Content-Encoding: x-gzip'], encode: (page) => zlib.gzipSync(page) },
  { name: 'deflate-zlib', headers: ['Content-Encoding: deflate'], encode: (page) => zlib.deflateSync(page) },
  { name: 'deflate-raw', headers: ['Content-Encoding: deflate'], encode: (page) => zlib.deflateRawSync(page) },
  { name: 'br', headers: ['Content-Encoding: br'], encode: (page) => zlib.brotliCompressSync(page) },
  {
    name: 'gzip-then-br',
    headers: ['Content-Encoding: gzip, br'],
    encode: (page) => zlib.brotliCompressSync(zlib.gzipSync(page)),
  },
  { name: 'chunked', headers: ['Transfer-Encoding: chunked'], encode: (page) => chunked(page) },
  {
    name: 'chunked-gzip',
    headers: ['Content-Encoding: gzip', 'Transfer-Encoding: chunked'],
    encode: (page) => chunked(zlib.gzipSync(page), 300),
  },
  {
    name: 'chunked-br',
    headers: ['Content-Encoding: br', 'Transfer-Encoding: chunked'],
    encode: (page) => chunked(zlib.brotliCompressSync(page), 300),
  },
  { name: 'broken-gzip', headers: ['Content-Encoding: gzip'], encode: (page) => page },
  { name: 'corrupt-gzip', headers: ['Content-Encoding: gzip'], encode: corruptGzipMiddle },
  {
    name: 'truncated-chunked',
    headers: ['Transfer-Encoding: chunked'],
    encode: (page) => {
      const whole = chunked(page);
      return whole.subarray(0, Math.floor(whole.length * 0.6));
    },
  },
  { name: 'unsupported', headers: ['Content-Encoding: compress'], encode: (page) => page },
  {
    // CommonCrawl's way: the payload stored decoded, the header renamed.
    name: 'crawler-decoded',
    headers: ['X-Crawler-Content-Encoding: gzip', 'X-Crawler-Transfer-Encoding: chunked'],
    encode: (page) => page,
  },
];

/** Cases whose bytes warcio cannot give decoded, and why; the interop test reads them its own way. */
export const corruptCaseNames: ReadonlySet<string> = new Set(['corrupt-gzip']);

/** Seeded HTML of about `bytes` bytes, with words enough to compress as real pages do. */
export function seededPage(seed: number, bytes: number): Buffer {
  const random = seededRandom(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda'];
  const parts = ['<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>page</title></head><body>\n'];
  let size = parts[0]?.length ?? 0;
  while (size < bytes) {
    const count = 3 + Math.floor(nextUnit(random) * 20);
    let line = '<p>';
    for (let index = 0; index < count; index++)
      line += `${words[Math.floor(nextUnit(random) * words.length)] ?? ''}${Math.floor(nextUnit(random) * 1000)} `;
    line += 'é€</p>\n';
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  parts.push('</body></html>\n');
  return Buffer.from(parts.join(''));
}

/** One response record as a gzip member, the HTTP header's Content-Length the body's as sent. */
export function responseMember(url: string, id: string, headers: readonly string[], body: Buffer): Buffer {
  const lengthHeader = headers.some((header) => header.startsWith('Transfer-Encoding'))
    ? []
    : [`Content-Length: ${body.length}`];
  const http = Buffer.from(
    [
      'HTTP/1.1 200 OK',
      'Content-Type: text/html; charset=utf-8',
      ...headers,
      ...lengthHeader,
      'Set-Cookie: a=1; Path=/',
      'Set-Cookie: b=2, c=3',
      'Vary: Accept-Encoding',
      'Vary: Cookie',
      '',
      '',
    ].join('\r\n'),
  );
  const block = Buffer.concat([http, body]);
  const warc = Buffer.from(
    [
      'WARC/1.0',
      'WARC-Type: response',
      `WARC-Target-URI: ${url}`,
      'WARC-Date: 2024-05-18T01:58:10Z',
      `WARC-Record-ID: ${id}`,
      'Content-Type: application/http; msgtype=response',
      `Content-Length: ${block.length}`,
      '',
      '',
    ].join('\r\n'),
  );
  return zlib.gzipSync(Buffer.concat([warc, block, Buffer.from('\r\n\r\n')]));
}

export function caseRecordId(index: number): string {
  return `<urn:uuid:00000000-0000-4000-9000-${String(index).padStart(12, '0')}>`;
}

/** Every case once, pages of `pageBytes`: the file, and the case of each record id. */
export function encodedPayloadWarc(pageBytes = 20_000): { bytes: Buffer; caseOf: Map<string, EncodedCase> } {
  const members: Buffer[] = [];
  const caseOf = new Map<string, EncodedCase>();
  encodedCases.forEach((encodedCase, index) => {
    const id = caseRecordId(index);
    const body = encodedCase.encode(seededPage(index + 1, pageBytes));
    members.push(responseMember(`https://example.com/${encodedCase.name}`, id, encodedCase.headers, body));
    caseOf.set(id, encodedCase);
  });
  return { bytes: Buffer.concat(members), caseOf };
}

/**
 * `count` responses of `payloadBytes` each (the peak RSS bench's input), gzip-encoded or sent
 * as is, one member a record.
 */
export function largePayloadWarc(count: number, payloadBytes: number, encoding: 'gzip' | 'plain'): Buffer {
  const members: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const page = seededPage(index + 1000, payloadBytes);
    const body = encoding === 'gzip' ? zlib.gzipSync(page) : page;
    const headers = encoding === 'gzip' ? ['Content-Encoding: gzip'] : [];
    members.push(responseMember(`https://example.org/large/${index}`, caseRecordId(100_000 + index), headers, body));
  }
  return Buffer.concat(members);
}
