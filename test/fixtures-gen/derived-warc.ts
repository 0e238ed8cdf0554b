// Writes WET and WAT files as CommonCrawl lays them out (a warcinfo, then one gzip member a
// conversion or metadata record) with warcio's writer, not the project's: the decoder's tests
// then read records neither written nor parsed by the code they check. Large seeded files for
// the benchmark are written directly (warcio's writer takes minutes for 100 MB). WAT envelopes follow the
// field paths of CommonCrawl's fixture (`Envelope.WARC-Header-Metadata`, `Payload-Metadata`).
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import zlib from 'node:zlib';
import { WARCRecord, WARCSerializer } from 'warcio';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';

export interface DerivedRecord {
  readonly type: 'conversion' | 'metadata';
  /** The record's own WARC-Target-URI; none when undefined. */
  readonly url?: string;
  readonly date?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly block: Uint8Array | string;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function serialized(record: DerivedRecord): Promise<Uint8Array> {
  const block = typeof record.block === 'string' ? new TextEncoder().encode(record.block) : record.block;
  const created = WARCRecord.create(
    {
      type: record.type,
      date: record.date ?? '2024-05-18T01:58:10Z',
      warcVersion: 'WARC/1.0',
      ...(record.url === undefined ? {} : { url: record.url }),
      warcHeaders: {
        'Content-Type': record.type === 'conversion' ? 'text/plain' : 'application/json',
        ...record.headers,
      },
    },
    once(block),
  );
  return WARCSerializer.serialize(created, { gzip: true });
}

/** A gzip member a record, after a warcinfo, as CommonCrawl's WET and WAT files are. */
export async function derivedFile(records: readonly DerivedRecord[]): Promise<Buffer> {
  const info = WARCRecord.createWARCInfo(
    { filename: 'generated.warc.wet.gz', warcVersion: 'WARC/1.0' },
    { software: 'test' },
  );
  const members = [await WARCSerializer.serialize(info, { gzip: true })];
  for (const record of records) members.push(await serialized(record));
  return Buffer.concat(members);
}

/** A WAT envelope describing a record of the WARC file: its WARC header, and an HTTP status for a response. */
export function watEnvelope(header: Readonly<Record<string, string>>, status?: string): string {
  const payload =
    status === undefined
      ? { 'Actual-Content-Type': 'application/http; msgtype=request' }
      : {
          'Actual-Content-Type': 'application/http; msgtype=response',
          'HTTP-Response-Metadata': { 'Response-Message': { Version: 'HTTP/1.1', Status: status, Reason: 'OK' } },
        };
  return JSON.stringify({
    Container: { Filename: 'CC-MAIN-x.warc.gz', Compressed: true, Offset: '0' },
    Envelope: { Format: 'WARC/1.0', 'WARC-Header-Metadata': header, 'Payload-Metadata': payload },
  });
}

/** mulberry32 through the core's seeded generator, as a function of no argument. */
function randomSource(seed: number): () => number {
  const random = seededRandom(seed);
  return () => nextUnit(random);
}

function member(header: readonly string[], block: Buffer): Buffer {
  const head = Buffer.from(`WARC/1.0\r\n${header.join('\r\n')}\r\nContent-Length: ${block.length}\r\n\r\n`, 'latin1');
  return zlib.gzipSync(Buffer.concat([head, block, Buffer.from('\r\n\r\n', 'latin1')]));
}

function words(random: () => number, bytes: number): string {
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  let text = '';
  while (text.length < bytes) {
    const length = 2 + Math.floor(random() * 9);
    for (let letter = 0; letter < length; letter++) text += letters[Math.floor(random() ** 1.6 * letters.length)];
    text += random() < 0.08 ? '\n' : ' ';
  }
  return text;
}

/**
 * Writes a WET- or WAT-like file of at least `bytes` compressed bytes for the benchmark, as
 * CommonCrawl lays them out: one gzip member a record; a WET text of 1-20 KB of words a page;
 * a WAT file's three envelopes a capture (request, response with 10-200 links, metadata).
 * Seeded, so every run writes the same bytes; an existing file of that size is kept.
 */
export function writeDerivedLikeFile(path: string, format: 'wet' | 'wat', bytes: number, seed = 20240518): void {
  if (existsSync(path) && statSync(path).size >= bytes) return;
  mkdirSync(dirname(path), { recursive: true });
  const random = randomSource(seed);
  const temporary = `${path}.partial`;
  const file = openSync(temporary, 'w');
  let written = 0;
  try {
    for (let page = 0; written < bytes; page++) {
      const url = `https://site${page % 997}.example.com/p/${page}`;
      const date = `2024-05-18T01:${String(page % 60).padStart(2, '0')}:10Z`;
      const records = format === 'wet' ? [wetRecord(random, url, date, page)] : watRecords(random, url, date, page);
      for (const record of records) written += writeSync(file, record);
    }
  } finally {
    closeSync(file);
  }
  renameSync(temporary, path);
}

function wetRecord(random: () => number, url: string, date: string, page: number): Buffer {
  const header = [
    'WARC-Type: conversion',
    `WARC-Target-URI: ${url}`,
    `WARC-Date: ${date}`,
    `WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-${String(page).padStart(12, '0')}>`,
    `WARC-Refers-To: <urn:uuid:10000000-0000-4000-8000-${String(page).padStart(12, '0')}>`,
    'WARC-Identified-Content-Language: eng',
    'Content-Type: text/plain',
  ];
  return member(header, Buffer.from(words(random, 1_000 + Math.floor(random() * 19_000)), 'utf8'));
}

function watRecords(random: () => number, url: string, date: string, page: number): Buffer[] {
  const links = Array.from({ length: 10 + Math.floor(random() * 190) }, (_, index) => ({
    path: 'A@/href',
    url: `/p/${Math.floor(random() * 100_000)}/${index}`,
    text: words(random, 8 + Math.floor(random() * 24)).trim(),
  }));
  const kinds: [string, string | undefined, object][] = [
    ['request', undefined, {}],
    ['response', '200', { 'HTML-Metadata': { Head: { Title: words(random, 40).trim() }, Links: links } }],
    ['metadata', undefined, {}],
  ];
  return kinds.map(([type, status, extra], index) => {
    const envelope = JSON.parse(
      watEnvelope({ 'WARC-Type': type, 'WARC-Target-URI': url, 'WARC-Date': date }, status),
    ) as {
      Envelope: { 'Payload-Metadata': Record<string, unknown> };
    };
    Object.assign(envelope.Envelope['Payload-Metadata'], extra);
    const header = [
      'WARC-Type: metadata',
      `WARC-Target-URI: ${url}`,
      'WARC-Date: 2024-05-31T01:17:49Z',
      `WARC-Record-ID: <urn:uuid:20000000-0000-4000-8000-${String(page * 3 + index).padStart(12, '0')}>`,
      'Content-Type: application/json',
    ];
    return member(header, Buffer.from(JSON.stringify(envelope), 'utf8'));
  });
}
