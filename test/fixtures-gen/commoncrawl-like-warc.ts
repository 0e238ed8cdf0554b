// Writes CommonCrawl-like `.warc.gz` files for the decode benchmark: request, response and
// metadata records per page, one gzip member per record, HTML bodies of 2 KB to 100 KB that
// compress about as well as real pages (4x to 6x). Seeded, so every run writes the same bytes.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import zlib from 'node:zlib';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';

/** mulberry32: small, seeded, good enough to draw words. */
function randomSource(start: number): () => number {
  const random = seededRandom(start);
  return () => nextUnit(random);
}

const letters = 'etaoinshrdlucmfwypvbgkjqxz';

/** A vocabulary of 1,500 made-up words, drawn with a Zipf-like skew as in real text. */
function vocabulary(random: () => number): string[] {
  const words: string[] = [];
  for (let index = 0; index < 1500; index++) {
    const length = 2 + Math.floor(random() * 9);
    let word = '';
    for (let letter = 0; letter < length; letter++) word += letters[Math.floor(random() ** 1.6 * letters.length)];
    words.push(word);
  }
  return words;
}

class PageWriter {
  private readonly random: () => number;
  private readonly words: string[];
  private page = 0;

  constructor(
    seed: number,
    private readonly bodyScale = 1,
  ) {
    this.random = randomSource(seed);
    this.words = vocabulary(this.random);
  }

  private word(): string {
    return this.words[Math.floor(this.random() ** 5 * this.words.length)]!;
  }

  private sentence(count: number): string {
    const parts: string[] = [];
    for (let index = 0; index < count; index++) parts.push(this.word());
    return parts.join(' ');
  }

  private html(url: string, bytes: number): string {
    const parts = [
      `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${this.sentence(6)}</title>\n`,
      `<link rel="stylesheet" href="/static/site.css">\n<link rel="canonical" href="${url}">\n</head>\n<body>\n<div class="content">\n`,
    ];
    let size = parts[0]!.length + parts[1]!.length;
    while (size < bytes) {
      const draw = this.random();
      const part =
        draw < 0.45
          ? `<li class="menu-item menu-item-type-post"><a href="/${this.word()}/${this.word()}.html" class="nav-link">${this.sentence(2)}</a></li>\n`
          : draw < 0.6
            ? `<div class="widget widget_text"><div class="textwidget"><span class="meta">${this.sentence(3)}</span></div></div>\n`
            : `<p class="text">${this.sentence(8 + Math.floor(this.random() * 30))}.</p>\n`;
      parts.push(part);
      size += part.length;
    }
    parts.push('</div>\n</body>\n</html>\n');
    return parts.join('');
  }

  /** The three gzip members of one page: request, response, metadata. */
  nextPage(): Buffer[] {
    const page = this.page++;
    const host = `www.${this.word()}${page % 9000}.${['com', 'org', 'net', 'de', 'co.uk', 'fr'][page % 6]}`;
    const url = `https://${host}/${this.word()}/${this.word()}-${page}.html`;
    const date = new Date(Date.UTC(2024, 4, 18, 0, 0, 0) + page * 997).toISOString().replace(/\.\d+Z$/, 'Z');
    const bodyBytes = Math.floor(2000 * this.bodyScale * 50 ** this.random());
    const body = Buffer.from(this.html(url, bodyBytes));
    const responseId = `<urn:uuid:${uuid(page, 2)}>`;
    const request = Buffer.from(
      `GET /${page} HTTP/1.1\r\nUser-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\nAccept: text/html\r\nHost: ${host}\r\n\r\n`,
    );
    const httpHeader = Buffer.from(
      `HTTP/1.1 200 OK\r\nDate: Sat, 18 May 2024 01:58:11 GMT\r\nContent-Type: text/html; charset=UTF-8\r\nX-Crawler-Content-Length: ${body.length}\r\nServer: nginx\r\n\r\n`,
    );
    const digest = createHash('sha1').update(body).digest('hex').toUpperCase().slice(0, 32);
    const metadata = Buffer.from(
      `fetchTimeMs: ${100 + (page % 900)}\r\ncharset-detected: UTF-8\r\nlanguages-cld2: {"reliable":true,"text-bytes":${body.length >> 2},"languages":[{"code":"en","code-iso-639-3":"eng","text-covered":0.98,"score":900.0,"name":"ENGLISH"}]}\r\n`,
    );
    return [
      member(
        warcRecord(
          'request',
          url,
          date,
          `<urn:uuid:${uuid(page, 1)}>`,
          'application/http; msgtype=request',
          [request],
          '',
        ),
      ),
      member(
        warcRecord(
          'response',
          url,
          date,
          responseId,
          'application/http; msgtype=response',
          [httpHeader, body],
          `WARC-Payload-Digest: sha1:${digest}\r\nWARC-Identified-Payload-Type: text/html\r\n`,
        ),
      ),
      member(
        warcRecord(
          'metadata',
          url,
          date,
          `<urn:uuid:${uuid(page, 3)}>`,
          'application/warc-fields',
          [metadata],
          `WARC-Concurrent-To: ${responseId}\r\n`,
        ),
      ),
    ];
  }
}

function uuid(page: number, kind: number): string {
  const hex = (page * 4 + kind).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

function warcRecord(
  type: string,
  url: string,
  date: string,
  id: string,
  contentType: string,
  block: Buffer[],
  extra: string,
): Buffer {
  const length = block.reduce((sum, part) => sum + part.length, 0);
  const header =
    `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Date: ${date}\r\nWARC-Record-ID: ${id}\r\nContent-Length: ${length}\r\n` +
    `Content-Type: ${contentType}\r\nWARC-Target-URI: ${url}\r\n${extra}\r\n`;
  return Buffer.concat([Buffer.from(header), ...block, Buffer.from('\r\n\r\n')]);
}

function member(record: Buffer): Buffer {
  return zlib.gzipSync(record, { level: 6 });
}

/**
 * Writes a file of at least `bytes` compressed bytes, unless it is already there (the
 * benchmark caches it under `.bench/`); returns the number of pages written, or null if cached.
 * `bodyScale` multiplies every HTML body (2 KB to 100 KB at 1): 7 gives about 40 KB compressed
 * a capture, CommonCrawl's density (CC-MAIN-2024-22: ~2,600 captures per 100 MB).
 */
export function writeCommonCrawlLikeWarc(path: string, bytes: number, seed = 20240518, bodyScale = 1): number | null {
  if (existsSync(path) && statSync(path).size >= bytes) return null;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.partial`;
  const file = openSync(temporary, 'w');
  const writer = new PageWriter(seed, bodyScale);
  let written = 0;
  let pages = 0;
  try {
    while (written < bytes) {
      for (const part of writer.nextPage()) written += writeSync(file, part);
      pages++;
    }
  } finally {
    closeSync(file);
  }
  renameSync(temporary, path);
  return pages;
}

/** Writes `source` repeated until the result reaches `bytes`: members stay whole, so it is valid. */
export function writeRepeated(source: string, path: string, bytes: number): void {
  if (existsSync(path) && statSync(path).size >= bytes) return;
  const temporary = `${path}.partial`;
  const output = openSync(temporary, 'w');
  const buffer = Buffer.alloc(16 * 1024 * 1024);
  let written = 0;
  try {
    while (written < bytes) {
      const input = openSync(source, 'r');
      for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer))
        written += writeSync(output, buffer, 0, read);
      closeSync(input);
    }
  } finally {
    closeSync(output);
  }
  renameSync(temporary, path);
}
