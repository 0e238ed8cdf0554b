/**
 * A `.warc.gz` whose responses carry a stored `.warc.gz` record as their body: a gzip member
 * that inflates to `WARC/`, verbatim in the file (the outer members are stored, not deflated),
 * so a scan for record boundaries is fooled by it. One member a record, seeded by position.
 */
import { gzipSync } from 'node:zlib';

function record(type: string, uri: string, block: Buffer): Buffer {
  const head =
    `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Date: 2024-05-18T00:00:00Z\r\n` +
    `WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-${String(uri.length * 7919 + block.length).padStart(12, '0')}>\r\n` +
    `WARC-Target-URI: ${uri}\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: ${block.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), block, Buffer.from('\r\n\r\n')]);
}

/** `records` responses, each holding a stored inner record after a filler of varying length. */
export function falseBoundaryWarc(records: number): Buffer {
  const members: Buffer[] = [];
  for (let index = 0; index < records; index++) {
    const innerHttp = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nx');
    const inner = gzipSync(record('response', `https://inner.example/${index}`, innerHttp), { level: 0 });
    const filler = Buffer.from('x'.repeat((index * 37) % 500));
    const body = Buffer.concat([filler, inner, Buffer.from('tail')]);
    const httpHead = `HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: ${body.length}\r\n\r\n`;
    const http = Buffer.concat([Buffer.from(httpHead), body]);
    // Stored, not deflated: the inner member's bytes appear verbatim in the file.
    members.push(gzipSync(record('response', `https://outer.example/${index}`, http), { level: 0 }));
  }
  return Buffer.concat(members);
}
