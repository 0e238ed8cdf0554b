/**
 * A `.warc.gz` of many small response records (one gzip member each), seeded. Its Parquet
 * output is large for its size (about 0.7 output bytes per input byte), so a test can make outputs
 * that go to S3 as real multipart uploads (two parts or more) from inputs of a few tens of MB.
 * URLs and digests are drawn at random so that Parquet cannot squeeze the rows together.
 */
import { gzipSync } from 'node:zlib';
import { nextUnit, seededRandom, type SeededRandom } from '../../core/seeded-random.ts';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Long random paths make wide rows: fewer rows (less encoding work) for the same output size. */
const pathLength = 240;

/** Five characters from each draw (36^5 < 2^32), so long paths stay cheap to make. */
function randomWord(random: SeededRandom, length: number): string {
  const characters: string[] = [];
  while (characters.length < length) {
    let draw = Math.floor(nextUnit(random) * 36 ** 5);
    for (let digit = 0; digit < 5 && characters.length < length; digit++) {
      characters.push(alphabet[draw % 36]!);
      draw = Math.floor(draw / 36);
    }
  }
  return characters.join('');
}

function responseRecord(random: SeededRandom, index: number): Buffer {
  const host = `${randomWord(random, 8)}.${['com', 'org', 'net', 'de'][index % 4]}`;
  const url = `https://www.${host}/${randomWord(random, 10)}/${randomWord(random, pathLength)}-${index}.html`;
  const body = `<html><title>${randomWord(random, 16)}</title><p>${randomWord(random, 40)}</p></html>\n`;
  const http = `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const date = new Date(Date.UTC(2024, 4, 18) + index * 1_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const digest = randomWord(random, 32).toUpperCase();
  const header =
    `WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: ${date}\r\nWARC-Record-ID: <urn:uuid:${randomWord(random, 8)}-0000-4000-8000-${index.toString(16).padStart(12, '0')}>\r\n` +
    `Content-Length: ${Buffer.byteLength(http)}\r\nContent-Type: application/http; msgtype=response\r\nWARC-Target-URI: ${url}\r\n` +
    `WARC-Payload-Digest: sha1:${digest}\r\nWARC-Identified-Payload-Type: text/html\r\n\r\n`;
  return gzipSync(Buffer.from(`${header}${http}\r\n\r\n`), { level: 1 });
}

/** `records` response records, each its own gzip member. */
export function denseWarc(records: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const members: Buffer[] = [];
  for (let index = 0; index < records; index++) members.push(responseRecord(random, index));
  return new Uint8Array(Buffer.concat(members));
}
