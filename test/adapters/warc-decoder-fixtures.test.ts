// Proves that the WARC decoder reads every shared fixture (real files written by CommonCrawl,
// resiliparse, warcio, warcio.js and jwarc) as their README counts them, record types and all;
// that the offsets and lengths it reports are gzip member boundaries (checked independently
// by inflating each range with zlib's gunzip, and against offsets read with Python's zlib);
// that rows match expected values field by field (the CommonCrawl files' joined charset and
// languages included, revisits, redirects, chunked HTTP); that broken files give counted bad
// records, not exceptions; and that feeding a file whole or cut into random small chunks gives
// the very same rows and counts.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { urlColumns } from '../../adapters/warc/url-columns.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import type { ParsedRecord } from '../../adapters/warc/warc-record-parser.ts';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';
import { countRowRecords } from '../support/warcio-record-count.ts';
import { sharedFixtureUrl } from '../support/shared-fixtures.ts';

const fixtureRoot = sharedFixtureUrl;

function fixture(name: string): Buffer {
  return readFileSync(new URL(name, fixtureRoot));
}

const input: InputRef = {
  uri: 'fixture',
  filename: 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/fixture.warc.gz',
  crawl: 'CC-MAIN-2024-22',
  subset: 'warc',
  segment: '1715971057216.39',
};

interface Decoded {
  rows: CaptureRow[];
  rowBytes: number;
  byType: Record<string, number>;
  badByReason: Record<string, number>;
  warningByReason: Record<string, number>;
  records: ParsedRecord[];
  /** The reason the job failed with, or null. */
  failure: string | null;
}

/** mulberry32, so a failing cut can be replayed from its seed. */
function randomSource(seed: number): () => number {
  const random = seededRandom(seed);
  return () => nextUnit(random);
}

/** Decodes `bytes` in chunks of the given sizes (the last chunk takes the rest). */
function decode(bytes: Buffer, chunkSizes: (() => number) | null = null): Decoded {
  const records: ParsedRecord[] = [];
  const decoder = new WarcJobDecoder(input, { observer: (record) => records.push(record) });
  const decoded: Decoded = {
    rows: [],
    rowBytes: 0,
    byType: {},
    badByReason: {},
    warningByReason: {},
    records,
    failure: null,
  };
  let offset = 0;
  do {
    const size = chunkSizes === null ? bytes.length : Math.max(1, chunkSizes());
    const end = Math.min(bytes.length, offset + size);
    // A copy, as a fetched chunk would be: the decoder must not rely on the bytes around it.
    const chunk = new Uint8Array(bytes.subarray(offset, end));
    let result;
    try {
      result = decoder.push(chunk, end === bytes.length);
    } catch (error) {
      if (!(error instanceof FailureError)) throw error;
      decoded.failure = error.failure.reason;
      return decoded;
    }
    decoded.rows.push(...result.rows);
    expectDecoderCodes(result.counters);
    decoded.rowBytes += result.rowBytes;
    add(decoded.byType, result.counters.byType);
    add(decoded.badByReason, result.counters.badByReason);
    add(decoded.warningByReason, result.counters.warningByReason ?? {});
    offset = end;
  } while (offset < bytes.length);
  return decoded;
}

function add(into: Record<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + value;
}

interface FixtureExpectation {
  readonly byType: Record<string, number>;
  readonly badByReason: Record<string, number>;
  readonly rows: number;
  /** One gzip member a record: offsets must be the members'. */
  readonly memberPerRecord?: boolean;
  /** Rows lost to damage and no other record read: the job fails with this reason. */
  readonly failure?: string;
  /** Rows kept with something mended, by reason. */
  readonly warningByReason?: Record<string, number>;
}

/** Counts from the fixtures' README; bad records as this decoder names them. */
const expectations: Record<string, FixtureExpectation> = {
  'commoncrawl/whirlwind.warc.gz': {
    byType: { warcinfo: 1, request: 1, response: 1, metadata: 1 },
    badByReason: {},
    rows: 1,
    memberPerRecord: true,
  },
  'commoncrawl/whirlwind.warc.wat.gz': {
    byType: { warcinfo: 1, metadata: 1 },
    badByReason: {},
    rows: 0,
    memberPerRecord: true,
  },
  'commoncrawl/whirlwind.warc.wet.gz': {
    byType: { warcinfo: 1, conversion: 1 },
    badByReason: {},
    rows: 0,
    memberPerRecord: true,
  },
  'resiliparse/cc-2020-34-excerpt.warc.gz': {
    byType: { warcinfo: 1, request: 17, response: 16, metadata: 16 },
    badByReason: {},
    rows: 16,
    memberPerRecord: true,
  },
  // Its only record is cut off: nothing of it is exported, and the job fails instead of committing no row.
  'resiliparse/clipped.warc.gz': {
    byType: { response: 1 },
    badByReason: { truncated_gzip_member: 1 },
    rows: 0,
    failure: 'fixture: no row, every record was bad (truncated_gzip_member 1)',
  },
  'warcio/example.warc.gz': {
    byType: { warcinfo: 2, request: 2, response: 1, revisit: 1 },
    badByReason: {},
    rows: 2,
    memberPerRecord: true,
  },
  'warcio/post-test.warc.gz': { byType: { request: 3, response: 3 }, badByReason: {}, rows: 3, memberPerRecord: true },
  'warcio/example-iana.org-chunked.warc': {
    byType: { warcinfo: 1, request: 1, response: 1 },
    badByReason: {},
    rows: 1,
  },
  'warcio/example-digest.warc': { byType: { request: 4 }, badByReason: {}, rows: 0 },
  // The response's Content-Length is 2 bytes short and the request follows: read as warcio reads it, with a warning.
  'warcio/example-trunc.warc': {
    byType: { warcinfo: 2, response: 1, request: 1 },
    badByReason: {},
    rows: 1,
    warningByReason: { content_length_short_of_block: 1 },
  },
  'warcio/example-wrong-chunks.warc.gz': { byType: { response: 1, request: 1 }, badByReason: {}, rows: 1 },
  'warcio/example-bad-non-chunked.warc.gz': {
    byType: { warcinfo: 2, request: 2, response: 1, revisit: 1 },
    badByReason: {},
    rows: 2,
  },
  'warcio-js/redirect.warc': { byType: { request: 1, response: 1 }, badByReason: {}, rows: 1 },
  // The response's Content-Length is 1 byte short; two requests and a revisit follow, as warcio reads them.
  'warcio-js/example-bad-length.warc': {
    byType: { warcinfo: 2, response: 1, request: 2, revisit: 1 },
    badByReason: {},
    rows: 2,
    warningByReason: { content_length_short_of_block: 1 },
  },
  'warcio-js/example-url-agnostic-revisit.warc.gz': {
    byType: { warcinfo: 1, revisit: 1 },
    badByReason: {},
    rows: 1,
    memberPerRecord: true,
  },
  'jwarc/gzip_extra_sl.warc.gz': { byType: { warcinfo: 1 }, badByReason: {}, rows: 0, memberPerRecord: true },
  'jwarc/fold.warc': { byType: { metadata: 1 }, badByReason: {}, rows: 0 },
};

describe('WARC decoder on the shared fixtures', () => {
  for (const [name, expected] of Object.entries(expectations)) {
    it(`${name}: counts by type and bad records by reason`, () => {
      const decoded = decode(fixture(name));
      expect(decoded.failure).toBe(expected.failure ?? null);
      // A failed job's counts go with its failure: the last chunk's are not handed out.
      if (expected.failure !== undefined) return;
      expect(decoded.byType).toEqual(expected.byType);
      expect(decoded.badByReason).toEqual(expected.badByReason);
      expect(decoded.warningByReason).toEqual(expected.warningByReason ?? {});
      expect(decoded.rows).toHaveLength(expected.rows);
    });

    it(`${name}: the same rows and counts whole and in random small chunks`, () => {
      const bytes = fixture(name);
      const whole = decode(bytes);
      for (const seed of [1, 2, 3]) {
        const random = randomSource(seed * 7919 + bytes.length);
        const largest = seed === 1 ? 8 : seed === 2 ? 300 : 5000;
        const chunked = decode(bytes, () => 1 + Math.floor(random() * largest));
        expect(chunked.rows, `seed ${seed}`).toEqual(whole.rows);
        expect(chunked.byType, `seed ${seed}`).toEqual(whole.byType);
        expect(chunked.badByReason, `seed ${seed}`).toEqual(whole.badByReason);
        expect(chunked.warningByReason, `seed ${seed}`).toEqual(whole.warningByReason);
        expect(chunked.failure, `seed ${seed}`).toEqual(whole.failure);
        expect(chunked.records.map(rangeOf), `seed ${seed}`).toEqual(whole.records.map(rangeOf));
      }
    });

    if (expected.failure === undefined) {
      it(`${name}: as many rows as warcio reads records of a row type`, async () => {
        const bytes = fixture(name);
        expect(decode(bytes).rows).toHaveLength(await countRowRecords(bytes));
      });
    }

    if (expected.memberPerRecord === true) {
      it(`${name}: each record's offset and length are its gzip member`, () => {
        const bytes = fixture(name);
        const { records } = decode(bytes);
        let next = 0;
        for (const record of records) {
          expect(record.offset).toBe(next);
          const inflated = zlib.gunzipSync(bytes.subarray(record.offset, record.offset + record.length));
          expect(inflated.subarray(0, 5).toString('latin1')).toBe('WARC/');
          expect(inflated.toString('latin1')).toContain(`WARC-Type: ${record.type}`);
          next = record.offset + record.length;
        }
        expect(next).toBe(bytes.length);
      });
    }
  }

  it("reports the member offsets that Python's zlib finds in whirlwind.warc.gz", () => {
    const ranges = decode(fixture('commoncrawl/whirlwind.warc.gz')).records.map(rangeOf);
    expect(ranges).toEqual(['warcinfo 0+516', 'request 516+507', 'response 1023+17351', 'metadata 18374+483']);
  });

  it('gives records in members that do not follow records the range of members that holds them', () => {
    const bytes = fixture('warcio/example-wrong-chunks.warc.gz');
    const { records } = decode(bytes);
    expect(records.map(rangeOf)).toEqual(['response 0+1575', 'request 1130+445']);
    for (const record of records) {
      const inflated = zlib.gunzipSync(bytes.subarray(record.offset, record.offset + record.length)).toString('latin1');
      expect(inflated).toContain(`WARC-Type: ${record.type}`);
    }
  });

  it('throws an input fault for an empty file and for a file with no WARC record', () => {
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('<html>not a WARC file</html>\n'.repeat(100)),
      zlib.gzipSync(Buffer.from('hello\n')),
    ]) {
      const decoder = new WarcJobDecoder(input);
      let thrown: unknown = null;
      try {
        decoder.push(bytes, true);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(FailureError);
      expect((thrown as FailureError).failure.fault).toBe('input');
      expect((thrown as FailureError).failure.retryable).toBe(false);
    }
  });
});

function rangeOf(record: ParsedRecord): string {
  return `${record.type} ${record.offset}+${record.length}`;
}

/** The columns this decoder fills itself; URL columns come from `urlColumns`. */
function expectRow(row: CaptureRow | undefined, expected: Partial<CaptureRow>): void {
  expect(row).toBeDefined();
  const { url } = row!;
  expect(row).toEqual({
    ...urlColumns(url),
    url,
    fetch_redirect: null,
    content_truncated: null,
    content_charset: null,
    content_languages: null,
    content_mime_detected: null,
    warc_filename: input.filename,
    warc_segment: input.segment,
    crawl: input.crawl,
    subset: input.subset,
    ...expected,
  });
}

describe('WARC decoder rows, field by field', () => {
  it('whirlwind.warc.gz: the response joined with its metadata record', () => {
    const { rows, rowBytes } = decode(fixture('commoncrawl/whirlwind.warc.gz'));
    expect(rows).toHaveLength(1);
    expectRow(rows[0], {
      url: 'https://an.wikipedia.org/wiki/Escopete',
      fetch_time: Date.UTC(2024, 4, 18, 1, 58, 10),
      fetch_status: 200,
      content_digest: 'RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU',
      content_mime_type: 'text/html',
      content_mime_detected: 'text/html',
      content_charset: 'UTF-8',
      content_languages: 'spa',
      warc_record_offset: 1023,
      warc_record_length: 17351,
    });
    expect(rows[0]!.url_surtkey).toBe('org,wikipedia,an)/wiki/escopete');
    expect(rowBytes).toBeGreaterThan(320);
  });

  it('cc-2020-34-excerpt.warc.gz: all 16 responses with their charset and languages', () => {
    const { rows } = decode(fixture('resiliparse/cc-2020-34-excerpt.warc.gz'));
    expect(rows).toHaveLength(ccExcerptRows.length);
    ccExcerptRows.forEach(([url, offset, length, date, mime, detected, digest, charset, languages], index) => {
      expectRow(rows[index], {
        url,
        warc_record_offset: offset,
        warc_record_length: length,
        fetch_time: Date.parse(date),
        fetch_status: 200,
        content_mime_type: mime,
        content_mime_detected: detected,
        content_digest: digest,
        content_charset: charset,
        content_languages: languages,
      });
    });
  });

  it('example.warc.gz: a response and a revisit that carries its status line', () => {
    const { rows } = decode(fixture('warcio/example.warc.gz'));
    const common = {
      url: 'http://example.com/',
      fetch_status: 200,
      content_mime_type: 'text/html',
      content_digest: 'G7HRM7BGOKSKMSXZAHMUQTTV53QOFSMK',
    };
    expectRow(rows[0], {
      ...common,
      fetch_time: Date.UTC(2017, 2, 6, 4, 2, 6),
      warc_record_offset: 784,
      warc_record_length: 1228,
    });
    expectRow(rows[1], {
      ...common,
      fetch_time: Date.UTC(2017, 2, 6, 4, 3, 48),
      warc_record_offset: 2621,
      warc_record_length: 586,
    });
  });

  it('example-url-agnostic-revisit.warc.gz: a truncated revisit without a metadata record', () => {
    const { rows } = decode(fixture('warcio-js/example-url-agnostic-revisit.warc.gz'));
    expectRow(rows[0], {
      url: 'http://test@example.com/',
      fetch_time: Date.UTC(2013, 6, 29, 19, 51, 51),
      fetch_status: 200,
      content_mime_type: 'text/html',
      content_digest: 'B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A',
      content_truncated: 'length',
      warc_record_offset: 355,
      warc_record_length: 591,
    });
  });

  it('redirect.warc: a 301 resolved against the URL, fractional seconds, plain WARC offsets', () => {
    const bytes = fixture('warcio-js/redirect.warc');
    const { rows } = decode(bytes);
    const start = bytes.indexOf('WARC/1.1');
    expectRow(rows[0], {
      url: 'https://www.iana.org/domains/example',
      fetch_time: Date.UTC(2020, 3, 12, 18, 42, 50, 696),
      fetch_status: 301,
      fetch_redirect: 'https://www.iana.org/domains/reserved',
      content_mime_type: 'text/html',
      content_digest: '7NANJL7HGR4ESG7QW23AI5YXNPIJECAN',
      warc_record_offset: start,
      warc_record_length: bytes.indexOf('WARC/1.1', start + 1) - start,
    });
  });

  it('example-iana.org-chunked.warc: a chunked HTTP response', () => {
    const bytes = fixture('warcio/example-iana.org-chunked.warc');
    const { rows } = decode(bytes);
    const start = bytes.indexOf('WARC/1.0\r\nWARC-Type: response');
    expectRow(rows[0], {
      url: 'http://www.iana.org/',
      fetch_time: Date.UTC(2017, 2, 6, 16, 54, 9),
      fetch_status: 200,
      content_mime_type: 'text/html',
      content_digest: 'b1f949b4920c773fd9c863479ae9a788b948c7ad',
      warc_record_offset: start,
      warc_record_length: bytes.indexOf('WARC/1.0', start + 1) - start,
    });
  });

  it('post-test.warc.gz: three POST responses', () => {
    const { rows } = decode(fixture('warcio/post-test.warc.gz'));
    expect(
      rows.map((row) => [
        row.url,
        row.fetch_status,
        row.content_mime_type,
        row.warc_record_offset,
        row.warc_record_length,
      ]),
    ).toEqual([
      ['http://httpbin.org/post', 200, 'application/json', 0, 720],
      ['http://httpbin.org/post', 200, 'application/json', 1196, 723],
      ['http://httpbin.org/post?foo=bar', 200, 'application/json', 2395, 723],
    ]);
  });
});

/** url, offset, length, WARC-Date, mime, detected mime, digest, charset, languages: read with Python's zlib. */
const ccExcerptRows: [string, number, number, string, string, string, string, string, string][] = [
  [
    'http://003338.cn/l41/481397.html',
    940,
    10905,
    '2020-08-08T17:27:41Z',
    'text/html',
    'text/html',
    'CUJAG44UJDP64LTXHBIFKPXD54UHBP4S',
    'UTF-8',
    'zho',
  ],
  [
    'http://01spb.ru/company/',
    12685,
    18808,
    '2020-08-08T18:31:12Z',
    'text/html',
    'text/html',
    'UBFVOGMHNJKFC2COMXU7TMQVARGCZZDK',
    'windows-1251',
    'rus',
  ],
  [
    'http://035.psb556.com/24/i/u_1090813/article.html',
    32353,
    5306,
    '2020-08-08T18:39:41Z',
    'text/html',
    'application/xhtml+xml',
    '5EKRH3GPNQ57XDR2FNU3M6TSPOI4WDEC',
    'UTF-8',
    'zho',
  ],
  [
    'http://037426.cn/',
    38503,
    3483,
    '2020-08-08T18:34:24Z',
    'text/html',
    'application/xhtml+xml',
    'UXOX2CAV63OTMUDCXYOLFBEEZUGQIKAB',
    'GB2312',
    'eng,zho',
  ],
  [
    'http://041696.com/15477/list_6_4.html',
    42891,
    4537,
    '2020-08-08T17:31:34Z',
    'text/html',
    'application/xhtml+xml',
    'RSY726FKY2C5IDAXFT3NDA4HYDYHZXHJ',
    'GBK',
    'zho',
  ],
  [
    'http://044545.com/topic/20200207/015849.html',
    48321,
    11906,
    '2020-08-08T18:03:24Z',
    'text/html',
    'text/html',
    'U7QPPRCEFHXJ3GSPDAMHXIFU7A4A3BLU',
    'UTF-8',
    'zho',
  ],
  [
    'http://0513mt.com/index.php/art/detail/id/8884.html',
    61090,
    8264,
    '2020-08-08T18:07:31Z',
    'text/html',
    'text/html',
    'FJOU3VMESEIRZXOLCTNC26PZ2EJDDOWZ',
    'UTF-8',
    'zho',
  ],
  [
    'http://05925.net/index.php/vod/type/id/53.html',
    70222,
    4459,
    '2020-08-08T17:41:52Z',
    'text/html',
    'application/xhtml+xml',
    'ZAPTTDAWHY6QC6VBCUQ7UMLLP7L3P5RH',
    'UTF-8',
    'zho,jpn',
  ],
  [
    'http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html',
    75624,
    10695,
    '2020-08-08T17:11:45Z',
    'text/html',
    'application/xhtml+xml',
    'OORM2ODTTIVERXYAZASPBZZEOZRMHVWP',
    'ISO-8859-1',
    'deu,eng,dan',
  ],
  [
    'http://06.live-radsport.ch/tippspiel/stats_140_petzi.html',
    87298,
    10860,
    '2020-08-08T17:55:23Z',
    'text/html',
    'application/xhtml+xml',
    'BCKKXWGR5XY6HMSB6EFEW26ADY4DJ4F2',
    'ISO-8859-1',
    'deu,eng',
  ],
  [
    'http://0615235.com/02mjqjo%7Bibotij2.btq?odmbtt=106&tdmbtt=121',
    99077,
    6634,
    '2020-08-08T18:16:00Z',
    'text/html',
    'text/html',
    'CC5CS6J7LXTBCTROAFMMOJCO6TLINZKG',
    'UTF-8',
    'zho',
  ],
  [
    'http://0755krk.com/76104/list_4_1.html',
    106585,
    3333,
    '2020-08-08T17:40:13Z',
    'text/html',
    'application/xhtml+xml',
    'I527YGREQVLZNDXBFBCE45TP57KVIZVD',
    'GBK',
    'zho,kha,eng',
  ],
  [
    'http://0760.jxtdw.com/area/sanxiang/',
    110823,
    8716,
    '2020-08-08T17:22:01Z',
    'text/html',
    'application/xhtml+xml',
    'YI6LTFZMG25MBSQKXOGRJG57SI3Z62FH',
    'GB2312',
    'zho,jpn',
  ],
  [
    'http://077678u.info/erxiaoshujinguang/list_6_2.html',
    120465,
    4182,
    '2020-08-08T18:26:03Z',
    'text/html',
    'application/xhtml+xml',
    '6IA256LH2D5FQ3NFAOODVXQRQOMIDKCY',
    'GBK',
    'zho',
  ],
  [
    'http://0900-hovenier.nl/gelderland/oosterbeek/',
    125552,
    5831,
    '2020-08-08T18:02:09Z',
    'text/html',
    'text/html',
    'AG6ZHIM4D2EBJ73SLIQAAGSACKXF3ZN2',
    'UTF-8',
    'nld',
  ],
  [
    'http://096355.com/video/11073.html?11073-0-2',
    132240,
    2801,
    '2020-08-08T17:21:07Z',
    'text/html',
    'application/xhtml+xml',
    '7XL4SNIWKASCC6VP5P3DOGG24OOH2YAH',
    'GB2312',
    'zho',
  ],
];
