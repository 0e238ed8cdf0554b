// Writes records as other WARC writers emit them, for the decoder's tests: pywb's and warcit's
// identical-payload revisits (Content-Length 0, no HTTP headers), Heritrix's `dns:` and
// `whois:` responses (a block that is not HTTP), dates in the other W3C forms, a record whose
// Content-Length is a byte or two short or long, and a file whose every line ends in CR CR LF
// (CR LF written through a text-mode stream on Windows).

/** The fields of one record; the block is written as given and Content-Length counts it. */
export interface WriterRecord {
  readonly type: string;
  readonly url: string;
  readonly date?: string;
  readonly id: string;
  readonly headers?: readonly string[];
  readonly block: string;
  /** Added to the block's real length: a writer that miscounted. */
  readonly lengthError?: number;
  /** Line end of the WARC header and of the record's closing lines. */
  readonly lineEnd?: string;
}

export function writerRecord(record: WriterRecord): Buffer {
  const lineEnd = record.lineEnd ?? '\r\n';
  const block = Buffer.from(record.block, 'utf8');
  const lines = [
    'WARC/1.0',
    `WARC-Type: ${record.type}`,
    `WARC-Target-URI: ${record.url}`,
    `WARC-Date: ${record.date ?? '2019-08-15T01:02:03Z'}`,
    `WARC-Record-ID: ${record.id}`,
    ...(record.headers ?? []),
    `Content-Length: ${block.length + (record.lengthError ?? 0)}`,
  ];
  const header = Buffer.from(lines.join(lineEnd) + lineEnd + lineEnd, 'utf8');
  return Buffer.concat([header, block, Buffer.from(lineEnd + lineEnd, 'utf8')]);
}

/** An HTTP response block with a small HTML body. */
export function httpBlock(body = '<html>hello</html>', status = '200 OK', lineEnd = '\r\n'): string {
  const lines = [
    `HTTP/1.1 ${status}`,
    'Content-Type: text/html; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return [...lines, '', body].join(lineEnd);
}

let serial = 0;
function recordId(): string {
  serial += 1;
  return `<urn:uuid:00000000-0000-4000-8000-${String(serial).padStart(12, '0')}>`;
}

export function response(url: string, options: Partial<WriterRecord> = {}): Buffer {
  return writerRecord({
    type: 'response',
    url,
    id: recordId(),
    block: httpBlock(),
    headers: [
      'Content-Type: application/http; msgtype=response',
      'WARC-Payload-Digest: sha1:RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU',
    ],
    ...options,
  });
}

/**
 * pywb's recorder (through warcio's `create_revisit_record` with no HTTP headers): an
 * identical-payload revisit with an empty block and no Content-Type.
 */
export function pywbRevisit(url: string, date = '2019-08-15T01:02:03Z'): Buffer {
  return writerRecord({
    type: 'revisit',
    url,
    date,
    id: recordId(),
    block: '',
    headers: [
      'WARC-Profile: http://netpreserve.org/warc/1.0/revisit/identical-payload-digest',
      'WARC-Refers-To-Target-URI: ' + url,
      'WARC-Refers-To-Date: 2019-08-14T00:00:00Z',
      'WARC-Payload-Digest: sha1:RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU',
    ],
  });
}

/** warcit: a file seen twice becomes a revisit of the first with the file's own Content-Type and no block. */
export function warcitRevisit(url: string): Buffer {
  return writerRecord({
    type: 'revisit',
    url,
    id: recordId(),
    block: '',
    headers: [
      'WARC-Profile: http://netpreserve.org/warc/1.1/revisit/identical-payload-digest',
      'WARC-Refers-To-Target-URI: ' + url,
      'WARC-Refers-To-Date: 2019-08-15T01:02:00Z',
      'WARC-Payload-Digest: sha256:0a2b',
      'Content-Type: image/png',
    ],
  });
}

/** Heritrix 3's DNS lookup: a response record whose block is the lookup's time and answer. */
export function heritrixDns(host: string): Buffer {
  return writerRecord({
    type: 'response',
    url: `dns:${host}`,
    id: recordId(),
    headers: ['WARC-IP-Address: 8.8.8.8', 'Content-Type: text/dns'],
    block: `20190815010203\n${host}.\t300\tIN\tA\t93.184.216.34\n`,
  });
}

/** Heritrix 3's WHOIS lookup: a response record with the server's plain-text answer. */
export function heritrixWhois(domain: string): Buffer {
  return writerRecord({
    type: 'response',
    url: `whois://whois.iana.org/${domain}`,
    id: recordId(),
    headers: ['WARC-IP-Address: 192.0.32.59', 'Content-Type: text/plain'],
    block: `% IANA WHOIS server\n\ndomain:       ${domain.toUpperCase()}\n`,
  });
}

/** A warcinfo record, as every writer starts its file. */
export function warcinfo(lineEnd = '\r\n'): Buffer {
  return writerRecord({
    type: 'warcinfo',
    url: 'urn:x-test',
    id: recordId(),
    lineEnd,
    headers: ['Content-Type: application/warc-fields'],
    block: `software: test-writer/1.0${lineEnd}format: WARC File Format 1.0${lineEnd}`,
  });
}

/**
 * A plain WARC file whose every line end is CR CR LF, the HTTP headers in its blocks too (a
 * writer that wrote CR LF through a stream that turns LF into CR LF); Content-Length counts
 * the block as written.
 */
export function crCrLfFile(urls: readonly string[]): Buffer {
  const lineEnd = '\r\r\n';
  return Buffer.concat([
    warcinfo(lineEnd),
    ...urls.map((url) =>
      writerRecord({
        type: 'response',
        url,
        id: recordId(),
        lineEnd,
        headers: ['Content-Type: application/http; msgtype=response'],
        block: httpBlock('<html>hello</html>', '200 OK', lineEnd),
      }),
    ),
  ]);
}
