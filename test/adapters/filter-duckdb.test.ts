/**
 * `--where` and `--domains` against DuckDB, the reference for their semantics. The fixtures
 * (real WARC files of several writers, and a seeded WARC whose index columns vary in the ways a
 * filter must get right: nulls, ports, non-ASCII text, `%` and `_` in URLs) are exported once,
 * unfiltered. Then, for conditions fast-check builds over the real columns with values drawn
 * from that export, the rows our compiled condition keeps are exactly the rows DuckDB's
 * `SELECT … FROM read_parquet(…) WHERE condition` keeps; a few of them, and a domains list,
 * run end to end through the binary, whose filtered export must hold exactly DuckDB's rows.
 * The column types the condition is typed with are DuckDB's own reading of the export.
 */
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureColumns, type CaptureRow } from '../../core/capture-row.ts';
import { indexColumnTypes } from '../../adapters/filter/index-column-types.ts';
import { compileWhere } from '../../adapters/filter/where-compiler.ts';
import { parseWhere } from '../../adapters/filter/where-parser.ts';
import { variedWarc } from '../support/varied-warc.ts';
import { localWorkerOptions, runWorkerCommandSync } from '../support/worker-process.ts';

const fixtures = sharedFixtureRoot;
const root = mkdtempSync(join(tmpdir(), 'filter-duckdb-'));
const inputs = join(root, 'in');
const unfiltered = join(root, 'unfiltered');

/** Fixture files that export (the others are damaged on purpose and fail or give no row). */
const fixtureFiles = [
  'commoncrawl/whirlwind.warc.gz',
  'warcio/example.warc.gz',
  'warcio/example-digest.warc',
  'warcio/example-iana.org-chunked.warc',
  'resiliparse/cc-2020-34-excerpt.warc.gz',
  'warcio-js/redirect.warc',
  'warcio-js/example-url-agnostic-revisit.warc.gz',
  'jwarc/fold.warc',
];

let connection: DuckDBConnection;
let rows: (CaptureRow & { key: string })[] = [];

function runWorker(output: string, extra: readonly string[], threads = 1): string {
  const result = runWorkerCommandSync(
    ['--input', inputs, '--output', output, '--metrics', 'none', '--threads', String(threads), ...extra],
    localWorkerOptions(root, {}, root),
    120_000,
  );
  if (result.code !== 0) throw new Error(`worker exited ${result.code}: ${result.stderr}`);
  return result.stderr;
}

const keyExpression = `warc_filename || ':' || warc_record_offset::VARCHAR`;

async function keysWhere(folder: string, where: string): Promise<string[]> {
  const reader = await connection.runAndReadAll(
    `SELECT ${keyExpression} AS key FROM read_parquet('${folder}/**/*.parquet') WHERE ${where} ORDER BY key`,
  );
  return reader.getRowObjectsJS().map((row) => String(row.key));
}

beforeAll(async () => {
  mkdirSync(inputs, { recursive: true });
  for (const file of fixtureFiles) copyFileSync(join(fixtures, file), join(inputs, file.replaceAll('/', '-')));
  writeFileSync(join(inputs, 'varied.warc'), variedWarc(240, 15));
  runWorker(unfiltered, []);
  connection = await (await DuckDBInstance.create(':memory:')).connect();
  const reader = await connection.runAndReadAll(
    `SELECT * REPLACE (epoch_ms(fetch_time)::DOUBLE AS fetch_time, warc_record_offset::DOUBLE AS warc_record_offset,
       warc_record_length::DOUBLE AS warc_record_length), ${keyExpression} AS key
     FROM read_parquet('${unfiltered}/**/*.parquet')`,
  );
  rows = reader.getRowObjectsJS() as unknown as (CaptureRow & { key: string })[];
}, 180_000);

afterAll(() => {
  connection?.closeSync();
  rmSync(root, { recursive: true, force: true });
});

// ---- Conditions over the real columns, values drawn from the export ----

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const textColumns = [...indexColumnTypes].filter(([, type]) => type === 'VARCHAR').map(([column]) => column);
const numberColumns = ['url_port', 'fetch_status', 'warc_record_offset', 'warc_record_length'] as const;
const operators = ['=', '<>', '<', '<=', '>', '>='] as const;
const oddText = ['', 'a', 'Z', 'é', '\u{FFFD}', '😀', '€', 'http', 'https://z', 'text/html', '200'];

function valuesOf(column: string): (string | number)[] {
  const values = new Set<string | number>();
  for (const row of rows) {
    const value = row[column as keyof CaptureRow];
    if (value !== null) values.add(value);
  }
  return [...values];
}

/** The family of conditions, built once the export's values are known. */
function conditions(): fc.Arbitrary<string> {
  const nonAsciiValues = (column: string): string[] => {
    const values = (valuesOf(column) as string[]).filter((value) =>
      [...value].some((character) => (character.codePointAt(0) ?? 0) >= 0xe000),
    );
    return values.length > 0 ? values : ['é'];
  };
  /**
   * A real value cut at a character past U+E000 and ended with one on the other side of the
   * surrogates (U+FFFD for an emoji, an emoji for U+FFFD): UTF-16 and UTF-8 order disagree there.
   */
  const acrossSurrogates = (column: string) =>
    fc.constantFrom(...nonAsciiValues(column)).map((value) => {
      const characters = [...value];
      const at = characters.findIndex((character) => (character.codePointAt(0) ?? 0) >= 0xe000);
      const other = at < 0 ? '\u{FFFD}' : (characters[at]!.codePointAt(0) ?? 0) > 0xffff ? '\u{FFFD}' : '😀';
      return characters.slice(0, Math.max(at, 0)).join('') + other;
    });
  const orderedColumns = textColumns.filter((column) => nonAsciiValues(column)[0] !== 'é');
  const orderAtom = fc
    .constantFrom(...orderedColumns, 'url')
    .chain((column) =>
      fc
        .tuple(fc.constantFrom('<', '<=', '>', '>='), acrossSurrogates(column))
        .map(([op, value]) => `${column} ${op} ${quote(value)}`),
    );
  const textValue = (column: string) =>
    fc.oneof(
      fc.constantFrom(...(valuesOf(column) as string[]), 'none'),
      fc
        .tuple(fc.constantFrom(...(valuesOf(column) as string[]), 'x'), fc.nat())
        .map(([value, cut]) => [...value].slice(0, cut % ([...value].length + 1)).join('')),
      fc.constantFrom(...oddText),
    );

  const textOperand = (column: string) =>
    fc.constantFrom(column, `lower(${column})`, `upper(${column})`, `LOWER("${column}")`);

  /** A LIKE pattern made from a real value: characters kept, turned into `_`, or runs into `%`. */
  const likePattern = (column: string) =>
    fc
      .tuple(
        fc.constantFrom(...(valuesOf(column) as string[]), 'a%b'),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 24, maxLength: 24 }),
        fc.boolean(),
      )
      .map(([value, choices, escaped]) => {
        let pattern = '';
        const characters = [...value];
        for (let index = 0; index < characters.length; index++) {
          const choice = choices[index % choices.length]!;
          const character = characters[index]!;
          if (choice === 0) pattern += '_';
          else if (choice === 1) {
            pattern += '%';
            index += choices[(index + 1) % choices.length]! % 4;
          } else if ('%_!'.includes(character)) pattern += escaped ? `!${character}` : character === '!' ? '!' : '_';
          else pattern += character;
        }
        return `${quote(pattern)}${escaped ? " ESCAPE '!'" : ''}`;
      });

  const textAtom = fc.constantFrom(...textColumns).chain((column) =>
    fc.oneof(
      fc
        .tuple(textOperand(column), fc.constantFrom(...operators), textValue(column))
        .map(([left, op, value]) => `${left} ${op} ${quote(value)}`),
      fc
        .tuple(fc.constantFrom(...operators), fc.constantFrom(...textColumns))
        .map(([op, other]) => `${column} ${op} ${other}`),
      fc
        .tuple(textOperand(column), fc.boolean(), likePattern(column))
        .map(([left, not, pattern]) => `${left} ${not ? 'NOT LIKE' : 'LIKE'} ${pattern}`),
      fc
        .tuple(
          fc.boolean(),
          fc.array(fc.oneof(textValue(column).map(quote), fc.constant('NULL')), { minLength: 1, maxLength: 4 }),
        )
        .map(([not, list]) => `${column} ${not ? 'NOT IN' : 'IN'} (${list.join(', ')})`),
    ),
  );

  const numberValue = (column: string) =>
    fc
      .tuple(fc.constantFrom(...(valuesOf(column) as number[]), 0, 80), fc.constantFrom(0, 0, 1, -1, 0.5, -0.4))
      .map(([value, offset]) => value + offset);

  const numberAtom = fc.constantFrom(...numberColumns).chain((column) =>
    fc.oneof(
      fc
        .tuple(fc.constantFrom(...operators), numberValue(column), fc.boolean())
        .map(([op, value, swapped]) => (swapped ? `${value} ${op} ${column}` : `${column} ${op} ${value}`)),
      fc
        .tuple(fc.constantFrom(...operators), numberValue(column), fc.constantFrom('', ' ', '.4', '.5', 'e0'))
        .map(([op, value, dress]) => `${column} ${op} '${Math.trunc(value)}${dress}'`),
      fc
        .tuple(fc.boolean(), numberValue(column), numberValue(column))
        .map(([not, low, high]) => `${column} ${not ? 'NOT BETWEEN' : 'BETWEEN'} ${low} AND ${high}`),
      fc
        .tuple(
          fc.boolean(),
          fc.array(fc.oneof(numberValue(column).map(String), fc.constant('NULL')), { minLength: 1, maxLength: 4 }),
        )
        .map(([not, list]) => `${column} ${not ? 'NOT IN' : 'IN'} (${list.join(', ')})`),
      fc.constantFrom(...operators).map((op) => `url_port ${op} fetch_status`),
    ),
  );

  /** fetch_time's values as TIMESTAMP literals, moved by up to a day, to the millisecond or the microsecond. */
  const timestampAtom = fc
    .tuple(
      fc.constantFrom(...(valuesOf('fetch_time') as number[])),
      fc.constantFrom(0, 0, 1, -1, 0.001, 86_400_000, -3_600_000),
      fc.constantFrom(...operators),
      fc.constantFrom('TIMESTAMP ', ''),
      fc.boolean(),
    )
    .map(([ms, offset, op, typed, dateOnly]) => {
      const at = ms + offset;
      const iso = new Date(Math.floor(at)).toISOString();
      const micros = Math.round((at - Math.floor(at)) * 1_000);
      const text = dateOnly
        ? iso.slice(0, 10)
        : `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, '0')}`;
      return `fetch_time ${op} ${typed}${quote(text)}`;
    });

  const nullAtom = fc.oneof(
    fc
      .tuple(fc.constantFrom(...captureColumns), fc.boolean())
      .map(([column, not]) => `${column} IS ${not ? 'NOT ' : ''}NULL`),
    fc.constantFrom('TRUE', 'FALSE', 'NULL', 'url = NULL', 'NULL <> fetch_status', "NULL IN ('a')"),
  );

  const atom = fc.oneof(textAtom, numberAtom, timestampAtom, nullAtom, orderAtom);

  const { condition } = fc.letrec<{ condition: string }>((tie) => ({
    condition: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atom,
      fc
        .tuple(tie('condition'), fc.constantFrom('AND', 'OR'), tie('condition'))
        .map(([a, op, b]) => `(${a}) ${op} (${b})`),
      tie('condition').map((a) => `NOT (${a})`),
      tie('condition').map((a) => `(${a}) IS NULL`),
      // No parentheses: the parser's precedence of NOT, AND, OR and the comparisons must be DuckDB's.
      fc
        .tuple(atom, fc.constantFrom('AND', 'OR'), atom, fc.constantFrom('AND', 'OR'), atom)
        .map((parts) => parts.join(' ')),
      atom.map((a) => `NOT ${a}`),
    ),
  }));
  return condition;
}

describe('--where against DuckDB', () => {
  it('types the columns as DuckDB reads our export', async () => {
    const reader = await connection.runAndReadAll(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${unfiltered}/**/*.parquet'))`,
    );
    const described = new Map(reader.getRowsJS().map(([name, type]) => [String(name), String(type)]));
    expect(described).toEqual(new Map(indexColumnTypes));
  });

  it('keeps exactly the rows DuckDB keeps, for generated conditions', async () => {
    expect(rows.length).toBeGreaterThan(200);
    let nonTrivial = 0;
    await fc.assert(
      fc.asyncProperty(conditions(), async (where) => {
        const keep = compileWhere(await parseWhere(where));
        const ours = rows
          .filter(keep)
          .map((row) => row.key)
          .sort();
        const duckdb = await keysWhere(unfiltered, where);
        expect(ours, where).toEqual(duckdb);
        if (ours.length > 0 && ours.length < rows.length) nonTrivial++;
      }),
      { numRuns: 400 },
    );
    // The family must cut the rows, not only keep all or none.
    expect(nonTrivial).toBeGreaterThan(100);
  }, 300_000);

  it('exports through the binary exactly the rows DuckDB keeps', async () => {
    const wheres = [
      "fetch_status = 200 AND content_mime_type LIKE 'text/%'",
      ...fc.sample(conditions(), { numRuns: 3, seed: 20 }),
    ];
    for (const [index, where] of wheres.entries()) {
      const output = join(root, `where-${index}`);
      const summary = runWorker(output, ['--where', where]);
      const expected = await keysWhere(unfiltered, where);
      const exported = await keysWhere(output, 'TRUE');
      expect(exported, where).toEqual(expected);
      const filtered = rows.length - expected.length;
      if (filtered > 0) expect(summary).toContain(`rows filtered out ${filtered}`);
    }
  }, 300_000);
});

describe('--domains against DuckDB', () => {
  it('exports exactly the rows whose registered domain is listed', async () => {
    const domains = valuesOf('url_host_registered_domain') as string[];
    const chosen = domains.filter((_, index) => index % 2 === 0);
    expect(chosen.length).toBeGreaterThan(1);
    const file = join(root, 'domains.txt');
    // Comments, blank lines, upper case and spaces around: the list as people write it.
    writeFileSync(
      file,
      `# chosen domains\n\n${chosen.map((domain, index) => (index % 2 ? ` ${domain.toUpperCase()}  # kept` : domain)).join('\n')}\n`,
    );
    const output = join(root, 'domains');
    runWorker(output, ['--domains', file]);
    const expected = await keysWhere(unfiltered, `url_host_registered_domain IN (${chosen.map(quote).join(', ')})`);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(rows.length);
    expect(await keysWhere(output, 'TRUE')).toEqual(expected);
  }, 120_000);

  it('with --where, keeps the rows both keep, decoding on the event loop', async () => {
    const [domain] = valuesOf('url_host_registered_domain') as string[];
    const file = join(root, 'one-domain.txt');
    writeFileSync(file, `${domain}\n`);
    const where = 'fetch_status >= 300';
    const output = join(root, 'domains-where');
    // On the event loop (--threads 0): the filter is built there too.
    const summary = runWorker(output, ['--domains', file, '--where', where], 0);
    expect(summary).toMatch(/rows filtered out [1-9]/);
    expect(await keysWhere(output, 'TRUE')).toEqual(
      await keysWhere(unfiltered, `url_host_registered_domain = ${quote(domain!)} AND ${where}`),
    );
  }, 120_000);
});

it('leaves the fixture folder as it was', () => {
  expect(readdirSync(inputs).length).toBe(fixtureFiles.length + 1);
});
