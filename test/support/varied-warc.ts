/**
 * A plain `.warc` of captures whose index columns vary in the ways a row filter must get right:
 * statuses and MIME types, null columns (a revisit without HTTP headers has no status, a date
 * that does not parse leaves fetch_time null), ports, query strings, hosts of several registered
 * domains, text past ASCII (é, €, U+FFFD, an emoji: UTF-8 order is not UTF-16's), and `%`, `_`
 * and `!` in paths, which LIKE patterns must escape. Seeded, so a failing case can be replayed.
 */
import { nextUnit, seededRandom, type SeededRandom } from '../../core/seeded-random.ts';

const hosts = [
  'www.example.com',
  'example.com',
  'blog.example.co.uk',
  'news.example.org',
  'EXAMPLE.net',
  'www.iana.org',
  'café.example.fr',
  'shop.example.de:8080',
  'sub.deep.example.com',
];
const paths = [
  '/',
  '/index.html',
  '/a_b/c%20d',
  '/100%/off',
  '/wiki/Café',
  '/€/price',
  '/\u{FFFD}x',
  '/😀',
  '/x!y',
  '/A/B',
];
const queries = ['', '?q=1', '?a=b&c=d', '?Q=%'];
const statuses = [200, 200, 200, 301, 302, 404, 500, 206];
const mimes = ['text/html', 'text/html', 'application/pdf', 'text/plain', 'image/png', 'application/json'];

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[Math.floor(nextUnit(random) * items.length)]!;
}

function record(type: string, headers: Record<string, string>, block: string): string {
  const lines = Object.entries({ 'WARC-Type': type, ...headers, 'Content-Length': String(Buffer.byteLength(block)) })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `WARC/1.0\r\n${lines}\r\n${block}\r\n\r\n`;
}

function date(random: SeededRandom, index: number): string {
  if (index % 17 === 5) return 'not a date';
  const ms =
    Date.UTC(2019 + Math.floor(nextUnit(random) * 6), Math.floor(nextUnit(random) * 12), 1) + index * 3_600_123;
  const text = new Date(ms).toISOString();
  return index % 3 === 0 ? text : text.replace(/\.\d+Z$/, 'Z');
}

/** `records` captures, about one in nine a revisit without HTTP headers. */
export function variedWarc(records: number, seed: number): string {
  const random = seededRandom(seed);
  const parts: string[] = [];
  for (let index = 0; index < records; index++) {
    const url = `${index % 5 === 0 ? 'http' : 'https'}://${pick(random, hosts)}${pick(random, paths)}${pick(random, queries)}`;
    const headers = {
      'WARC-Target-URI': url,
      'WARC-Date': date(random, index),
      'WARC-Record-ID': `<urn:uuid:00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}>`,
    };
    if (index % 9 === 4) {
      parts.push(
        record(
          'revisit',
          { ...headers, 'WARC-Profile': 'http://netpreserve.org/warc/1.1/revisit/identical-payload-digest' },
          '',
        ),
      );
      continue;
    }
    const status = pick(random, statuses);
    const body = `<p>${index}</p>`;
    const location = status === 301 || status === 302 ? `Location: /moved/${index}\r\n` : '';
    const http = `HTTP/1.1 ${status} X\r\nContent-Type: ${pick(random, mimes)}\r\n${location}Content-Length: ${body.length}\r\n\r\n${body}`;
    parts.push(
      record(
        'response',
        { ...headers, 'Content-Type': 'application/http; msgtype=response', 'WARC-Payload-Digest': `sha1:D${index}` },
        http,
      ),
    );
  }
  return parts.join('');
}
