/**
 * The `--where` compiler on its own: SQL's three-valued logic (Kleene's tables, a row kept only
 * when true), LIKE with its wildcards and escapes as DuckDB reads them, IN with NULLs, TIMESTAMP
 * literals to the microsecond, text in UTF-8 byte order, and the user's mistakes, each a
 * `WhereError` naming the line and column. The same semantics against DuckDB itself, on real
 * rows and generated conditions, are in filter-duckdb.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { compileWhere, compareText } from '../../adapters/filter/where-compiler.ts';
import { parseWhere, WhereError } from '../../adapters/filter/where-parser.ts';

const base: CaptureRow = {
  url_surtkey: 'org,example)/',
  url: 'https://example.org/',
  url_host_name: 'example.org',
  url_host_tld: 'org',
  url_host_2nd_last_part: 'example',
  url_host_3rd_last_part: null,
  url_host_4th_last_part: null,
  url_host_5th_last_part: null,
  url_host_registry_suffix: 'org',
  url_host_registered_domain: 'example.org',
  url_host_private_suffix: 'org',
  url_host_private_domain: 'example.org',
  url_host_name_reversed: 'org.example',
  url_protocol: 'https',
  url_port: null,
  url_path: '/',
  url_query: null,
  fetch_time: Date.UTC(2024, 0, 1),
  fetch_status: 200,
  fetch_redirect: null,
  content_digest: null,
  content_mime_type: 'text/html',
  content_mime_detected: null,
  content_charset: null,
  content_languages: null,
  content_truncated: null,
  warc_filename: 'a.warc.gz',
  warc_record_offset: 0,
  warc_record_length: 1,
  warc_segment: null,
  crawl: null,
  subset: null,
};

async function keeps(where: string, row: Partial<CaptureRow> = {}): Promise<boolean> {
  return compileWhere(await parseWhere(where))({ ...base, ...row });
}

async function mistake(where: string): Promise<WhereError> {
  const error = await parseWhere(where).then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof WhereError)) throw new Error(`${where}: expected a WhereError, got ${String(error)}`);
  return error;
}

describe('three-valued logic', () => {
  // Kleene's logic: false < unknown < true; AND is the minimum, OR the maximum, NOT the mirror.
  const truths = [
    ['FALSE', 0],
    ['NULL', 1],
    ['TRUE', 2],
  ] as const;
  const sql = (rank: number): boolean => rank === 2;

  it('AND, OR and NOT follow the truth tables, and only true keeps the row', async () => {
    for (const [a, rankA] of truths) {
      expect(await keeps(`NOT ${a}`)).toBe(sql(2 - rankA));
      for (const [b, rankB] of truths) {
        expect(await keeps(`${a} AND ${b}`), `${a} AND ${b}`).toBe(sql(Math.min(rankA, rankB)));
        expect(await keeps(`${a} OR ${b}`), `${a} OR ${b}`).toBe(sql(Math.max(rankA, rankB)));
        expect(await keeps(`(${a} AND ${b}) IS NULL`)).toBe(Math.min(rankA, rankB) === 1);
      }
    }
  });

  it('a comparison with a null is unknown, whichever way it is negated', async () => {
    for (const where of ['url_port = 80', 'url_port <> 80', 'NOT url_port = 80', 'url = NULL', 'NULL = NULL'])
      expect(await keeps(where), where).toBe(false);
    expect(await keeps('url_port IS NULL')).toBe(true);
    expect(await keeps('(url_port = 80) IS NULL')).toBe(true);
    expect(await keeps('url_port = 80 OR TRUE')).toBe(true);
    expect(await keeps('url_port = 80 AND FALSE OR fetch_status = 200')).toBe(true);
  });
});

describe('IN', () => {
  it('a NULL in the list makes a miss unknown, not false', async () => {
    expect(await keeps('fetch_status IN (200, NULL)')).toBe(true);
    expect(await keeps('fetch_status IN (404, NULL)')).toBe(false);
    expect(await keeps('NOT fetch_status IN (404, NULL)')).toBe(false);
    expect(await keeps('fetch_status NOT IN (404, NULL)')).toBe(false);
    expect(await keeps('fetch_status NOT IN (404, 500)')).toBe(true);
    expect(await keeps('(fetch_status NOT IN (404, NULL)) IS NULL')).toBe(true);
    expect(await keeps('url_port NOT IN (80)')).toBe(false);
  });

  it('casts quoted numbers to the column type, and compares text exactly', async () => {
    expect(await keeps("fetch_status IN ('200', 301)")).toBe(true);
    expect(await keeps("fetch_status IN ('199.5')")).toBe(true);
    expect(await keeps("content_mime_type IN ('TEXT/HTML', 'text/htm')")).toBe(false);
  });
});

describe('LIKE', () => {
  const like = (value: string, pattern: string) => keeps(`url_path LIKE ${pattern}`, { url_path: value });

  it('% is any run, _ one character, both across line ends and past the BMP', async () => {
    expect(await like('/a\nb', "'/a_b'")).toBe(true);
    expect(await like('/a\nb\nc', "'/a%c'")).toBe(true);
    expect(await like('/😀', "'/_'")).toBe(true);
    expect(await like('/😀😀', "'/_'")).toBe(false);
    expect(await like('/', "'/%'")).toBe(true);
    expect(await like('/A', "'/a'")).toBe(false);
  });

  it('has no escape character unless ESCAPE names one', async () => {
    expect(await like('/a\\_b', "'/a\\_b'")).toBe(true);
    expect(await like('/a_b', "'/a\\_b'")).toBe(false);
    expect(await like('/100%', "'/100!%' ESCAPE '!'")).toBe(true);
    expect(await like('/1000', "'/100!%' ESCAPE '!'")).toBe(false);
    expect(await like('/a!b', "'/a!!b' ESCAPE '!'")).toBe(true);
    expect(await like('/a_b', "'/a__b' ESCAPE '_'")).toBe(true);
    expect(await like('/aXb', "'/a_b' ESCAPE ''")).toBe(true);
  });

  it('reads regular expression characters as themselves', async () => {
    expect(await like('/a.b(c)*', "'/a.b(c)*'")).toBe(true);
    expect(await like('/aXb(c)', "'/a.b(c)%'")).toBe(false);
    expect(await like('/[x]^$|+?{1}', "'%[x]^$|+?{1}'")).toBe(true);
  });

  it('of a null is unknown; NOT LIKE too', async () => {
    expect(await keeps("url_query LIKE '%'")).toBe(false);
    expect(await keeps("url_query NOT LIKE '%'")).toBe(false);
    expect(await keeps("lower(url_query) NOT LIKE 'x'")).toBe(false);
  });
});

describe('TIMESTAMP', () => {
  const at = Date.UTC(2024, 1, 29, 12, 30, 15, 250);
  const time = (where: string) => keeps(where, { fetch_time: at });

  it('compares fetch_time with literals to the microsecond', async () => {
    expect(await time("fetch_time = TIMESTAMP '2024-02-29 12:30:15.25'")).toBe(true);
    expect(await time("fetch_time = TIMESTAMP '2024-02-29T12:30:15.250'")).toBe(true);
    expect(await time("fetch_time < TIMESTAMP '2024-02-29 12:30:15.250001'")).toBe(true);
    expect(await time("fetch_time > TIMESTAMP '2024-02-29 12:30:15.2499999'")).toBe(true);
    expect(await time("fetch_time >= '2024-02-29'")).toBe(true);
    expect(await time("fetch_time < TIMESTAMP '2024-02-28 24:00:00'")).toBe(false);
    expect(await time("fetch_time BETWEEN '2024-02-29 12:30' AND TIMESTAMP '2024-02-29 12:31:00Z'")).toBe(true);
    expect(await keeps("fetch_time >= TIMESTAMP '1970-01-01'", { fetch_time: null })).toBe(false);
  });

  it('refuses what is no instant, or an offset DuckDB would drop', async () => {
    for (const literal of ['2023-02-29', '2024-13-01', '2024-01-01 25:00', '20240101', '2024-01-01 00:00:00+02'])
      expect((await mistake(`fetch_time > TIMESTAMP '${literal}'`)).message).toContain(literal);
    expect((await mistake('fetch_time > 5')).message).toMatch(/cannot compare fetch_time/);
  });
});

describe('text order', () => {
  it('is UTF-8 byte order, as DuckDB compares VARCHARs', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareText(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2_000 },
    );
    expect(compareText('\u{FFFD}', '😀')).toBeLessThan(0);
  });
});

describe('long conditions', () => {
  it('takes 250 equalities ORed (499 operators) and an IN list of 100,000 values, then parses on', async () => {
    const chain = Array.from({ length: 250 }, (_, index) => `fetch_status = ${index}`).join(' OR ');
    expect(await keeps(chain, { fetch_status: 249 })).toBe(true);
    expect(await keeps(chain, { fetch_status: 250 })).toBe(false);
    const list = Array.from({ length: 100_000 }, (_, index) => index + 1_000).join(', ');
    expect(await keeps(`warc_record_offset IN (${list})`, { warc_record_offset: 100_999 })).toBe(true);
    expect(await keeps(`warc_record_offset NOT IN (${list})`, { warc_record_offset: 999 })).toBe(true);
    // Operators inside quotes are text, not counted.
    const urls = Array.from({ length: 600 }, (_, index) => `'https://a.org/?x=${index}&y<z'`).join(', ');
    expect(await keeps(`url IN (${urls}) OR fetch_status = 200`)).toBe(true);
  });
});

describe("the user's mistakes", () => {
  it('name what to fix and where', async () => {
    const cases: [string, RegExp, number, number][] = [
      ['nope = 1', /unknown column "nope"/, 1, 1],
      ["fetch_status = 200 AND\n  content = 'x'", /content is a payload column/, 2, 3],
      ['content_length > 10', /content_length is a payload column/, 1, 1],
      ['url = 5', /cannot compare url \(a string\) with 5 \(a number\)/, 1, 1],
      ["fetch_status LIKE '2%'", /LIKE applies to text columns/, 1, 1],
      ["fetch_status = '100000'", /outside -32768\.\.32767/, 1, 16],
      ['fetch_status = 200 AND', /syntax error/, 1, 23],
      ["url = 'x' ORDER BY url", /nothing may follow/, 1, 10],
      ["url = 'x'; DROP TABLE t", /second statement/, 1, 10],
      ["url ILIKE 'x'", /ILIKE is not supported/, 1, 1],
      ['url', /is a column, not a condition/, 1, 1],
      ["t.url = 'x'", /without a table/, 1, 1],
      ["url LIKE 'a!' ESCAPE '!'", /ends with its escape character/, 1, 10],
      ['length(url) > 3', /lower\(\) and upper\(\)/, 1, 1],
      ['', /empty/, 1, 1],
      [
        Array.from({ length: 600 }, (_, index) => `fetch_status = ${index}`).join(' OR '),
        /write a long OR of values as IN/,
        1,
        1,
      ],
      [`${'('.repeat(60)}url = 'x'${')'.repeat(60)}`, /recursion limit/, 1, 130],
      [`url = ${Array.from({ length: 600 }, () => "'a'").join(' || ')}`, /more than 500 operators/, 1, 1],
    ];
    for (const [where, says, line, column] of cases) {
      const error = await mistake(where);
      expect(error.message, where).toMatch(says);
      expect(error.message, where).toMatch(/^--where: /);
      expect(error.message, where).not.toContain('\n');
      expect([error.position.line, error.position.column], where).toEqual([line, column]);
    }
  });
});
