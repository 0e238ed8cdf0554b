/**
 * Payload decoding on its own: every coding and stack of them round-trips whatever bytes
 * fast-check draws; chunking round-trips and broken chunking keeps what warcio keeps; the cut
 * at `contentBytesMax` keeps a prefix and the true length; a zip bomb stops at the work bound
 * with its first bytes kept and no length; CommonCrawl's renamed headers decode nothing twice;
 * corrupt and unknown codings give the bytes as sent and a reason; and nothing throws.
 */
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { removeChunking } from '../../adapters/warc/chunked-transfer.ts';
import { httpHeadersJson } from '../../adapters/warc/http-headers.ts';
import { HeaderFields } from '../../adapters/warc/line-reader.ts';
import { decodePayload, type PayloadBounds } from '../../adapters/warc/payload-decoding.ts';
import { chunked } from '../fixtures-gen/encoded-payload-warc.ts';

function headers(...lines: string[]): HeaderFields {
  const fields = new HeaderFields(true);
  for (const line of lines) fields.add(line);
  return fields;
}

const roomy: PayloadBounds = { contentBytesMax: 1 << 20, decodedBytesMax: 8 << 20 };

function whole(bytes: Buffer): { bytes: Buffer; totalBytes: number } {
  return { bytes, totalBytes: bytes.length };
}

const encoders: Record<string, (bytes: Buffer) => Buffer> = {
  gzip: (bytes) => zlib.gzipSync(bytes),
  'x-gzip': (bytes) => zlib.gzipSync(bytes),
  deflate: (bytes) => zlib.deflateSync(bytes),
  br: (bytes) => zlib.brotliCompressSync(bytes),
  identity: (bytes) => bytes,
};

describe('decodePayload', () => {
  it('undoes any stack of codings, chunked or not, on any bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 5000 }),
        fc.array(fc.constantFrom(...Object.keys(encoders)), { maxLength: 3 }),
        fc.boolean(),
        (payload, codings, isChunked) => {
          let body: Buffer = Buffer.from(payload);
          for (const coding of codings) body = (encoders[coding] as (bytes: Buffer) => Buffer)(body);
          if (isChunked) body = chunked(body, 700);
          const fields = headers(
            ...(codings.length > 0 ? [`Content-Encoding: ${codings.join(', ')}`] : []),
            ...(isChunked ? ['Transfer-Encoding: chunked'] : []),
          );
          const decoded = decodePayload(whole(body), fields, false, roomy);
          expect(Buffer.from(decoded.content).equals(Buffer.from(payload))).toBe(true);
          expect(decoded.contentLength).toBe(payload.length);
          expect(decoded.encodingError).toBeNull();
          expect(decoded.cut).toBe(false);
        },
      ),
    );
  });

  it('reads raw deflate, which servers send as deflate', () => {
    const page = Buffer.from('<p>raw deflate</p>'.repeat(100));
    const decoded = decodePayload(whole(zlib.deflateRawSync(page)), headers('Content-Encoding: deflate'), false, roomy);
    expect(Buffer.from(decoded.content).equals(page)).toBe(true);
  });

  it('cuts at contentBytesMax, keeping the prefix and the whole length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 0, max: 6000 }), (max, size) => {
        const page = Buffer.alloc(size, 'abcdefgh');
        const bounds = { contentBytesMax: max, decodedBytesMax: 1 << 20 };
        for (const fields of [headers(), headers('Content-Encoding: gzip')]) {
          const body = fields.get('content-encoding') === null ? page : zlib.gzipSync(page);
          const decoded = decodePayload(whole(body), fields, false, bounds);
          expect(Buffer.from(decoded.content).equals(page.subarray(0, max))).toBe(true);
          expect(decoded.contentLength).toBe(size);
          expect(decoded.cut).toBe(size > max);
        }
      }),
    );
  });

  it('stops a zip bomb at the work bound: its first bytes kept, no length, a warning', () => {
    const bombBytes = 16 << 20;
    const bounds = { contentBytesMax: 512 << 10, decodedBytesMax: 2 << 20 };
    for (const [coding, body] of [
      ['gzip', zlib.gzipSync(Buffer.alloc(bombBytes, 0x41))],
      ['deflate', zlib.deflateSync(Buffer.alloc(bombBytes, 0x41))],
      ['br', zlib.brotliCompressSync(Buffer.alloc(bombBytes, 0x41))],
    ] as const) {
      const decoded = decodePayload(whole(body), headers(`Content-Encoding: ${coding}`), false, bounds);
      // Brotli packs a run into one meta-block that no prefix decodes within the bound: nothing is kept.
      if (coding !== 'br') expect(decoded.content.length, coding).toBe(bounds.contentBytesMax);
      expect(Buffer.from(decoded.content).every((byte) => byte === 0x41)).toBe(true);
      expect(decoded.contentLength).toBeNull();
      expect(decoded.cut).toBe(true);
      expect(decoded.warnings).toContain('payload_past_decoding_bound');
    }
  });

  it('decodes the held part of a body past the held bound, and says its length is unknown', () => {
    const page = Buffer.from('<p>held</p>'.repeat(10_000));
    const body = zlib.gzipSync(page);
    const held = { bytes: body.subarray(0, body.length >> 1), totalBytes: body.length };
    const decoded = decodePayload(held, headers('Content-Encoding: gzip'), false, roomy);
    expect(decoded.content.length).toBeGreaterThan(0);
    expect(Buffer.from(decoded.content).equals(page.subarray(0, decoded.content.length))).toBe(true);
    expect(decoded.contentLength).toBeNull();
    expect(decoded.cut).toBe(true);
  });

  it('decodes nothing twice where CommonCrawl renamed the headers', () => {
    const gzipLooking = zlib.gzipSync(Buffer.from('stored decoded, yet gzip bytes'));
    const fields = headers('X-Crawler-Content-Encoding: gzip', 'X-Crawler-Transfer-Encoding: chunked');
    const decoded = decodePayload(whole(gzipLooking), fields, false, roomy);
    expect(Buffer.from(decoded.content).equals(gzipLooking)).toBe(true);
    expect(decoded.encodingError).toBeNull();
  });

  it('gives the bytes as sent and a reason for corrupt or unknown codings, never throwing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'zstd, gzip'),
        (junk, coding) => {
          const decoded = decodePayload(whole(Buffer.from(junk)), headers(`Content-Encoding: ${coding}`), false, roomy);
          if (decoded.encodingError !== null) {
            expect(Buffer.from(decoded.content).equals(Buffer.from(junk))).toBe(true);
            expect(decoded.warnings).toContain('undecodable_content_encoding');
          }
        },
      ),
    );
    const unknown = decodePayload(whole(Buffer.from('x')), headers('Content-Encoding: compress'), false, roomy);
    expect(unknown.encodingError).toBe('unsupported coding compress');
  });

  it('reads a gzip body cut short as far as it goes, with a warning', () => {
    const page = Buffer.from('<p>cut short</p>'.repeat(2000));
    const body = zlib.gzipSync(page);
    const decoded = decodePayload(
      whole(body.subarray(0, body.length - 4)),
      headers('Content-Encoding: gzip'),
      false,
      roomy,
    );
    expect(Buffer.from(decoded.content).equals(page)).toBe(true);
    expect(decoded.encodingError).toBeNull();
    expect(decoded.warnings).toContain('encoded_payload_cut_short');
  });
});

describe('removeChunking', () => {
  it('round-trips any bytes in any chunk size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), fc.integer({ min: 1, max: 5000 }), (payload, size) => {
        const result = removeChunking(chunked(Buffer.from(payload), size));
        expect(result.broken).toBe(false);
        expect(result.bytes.equals(Buffer.from(payload))).toBe(true);
      }),
    );
  });

  it('keeps the chunks and the part of the last one when the bytes end inside a chunk', () => {
    const payload = Buffer.from('0123456789'.repeat(50));
    const body = chunked(payload, 100);
    const cut = removeChunking(body.subarray(0, 250));
    expect(cut.broken).toBe(true);
    expect(payload.subarray(0, cut.bytes.length).equals(cut.bytes)).toBe(true);
    expect(cut.bytes.length).toBeGreaterThan(200);
  });

  it('keeps a body that is not chunked at all as sent', () => {
    const body = Buffer.from('<html>not chunked</html>');
    expect(removeChunking(body)).toEqual({ bytes: body, broken: true });
  });
});

describe('httpHeadersJson', () => {
  it('lower-cases names, joins repeats with a comma, keeps set-cookie as an array, and folds lines', () => {
    const fields = headers(
      'Content-Type: text/html',
      'Vary: Accept-Encoding',
      'VARY: Cookie',
      'Set-Cookie: a=1, b=2',
      'X-Folded: one',
      '  two',
      '__proto__: kept',
    );
    expect(JSON.parse(httpHeadersJson(fields))).toEqual({
      'content-type': 'text/html',
      vary: 'Accept-Encoding, Cookie',
      'set-cookie': ['a=1, b=2'],
      'x-folded': 'one two',
      ['__proto__']: 'kept',
    });
  });

  it('round-trips any header values through JSON', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.string({ maxLength: 40 }))),
        (pairs) => {
          const fields = headers(...pairs.map(([name, value]) => `${name}: ${value.replace(/[\r\n]/g, ' ')}`));
          const parsed = JSON.parse(httpHeadersJson(fields)) as Record<string, unknown>;
          expect(Object.keys(parsed).every((name) => name === name.toLowerCase())).toBe(true);
        },
      ),
    );
  });
});
