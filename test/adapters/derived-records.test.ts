// Proves that CommonCrawl's WET and WAT files become rows: on the shared fixtures, and for any
// text, URL, language list, date and status warcio writes (properties), each row's URL, date,
// languages, status, refers-to and content equal warcio's reading of the same record (a parser
// this project does not share), and each row's offset and length inflate to that very record;
// feeding a file in random chunks gives the same rows; files written by warcio's writer with
// broken JSON, envelopes without a URL, a warcinfo's envelope, a WET record without target URI
// and blocks past the kept-block limit give counted bad or skipped records beside the good rows,
// never an exception; a file of nothing but bad records fails; and the format is told by subset
// or name, so a WARC file's metadata records stay joined.
import { pathToFileURL } from 'node:url';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { WARCParser, type WARCRecord } from 'warcio';
import { describe, expect, it } from 'vitest';
import type { CaptureRow, ContentRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import {
  buildDerivedRow,
  type DerivedContent,
  type DerivedFormat,
  derivedFormatOf,
} from '../../adapters/warc/derived-records.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { warcLimits, type WarcLimits } from '../../adapters/warc/warc-limits.ts';
import type { ParsedRecord } from '../../adapters/warc/warc-record-parser.ts';
import { derivedFile, watEnvelope } from '../fixtures-gen/derived-warc.ts';

const fixtureFolder = new URL('commoncrawl/', pathToFileURL(sharedFixtureRoot));
const wetFixture = readFileSync(new URL('whirlwind.warc.wet.gz', fixtureFolder));
const watFixture = readFileSync(new URL('whirlwind.warc.wat.gz', fixtureFolder));
const warcFixture = readFileSync(new URL('whirlwind.warc.gz', fixtureFolder));

const crawl = 'CC-MAIN-2024-22';
const segment = '1715971057216.39';

function inputOf(subset: string, name: string): InputRef {
  const filename = `crawl-data/${crawl}/segments/${segment}/${subset}/${name}`;
  return { uri: `/mirror/${filename}`, filename, crawl, subset, segment };
}

interface Decoded {
  readonly rows: CaptureRow[];
  readonly contents: DerivedContent[];
  readonly byType: Record<string, number>;
  readonly bad: Record<string, number>;
  readonly skipped: Record<string, number>;
  readonly warnings: Record<string, number>;
  readonly failure: string | null;
}

function addCounts(into: Record<string, number>, from: Partial<Record<string, number>> = {}): void {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + (value ?? 0);
}

/** Decodes `bytes` in chunks of the given sizes (whole when none), with each row's content built from the records seen. */
function decode(
  bytes: Buffer,
  input: InputRef,
  options: { chunkSizes?: () => number; limits?: WarcLimits } = {},
): Decoded {
  const format = derivedFormatOf(input);
  const records: ParsedRecord[] = [];
  const decoder = new WarcJobDecoder(input, {
    observer: (record) => records.push(record),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const decoded: Decoded = { rows: [], contents: [], byType: {}, bad: {}, skipped: {}, warnings: {}, failure: null };
  let failure: string | null = null;
  let offset = 0;
  do {
    const end = Math.min(bytes.length, offset + (options.chunkSizes?.() ?? bytes.length));
    try {
      const chunk = decoder.push(new Uint8Array(bytes.subarray(offset, end)), end === bytes.length);
      decoded.rows.push(...chunk.rows);
      addCounts(decoded.byType, chunk.counters.byType);
      addCounts(decoded.bad, chunk.counters.badByReason);
      addCounts(decoded.skipped, chunk.counters.skippedByReason);
      addCounts(decoded.warnings, chunk.counters.warningByReason);
    } catch (error) {
      if (!(error instanceof FailureError)) throw error;
      failure = error.failure.reason;
      break;
    }
    offset = end;
  } while (offset < bytes.length);
  if (format !== null) {
    for (const record of records) {
      const result = buildDerivedRow(format, record, input);
      if (result.kind === 'row') decoded.contents.push(result.content);
    }
  }
  return { ...decoded, failure };
}

interface WarcioRecord {
  readonly type: string;
  readonly url: string | null;
  readonly date: string | null;
  readonly refersTo: string | null;
  readonly recordId: string | null;
  readonly language: string | null;
  readonly content: Uint8Array;
}

async function warcioRecords(bytes: Uint8Array): Promise<WarcioRecord[]> {
  async function* source(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  const records: WarcioRecord[] = [];
  for await (const record of WARCParser.iterRecords(source()) as AsyncIterable<WARCRecord>) {
    records.push({
      type: record.warcType ?? '',
      url: record.warcTargetURI ?? null,
      date: record.warcDate ?? null,
      refersTo: record.warcHeader('WARC-Refers-To') ?? null,
      recordId: record.warcHeader('WARC-Record-ID') ?? null,
      language: record.warcHeader('WARC-Identified-Content-Language') ?? null,
      content: await record.readFully(false),
    });
  }
  return records;
}

describe('WET fixture against warcio', () => {
  it('gives one row a conversion record, with the text, URL, date, languages and refers-to warcio reads', async () => {
    const expected = (await warcioRecords(wetFixture)).filter((record) => record.type === 'conversion');
    const decoded = decode(wetFixture, inputOf('wet', 'CC-MAIN-20240517233122-20240518023122-00000.warc.wet.gz'));
    expect(expected.length).toBeGreaterThan(0);
    expect(decoded.rows.length).toBe(expected.length);
    expect(decoded.bad).toEqual({});
    decoded.rows.forEach((row, index) => {
      const record = expected[index];
      const content = decoded.contents[index];
      if (record === undefined || content === undefined) throw new Error(`row ${index} has no warcio record`);
      expect(row.url).toBe(record.url);
      expect(row.fetch_time).toBe(Date.parse(record.date ?? ''));
      expect(row.content_languages).toBe(record.language);
      expect(row.fetch_status).toBeNull();
      expect(row.content_mime_type).toBe('text/plain');
      expect(row.subset).toBe('wet');
      expect(content.warcRefersTo).toBe(record.refersTo);
      expect(content.warcRecordId).toBe(record.recordId);
      expect(Buffer.from(content.content).equals(Buffer.from(record.content))).toBe(true);
      // The text is UTF-8, as WET promises: it decodes without a replacement.
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(content.content)).not.toThrow();
    });
  });

  it('refers each text to the response record of the WARC file it was made from', async () => {
    const responses = (await warcioRecords(warcFixture)).filter((record) => record.type === 'response');
    const decoded = decode(wetFixture, inputOf('wet', 'x.warc.wet.gz'));
    for (const [index, content] of decoded.contents.entries()) {
      const response = responses.find((record) => record.recordId === content.warcRefersTo);
      expect(response?.url).toBe(decoded.rows[index]?.url);
    }
  });
});

describe('WAT fixture against warcio', () => {
  it('gives one row a metadata record: the JSON envelope as content, the URL and date from the envelope', async () => {
    const expected = (await warcioRecords(watFixture)).filter((record) => record.type === 'metadata');
    const decoded = decode(watFixture, inputOf('wat', 'CC-MAIN-20240517233122-20240518023122-00000.warc.wat.gz'));
    expect(expected.length).toBeGreaterThan(0);
    expect(decoded.rows.length).toBe(expected.length);
    expect(decoded.bad).toEqual({});
    decoded.rows.forEach((row, index) => {
      const record = expected[index];
      const content = decoded.contents[index];
      if (record === undefined || content === undefined) throw new Error(`row ${index} has no warcio record`);
      const envelope = JSON.parse(new TextDecoder().decode(record.content)) as {
        Envelope: { 'WARC-Header-Metadata': { 'WARC-Target-URI': string; 'WARC-Date': string } };
      };
      const header = envelope.Envelope['WARC-Header-Metadata'];
      expect(row.url).toBe(header['WARC-Target-URI']);
      expect(row.fetch_time).toBe(Date.parse(header['WARC-Date']));
      expect(row.content_mime_type).toBe('application/json');
      expect(row.subset).toBe('wat');
      expect(content.warcRefersTo).toBe(record.refersTo);
      expect(Buffer.from(content.content).equals(Buffer.from(record.content))).toBe(true);
    });
  });
});

describe('offsets of derived rows', () => {
  it.each([
    ['wet', wetFixture, 'conversion'],
    ['wat', watFixture, 'metadata'],
  ] as const)('a %s row’s offset and length inflate to its own record', async (subset, bytes, type) => {
    const decoded = decode(bytes, inputOf(subset, `x.warc.${subset}.gz`));
    const expected = (await warcioRecords(bytes)).filter((record) => record.type === type);
    decoded.rows.forEach((row, index) => {
      const member = gunzipSync(
        bytes.subarray(row.warc_record_offset, row.warc_record_offset + row.warc_record_length),
      );
      const text = member.toString('latin1');
      expect(text.startsWith('WARC/1.0\r\n')).toBe(true);
      expect(text).toContain(`WARC-Record-ID: ${expected[index]?.recordId ?? 'none'}`);
    });
  });
});

describe('chunking', () => {
  it('gives the same rows and contents however the file is cut', () => {
    const files: [DerivedFormat, Buffer][] = [
      ['wet', wetFixture],
      ['wat', watFixture],
    ];
    for (const [subset, bytes] of files) {
      const input = inputOf(subset, `x.warc.${subset}.gz`);
      const whole = decode(bytes, input);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }), (sizes) => {
          let turn = 0;
          const cut = decode(bytes, input, { chunkSizes: () => sizes[turn++ % sizes.length] ?? 1 });
          expect(cut.rows).toEqual(whole.rows);
          expect(cut.contents).toEqual(whole.contents);
          expect(cut.bad).toEqual(whole.bad);
        }),
        { numRuns: 60 },
      );
    }
  });
});

describe('generated WET files', () => {
  it('reads every language and keeps the rows around a record without target URI, counted bad', async () => {
    const bytes = await derivedFile([
      {
        type: 'conversion',
        url: 'https://example.com/a',
        headers: { 'WARC-Identified-Content-Language': 'eng,fra', 'WARC-Refers-To': '<urn:uuid:a>' },
        block: 'hello\nbonjour',
      },
      { type: 'conversion', headers: { 'WARC-Refers-To': '<urn:uuid:b>' }, block: 'no target' },
      { type: 'conversion', url: 'https://example.org/c?q=1', block: 'ünïcode' },
    ]);
    const decoded = decode(bytes, inputOf('wet', 'g.warc.wet.gz'));
    expect(decoded.rows.map((row) => [row.url, row.content_languages, row.url_query])).toEqual([
      ['https://example.com/a', 'eng,fra', null],
      ['https://example.org/c?q=1', null, 'q=1'],
    ]);
    expect(decoded.contents.map((content) => new TextDecoder().decode(content.content))).toEqual([
      'hello\nbonjour',
      'ünïcode',
    ]);
    expect(decoded.contents.map((content) => content.warcRefersTo)).toEqual(['<urn:uuid:a>', null]);
    expect(decoded.bad).toEqual({ missing_warc_target_uri: 1 });
    expect(decoded.byType).toEqual({ warcinfo: 1, conversion: 3 });
  });

  it('cuts a text past the kept-block limit and says so in content_truncated', async () => {
    const text = 'x'.repeat(5_000);
    const bytes = await derivedFile([{ type: 'conversion', url: 'https://example.com/', block: text }]);
    const limits = { ...warcLimits, keptBlockBytesMax: 1_000 };
    const decoded = decode(bytes, inputOf('wet', 'g.warc.wet.gz'), { limits });
    expect(decoded.rows.map((row) => row.content_truncated)).toEqual(['length']);
    expect(decoded.contents[0]?.content.length).toBe(1_000);
    expect(decoded.bad).toEqual({});
  });
});

describe('generated WAT files', () => {
  const response = watEnvelope(
    {
      'WARC-Type': 'response',
      'WARC-Target-URI': 'https://example.com/page',
      'WARC-Date': '2024-05-18T01:58:11Z',
    },
    '404',
  );

  it('counts broken JSON and envelopes without a URL as bad, a warcinfo’s envelope as skipped, and keeps the rest', async () => {
    const bytes = await derivedFile([
      { type: 'metadata', url: 'CC-MAIN-x.warc.gz', block: watEnvelope({ 'WARC-Type': 'warcinfo' }) },
      { type: 'metadata', url: 'https://example.com/page', block: response },
      { type: 'metadata', url: 'https://example.com/broken', block: '{"Envelope": {"WARC-Header-Metadata": ' },
      { type: 'metadata', url: 'https://example.com/array', block: '[1, 2]' },
      { type: 'metadata', url: 'https://example.com/none', block: watEnvelope({ 'WARC-Type': 'request' }) },
      { type: 'metadata', url: 'https://example.com/bytes', block: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
    ]);
    const decoded = decode(bytes, inputOf('wat', 'g.warc.wat.gz'));
    expect(decoded.rows.map((row) => [row.url, row.fetch_status, row.fetch_time, row.content_mime_type])).toEqual([
      ['https://example.com/page', 404, Date.parse('2024-05-18T01:58:11Z'), 'application/json'],
    ]);
    expect(decoded.bad).toEqual({ wat_envelope_not_json: 3, wat_envelope_without_url: 1 });
    expect(decoded.skipped).toEqual({ describes_warcinfo: 1 });
    expect(decoded.failure).toBeNull();
  });

  it('counts an envelope past the kept-block limit as bad', async () => {
    const bytes = await derivedFile([
      { type: 'metadata', url: 'https://example.com/page', block: response },
      { type: 'metadata', url: 'https://example.com/long', block: `${response}${' '.repeat(2_000)}` },
    ]);
    const limits = { ...warcLimits, keptBlockBytesMax: response.length + 10 };
    const decoded = decode(bytes, inputOf('wat', 'g.warc.wat.gz'), { limits });
    expect(decoded.rows.map((row) => row.url)).toEqual(['https://example.com/page']);
    expect(decoded.bad).toEqual({ wat_envelope_too_long: 1 });
  });

  it('fails a file whose every envelope is bad, naming the damage', async () => {
    const bytes = await derivedFile([
      { type: 'metadata', url: 'https://example.com/a', block: 'not json' },
      { type: 'metadata', url: 'https://example.com/b', block: '{}' },
    ]);
    const decoded = decode(bytes, inputOf('wat', 'g.warc.wat.gz'));
    expect(decoded.failure).toMatch(/every record was bad \(wat_envelope_not_json 2\)/);
  });
});

describe('format of an input', () => {
  it('is told by CommonCrawl subset, then by a .warc.wet or .warc.wat name', () => {
    const local = (name: string): InputRef => ({
      uri: `/data/${name}`,
      filename: name,
      crawl: null,
      subset: null,
      segment: null,
    });
    expect(derivedFormatOf(inputOf('wet', 'x.warc.gz'))).toBe('wet');
    expect(derivedFormatOf(inputOf('wat', 'x.warc.gz'))).toBe('wat');
    expect(derivedFormatOf(inputOf('warc', 'x.warc.gz'))).toBeNull();
    expect(derivedFormatOf(local('x.warc.wet.gz'))).toBe('wet');
    expect(derivedFormatOf(local('X.WARC.WAT'))).toBe('wat');
    expect(derivedFormatOf(local('x.warc.gz'))).toBeNull();
    expect(derivedFormatOf(local('wet.warc.gz'))).toBeNull();
  });

  it('leaves a WARC file’s metadata records joined to their captures, not rows of their own', () => {
    const decoded = decode(warcFixture, inputOf('warc', 'x.warc.gz'));
    expect(decoded.byType.metadata).toBeGreaterThan(0);
    expect(decoded.rows.every((row) => row.content_mime_type !== 'application/json')).toBe(true);
    expect(decoded.rows.length).toBe(decoded.byType.response ?? 0);
  });
});

describe('generated records, any text, URL, languages and status', () => {
  const languageArbitrary = fc.array(fc.constantFrom('eng', 'fra', 'spa', 'deu', 'zho'), { maxLength: 4 });
  const urlArbitrary = fc.webUrl({ withQueryParameters: true });

  it('a WET row holds the text, URL and languages warcio reads from the same record', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ url: urlArbitrary, text: fc.string({ unit: 'grapheme' }), languages: languageArbitrary }),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        async (pages) => {
          const bytes = await derivedFile(
            pages.map((page) => ({
              type: 'conversion' as const,
              url: page.url,
              headers:
                page.languages.length === 0 ? {} : { 'WARC-Identified-Content-Language': page.languages.join(',') },
              block: page.text,
            })),
          );
          const expected = (await warcioRecords(bytes)).filter((record) => record.type === 'conversion');
          const decoded = decode(bytes, inputOf('wet', 'g.warc.wet.gz'));
          expect(decoded.rows.map((row) => row.url)).toEqual(expected.map((record) => record.url));
          expect(decoded.contents.map((content) => Buffer.from(content.content).toString('hex'))).toEqual(
            expected.map((record) => Buffer.from(record.content).toString('hex')),
          );
          expect(decoded.rows.map((row) => row.content_languages)).toEqual(
            pages.map((page) => (page.languages.length === 0 ? null : [...new Set(page.languages)].join(','))),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a WAT row holds the envelope warcio reads, with its URL, date and status', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            url: urlArbitrary,
            time: fc.integer({ min: 0, max: 4_102_444_800 }).map((seconds) => seconds * 1000),
            status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (captures) => {
          const bytes = await derivedFile(
            captures.map((capture) => ({
              type: 'metadata' as const,
              url: capture.url,
              block: watEnvelope(
                {
                  'WARC-Type': capture.status === undefined ? 'request' : 'response',
                  'WARC-Target-URI': capture.url,
                  'WARC-Date': new Date(capture.time).toISOString().replace('.000Z', 'Z'),
                },
                capture.status === undefined ? undefined : String(capture.status),
              ),
            })),
          );
          const expected = (await warcioRecords(bytes)).filter((record) => record.type === 'metadata');
          const decoded = decode(bytes, inputOf('wat', 'g.warc.wat.gz'));
          expect(decoded.rows.map((row) => [row.url, row.fetch_time, row.fetch_status])).toEqual(
            captures.map((capture) => [capture.url, capture.time, capture.status ?? null]),
          );
          expect(decoded.contents.map((content) => Buffer.from(content.content).toString('hex'))).toEqual(
            expected.map((record) => Buffer.from(record.content).toString('hex')),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the content schema on WET and WAT files', () => {
  /** Every row of the file decoded with `--schema content` and the given cut, as the worker does. */
  function contentRows(bytes: Buffer, input: InputRef, contentBytesMax: number): ContentRow[] {
    const decoder = new WarcJobDecoder(input, { output: { schema: 'content', contentBytesMax } });
    const rows = [...decoder.push(new Uint8Array(bytes), true).rows];
    return rows as ContentRow[];
  }

  for (const [format, bytes, type] of [
    ['wet', wetFixture, 'conversion'],
    ['wat', watFixture, 'metadata'],
  ] as const) {
    it(`writes each ${format.toUpperCase()} record's block as content, with its record id and refers-to as warcio reads them`, async () => {
      const expected = (await warcioRecords(gunzipSync(bytes))).filter(
        (record) => record.type === type && (format === 'wet' || record.url !== null),
      );
      const rows = contentRows(bytes, inputOf(format, `whirlwind.warc.${format}.gz`), 4096 * 1024);
      const byId = new Map(expected.map((record) => [record.recordId, record]));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const record = byId.get(row.warc_record_id);
        expect(record, `${row.warc_record_id} is a ${type} record warcio reads`).toBeDefined();
        expect(Buffer.from(row.content).equals(Buffer.from(record?.content ?? []))).toBe(true);
        expect(row.content_length).toBe(record?.content.length);
        expect(row.warc_refers_to).toBe(record?.refersTo);
        expect(row.http_headers).toBeNull();
        expect(row.content_encoding_error).toBeNull();
      }
    });
  }

  it('cuts a text past --content-max-kb and says length, keeping its whole length', () => {
    const rows = contentRows(wetFixture, inputOf('wet', 'whirlwind.warc.wet.gz'), 100);
    const long = rows.filter((row) => (row.content_length ?? 0) > 100);
    expect(long.length).toBeGreaterThan(0);
    for (const row of long) {
      expect(row.content).toHaveLength(100);
      expect(row.content_truncated).toBe('length');
    }
  });
});
