// Proves how a capture row meets a target URI it cannot fully read: the row is kept and counted
// with a warning (its SURT key the raw string, as CommonCrawl writes it), a second warning on the
// same row is counted too, and a bug in the URL code fails the chunk instead of becoming a bad record.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { languages } from '../../adapters/warc/capture-row-builder.ts';
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

function response(url: string, date = '2024-05-18T01:58:10Z', statusLine = 'HTTP/1.1 200 OK'): Buffer {
  const block = Buffer.from(`${statusLine}\r\nContent-Type: text/html\r\n\r\n<html>hello</html>`);
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
    expect(decoded.counters.warningByReason).toEqual({ unparseable_warc_target_uri: 1 });
  });

  it('counts every warning of a row, not only the first', () => {
    const decoded = decodeWhole(
      Buffer.concat([response('http://example.com:99999/', 'yesterday'), response('http://a.com/')]),
    );
    expect(decoded.rows).toHaveLength(2);
    expect(decoded.counters.warningByReason).toEqual({ unparseable_warc_target_uri: 1, unreadable_warc_date: 1 });
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

  it('reads languages that are no JSON as none, and lets a bug in reading them throw', () => {
    expect(languages('{"languages":[{"code-iso-639-3":"deu"}]}')).toBe('deu');
    expect(languages('{"languages":[{"code-iso')).toBeNull();
    const parse = JSON.parse.bind(JSON);
    vi.spyOn(JSON, 'parse').mockImplementation((text: string) => {
      if (text.includes('"languages"')) throw new TypeError('injected bug');
      return parse(text) as unknown;
    });
    expect(() => languages('{"languages":[]}')).toThrow('injected bug');
  });

  it('keeps a Location that does not resolve as the server wrote it, and lets a bug in resolving it throw', () => {
    const moved = (location: string) =>
      response('http://a.com/', undefined, `HTTP/1.1 301 Moved\r\nLocation: ${location}`);
    expect(decodeWhole(moved('/b')).rows[0]?.fetch_redirect).toBe('http://a.com/b');
    expect(decodeWhole(moved('http://[bad')).rows[0]?.fetch_redirect).toBe('http://[bad');
    const Url = URL;
    vi.spyOn(globalThis, 'URL').mockImplementation(function (input: string | URL, base?: string | URL) {
      if (String(input).includes('injected')) throw new TypeError('injected bug');
      return new Url(input, base);
    } as unknown as typeof URL);
    const bytes = moved('/injected');
    expect(() => decodeWhole(bytes)).toThrow('injected bug');
  });
});
