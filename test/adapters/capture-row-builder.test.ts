// Proves how a capture row meets a target URI it cannot fully read: the row is kept and counted
// with a warning (its SURT key the raw string, as CommonCrawl writes it), a second warning on the
// same row is counted too, and a bug in the URL code fails the chunk instead of becoming a bad record.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';

// A switch to make the public suffix lookup throw, as a bug in the URL code would.
const suffixLookup = vi.hoisted(() => ({ broken: false }));
vi.mock('tldts', async (original) => {
  const tldts = await original<typeof import('tldts')>();
  return {
    ...tldts,
    parse: (...args: Parameters<typeof tldts.parse>) => {
      if (suffixLookup.broken) throw new TypeError('injected suffix bug');
      return tldts.parse(...args);
    },
  };
});

const input: InputRef = { uri: 'urls', filename: 'urls.warc', crawl: null, subset: null, segment: null };

function response(url: string, date = '2024-05-18T01:58:10Z'): Buffer {
  const block = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>hello</html>');
  const head = [
    'WARC/1.0',
    'WARC-Type: response',
    `WARC-Date: ${date}`,
    `WARC-Target-URI: ${url}`,
    'WARC-Record-ID: <urn:uuid:1>',
    'Content-Type: application/http; msgtype=response',
    `Content-Length: ${block.length}`,
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), block, Buffer.from('\r\n\r\n')]);
}

function decodeWhole(bytes: Buffer) {
  return new WarcJobDecoder(input).push(bytes, true);
}

afterEach(() => {
  suffixLookup.broken = false;
  vi.restoreAllMocks();
});

describe('capture rows of odd target URIs', () => {
  it('keeps the row of a URL surt cannot read, with its raw SURT key, and counts a warning', () => {
    const url = 'http://example.com:abc/x';
    const decoded = decodeWhole(response(url));
    expect(decoded.rows.map((row) => [row.url, row.url_surtkey])).toEqual([[url, url]]);
    expect(decoded.counters.badByReason).toEqual({});
    expect(decoded.counters.warningByReason).toEqual({ 'unparseable WARC-Target-URI': 1 });
  });

  it('counts every warning of a row, not only the first', () => {
    const decoded = decodeWhole(
      Buffer.concat([response('http://example.com:99999/', 'yesterday'), response('http://a.com/')]),
    );
    expect(decoded.rows).toHaveLength(2);
    expect(decoded.counters.warningByReason).toEqual({ 'unparseable WARC-Target-URI': 1, 'unreadable WARC-Date': 1 });
  });

  it('counts nothing for a URL every parser reads', () => {
    const decoded = decodeWhole(response('https://an.wikipedia.org/wiki/Escopete'));
    expect(decoded.rows).toHaveLength(1);
    expect(decoded.counters.warningByReason).toEqual({});
  });

  it('lets a bug in the URL code throw instead of counting the record as damage', () => {
    const bytes = response('http://bücher.ch/');
    const from = Buffer.from.bind(Buffer);
    vi.spyOn(Buffer, 'from').mockImplementation(((value: unknown, ...rest: unknown[]) => {
      if (typeof value === 'string' && value.includes('bücher')) throw new TypeError('injected bug');
      return (from as (...args: unknown[]) => Buffer)(value, ...rest);
    }) as typeof Buffer.from);
    expect(() => decodeWhole(bytes)).toThrow('injected bug');
  });

  it('lets a bug in the host columns throw instead of calling the URI unparseable', () => {
    suffixLookup.broken = true;
    expect(() => decodeWhole(response('https://example.com/'))).toThrow('injected suffix bug');
  });
});
