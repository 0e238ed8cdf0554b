// Proves that the Parquet encoder writes what docs/architecture.md's output schema promises, checked by an
// independent reader (DuckDB): the bytes returned by writeRowGroup calls and finish, concatenated,
// are one valid Parquet file; every row comes back field by field (nulls, unicode, UTC
// timestamps, int16 status, int64 offsets past 2^31, port null vs number); the columns have the
// promised types and repetitions; each non-empty writeRowGroup call is exactly one row group; a
// job without rows is a valid empty file; a row that breaks the schema fails loudly; string
// statistics follow UTF-8 byte order, so readers' filters find every matching row; and otherwise
// readers see the rows and column statistics parquetjs writes when every row goes through
// appendRow.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParquetWriter } from '@dsnp/parquetjs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureSchema,
  createParquetEncoder,
  parquetCompressionDefault,
  parquetWriterOptions,
} from '../../adapters/parquet/parquet-encoder.ts';
import { captureColumns } from '../../core/capture-row.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import { escopeteUrlColumns } from '../support/escopete-url-columns.ts';
import { captureRowArbitrary as rowArbitrary } from '../support/export-row-arbitrary.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
let folder: string;
let fileCount = 0;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  folder = mkdtempSync(join(tmpdir(), 'parquet-encoder-test-'));
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
  rmSync(folder, { recursive: true, force: true });
});

function sampleRow(overrides: Partial<CaptureRow> = {}): CaptureRow {
  return {
    ...escopeteUrlColumns,
    url: 'https://an.wikipedia.org/wiki/Escopete',
    fetch_time: Date.UTC(2024, 4, 18, 12, 34, 56, 789),
    fetch_status: 200,
    fetch_redirect: null,
    content_digest: 'AAAAZZZZ2222333344445555666677BB',
    content_mime_type: 'text/html',
    content_mime_detected: 'text/html',
    content_charset: 'UTF-8',
    content_languages: 'arg,spa',
    content_truncated: null,
    warc_filename:
      'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-00000.warc.gz',
    warc_record_offset: 1234,
    warc_record_length: 5678,
    warc_segment: '1715971057216.39',
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    ...overrides,
  };
}

const numericColumns = new Set(['url_port', 'fetch_time', 'fetch_status', 'warc_record_offset', 'warc_record_length']);
const stringColumns = new Set(captureColumns.filter((column) => !numericColumns.has(column)));

interface StringStatistic {
  rowGroup: number;
  column: string;
  minimum: string | null;
  maximum: string | null;
}

async function stringStatistics(path: string): Promise<StringStatistic[]> {
  const reader = await connection.runAndReadAll(
    `SELECT row_group_id, path_in_schema, encode(stats_min_value) AS minimum, encode(stats_max_value) AS maximum
     FROM parquet_metadata('${path}') WHERE "type" = 'BYTE_ARRAY' ORDER BY row_group_id, column_id`,
  );
  return reader.getRowObjectsJS().map((values) => ({
    rowGroup: Number(values['row_group_id']),
    column: String(values['path_in_schema']),
    minimum: utf8Text(values['minimum']),
    maximum: utf8Text(values['maximum']),
  }));
}

/**
 * A string DuckDB read, from its bytes (selected through `encode`, as a BLOB): DuckDB's own
 * conversion to a JavaScript string drops a leading U+FEFF, as TextDecoder does by default, so a
 * value that starts with one would read back shorter than the file holds it.
 */
function utf8Text(bytes: unknown): string | null {
  return bytes === null ? null : Buffer.from(bytes as Uint8Array).toString('utf8');
}

/** Min and max of each string column of each row group, in unsigned UTF-8 byte order. */
function expectedStringStatistics(rowGroups: readonly (readonly CaptureRow[])[]): StringStatistic[] {
  const columns = [...stringColumns];
  return rowGroups
    .filter((rows) => rows.length > 0)
    .flatMap((rows, rowGroup) =>
      columns.map((column) => {
        const present = rows.map((row) => row[column]).filter((value): value is string => typeof value === 'string');
        present.sort((left, right) => Buffer.compare(Buffer.from(left), Buffer.from(right)));
        return { rowGroup, column, minimum: present[0] ?? null, maximum: present.at(-1) ?? null };
      }),
    );
}

/** Distinct rows with a mix of nulls and values, numbered from `first`. */
function numberedRows(count: number, first: number): CaptureRow[] {
  return Array.from({ length: count }, (_, index) => {
    const number = first + index;
    return sampleRow({
      url: `https://example.com/page/${number}`,
      url_query: number % 3 === 0 ? null : `n=${number}`,
      url_port: number % 5 === 0 ? number : null,
      fetch_status: 100 + (number % 500),
      warc_record_offset: 2 ** 32 + number * 1000,
    });
  });
}

/** The reference file: parquetjs's public API alone, a row group per batch, same schema and options. */
async function encodedByAppendRowAlone(rowGroups: readonly (readonly CaptureRow[])[]): Promise<Buffer> {
  const pieces: Buffer[] = [];
  const stream = {
    write: (piece: Buffer, callback?: () => void) => {
      pieces.push(piece);
      callback?.();
      return true;
    },
    end: (callback?: () => void) => {
      callback?.();
    },
  };
  const writer = await ParquetWriter.openStream(
    captureSchema(parquetCompressionDefault),
    stream as never,
    parquetWriterOptions(),
  );
  for (const rows of rowGroups) {
    writer.setRowGroupSize(rows.length);
    for (const row of rows) await writer.appendRow(row as unknown as Record<string, unknown>);
  }
  await writer.close();
  return Buffer.concat(pieces);
}

/** Writes the row groups through one job encoder and returns the path of the concatenated file. */
async function encodeToFile(
  rowGroups: readonly (readonly CaptureRow[])[],
): Promise<{ path: string; pieces: Uint8Array[] }> {
  const job = createParquetEncoder().open();
  const pieces: Uint8Array[] = [];
  // The bytes of each call, its pieces joined.
  for (const rows of rowGroups) pieces.push(Buffer.concat(await job.writeRowGroup(rows)));
  pieces.push(Buffer.concat(await job.finish()));
  fileCount += 1;
  const path = join(folder, `file-${fileCount}.parquet`);
  writeFileSync(path, Buffer.concat(pieces));
  return { path, pieces };
}

/** DuckDB's values turned back into the row type: timestamps to UTC ms, BIGINT to number. */
function rowFromDuckDB(values: Record<string, unknown>): CaptureRow {
  const row: Record<string, unknown> = {};
  for (const column of captureColumns) {
    const value = values[column];
    if (value instanceof Date) row[column] = value.getTime();
    else if (typeof value === 'bigint') row[column] = Number(value);
    else if (stringColumns.has(column)) row[column] = utf8Text(value);
    else row[column] = value;
  }
  return row as unknown as CaptureRow;
}

async function readBack(path: string): Promise<CaptureRow[]> {
  // Strings as their bytes (utf8Text says why).
  const quotedColumns = captureColumns
    .map((column) => (stringColumns.has(column) ? `encode("${column}") AS "${column}"` : `"${column}"`))
    .join(', ');
  const reader = await connection.runAndReadAll(
    `SELECT ${quotedColumns} FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
  );
  return reader.getRowObjectsJS().map((values) => rowFromDuckDB(values as Record<string, unknown>));
}

/** What a reader knows of each column chunk before reading its pages. */
async function chunkStatistics(path: string): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(
    `SELECT row_group_id, row_group_num_rows, column_id, path_in_schema, "type", num_values, compression,
       stats_min_value, stats_max_value, stats_null_count, stats_distinct_count
     FROM parquet_metadata('${path}') ORDER BY row_group_id, column_id`,
  );
  return reader.getRowObjectsJS();
}

async function rowGroupSizes(path: string): Promise<number[]> {
  const reader = await connection.runAndReadAll(
    `SELECT row_group_id, any_value(row_group_num_rows) AS "rows" FROM parquet_metadata('${path}') GROUP BY row_group_id ORDER BY row_group_id`,
  );
  return reader.getRowObjectsJS().map((values) => Number(values['rows']));
}

async function columnTypes(path: string): Promise<Record<string, string>> {
  const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${path}') LIMIT 0`);
  const types = reader.columnTypes();
  return Object.fromEntries(reader.columnNames().map((name, index) => [name, String(types[index])]));
}

async function repetitions(path: string): Promise<Record<string, string>> {
  const reader = await connection.runAndReadAll(
    `SELECT "name", repetition_type FROM parquet_schema('${path}') WHERE "name" <> 'root'`,
  );
  return Object.fromEntries(
    reader.getRowObjectsJS().map((values) => [String(values['name']), String(values['repetition_type'])]),
  );
}

const awkwardRows: CaptureRow[] = [
  sampleRow(),
  sampleRow({
    url: 'http://xn--bcher-kva.example/bücher?q=日本語&emoji=🦀',
    url_host_name: 'bücher.example',
    url_path: '/bücher',
    url_query: 'q=日本語&emoji=🦀',
    url_port: 8080,
    fetch_status: 404,
    warc_record_offset: 2 ** 31 + 17,
    warc_record_length: 2 ** 33,
  }),
  sampleRow({
    url_host_name: null,
    url_host_tld: null,
    url_host_2nd_last_part: null,
    url_host_3rd_last_part: null,
    url_host_registry_suffix: null,
    url_host_registered_domain: null,
    url_host_private_suffix: null,
    url_host_private_domain: null,
    url_host_name_reversed: null,
    url_protocol: null,
    url_path: null,
    content_digest: null,
    content_mime_type: null,
    content_mime_detected: null,
    content_charset: null,
    content_languages: null,
    warc_segment: null,
    crawl: null,
    subset: null,
    fetch_status: 301,
    fetch_redirect: 'https://an.wikipedia.org/wiki/Escopete_(arma)',
    url_port: 0,
    fetch_time: 0,
    warc_record_offset: Number.MAX_SAFE_INTEGER,
    warc_record_length: 0,
  }),
  sampleRow({ url_surtkey: '', url: '', warc_filename: '', content_truncated: 'length', fetch_status: -32768 }),
  // A value that is a byte order mark, and one that starts with one: both kept as written.
  sampleRow({ content_truncated: '\uFEFF', url_path: '\uFEFF/index.html' }),
  sampleRow({ fetch_status: 32767, url_port: 2 ** 31 - 1, fetch_time: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
  // A revisit written without HTTP headers, and a WARC-Date that could not be read.
  sampleRow({ fetch_status: null, content_mime_type: 'warc/revisit', fetch_time: null }),
];

describe('parquet encoder, read back by DuckDB', () => {
  it('returns every row field by field across several row groups', async () => {
    const rowGroups = [awkwardRows.slice(0, 2), awkwardRows.slice(2, 3), awkwardRows.slice(3)];
    const { path } = await encodeToFile(rowGroups);
    expect(await readBack(path)).toEqual(awkwardRows);
    expect(await rowGroupSizes(path)).toEqual(rowGroups.map((rows) => rows.length));
  });

  it('keeps every row of large row groups', async () => {
    const sizes = [20_000, 1, 3];
    const rowGroups = sizes.map((size, index) => numberedRows(size, index * 100_000));
    const { path } = await encodeToFile(rowGroups);
    expect(await readBack(path)).toEqual(rowGroups.flat());
    expect(await rowGroupSizes(path)).toEqual(sizes);
  });

  it('writes string statistics in UTF-8 byte order, so filters do not skip row groups that match', async () => {
    // UTF-16 puts U+FF01 after U+1F980; UTF-8 bytes (what readers assume) put it before.
    const rows = [sampleRow({ url: 'x\uFF01' }), sampleRow({ url: 'x\u{1F980}' })];
    const { path } = await encodeToFile([rows]);
    const reader = await connection.runAndReadAll(
      `SELECT count(*) AS "rows" FROM read_parquet('${path}') WHERE url = 'x\u{1F980}'`,
    );
    expect(reader.getRowObjectsJS()).toEqual([{ rows: 1n }]);
    expect(await stringStatistics(path)).toContainEqual({
      rowGroup: 0,
      column: 'url',
      minimum: 'x\uFF01',
      maximum: 'x\u{1F980}',
    });
  });

  it('writes the rows and column statistics parquetjs writes when every row goes through its appendRow', async () => {
    // The pages are this project's own (flat-row-group.ts), so the bytes differ (runs of
    // definition levels are cut differently; sizes in the metadata count what the Parquet spec
    // says, where parquetjs writes the compressed size twice); what readers see must not: each column chunk's type, value count, min, max, null and distinct counts,
    // and every row. No string here orders differently in UTF-16 and UTF-8: for those,
    // parquetjs alone writes wrong statistics (the test above).
    const rowGroups = [numberedRows(8193, 0), numberedRows(100, 10_000)];
    const { path } = await encodeToFile(rowGroups);
    const referencePath = join(folder, 'reference.parquet');
    writeFileSync(referencePath, await encodedByAppendRowAlone(rowGroups));
    expect(await chunkStatistics(path)).toEqual(await chunkStatistics(referencePath));
    expect(await readBack(path)).toEqual(rowGroups.flat());
  });

  it('reads fetch_time as UTC', async () => {
    const { path } = await encodeToFile([[sampleRow()]]);
    const reader = await connection.runAndReadAll(
      `SELECT strftime(fetch_time, '%Y-%m-%dT%H:%M:%S.%g') AS "text", epoch_ms(fetch_time) AS "ms" FROM read_parquet('${path}')`,
    );
    expect(reader.getRowObjectsJS()).toEqual([
      { text: '2024-05-18T12:34:56.789', ms: BigInt(Date.UTC(2024, 4, 18, 12, 34, 56, 789)) },
    ]);
  });

  it('declares the column types and repetitions of the Output table, in captureColumns order', async () => {
    const { path } = await encodeToFile([[sampleRow()]]);
    const types = await columnTypes(path);
    expect(Object.keys(types)).toEqual([...captureColumns]);
    const special: Record<string, string> = {
      url_port: 'INTEGER',
      fetch_time: 'TIMESTAMP',
      fetch_status: 'SMALLINT',
      warc_record_offset: 'BIGINT',
      warc_record_length: 'BIGINT',
    };
    for (const column of captureColumns)
      expect([column, types[column]]).toEqual([column, special[column] ?? 'VARCHAR']);
    const required = new Set(['url_surtkey', 'url', 'warc_filename', 'warc_record_offset', 'warc_record_length']);
    const repetition = await repetitions(path);
    for (const column of captureColumns) {
      expect([column, repetition[column]]).toEqual([column, required.has(column) ? 'REQUIRED' : 'OPTIONAL']);
    }
  });

  it('returns the magic with the first row group and the footer from finish', async () => {
    const { pieces } = await encodeToFile([[sampleRow()], [sampleRow()]]);
    const text = (bytes: Uint8Array, start: number, end: number) =>
      Buffer.from(bytes.subarray(start, end)).toString('latin1');
    expect(text(pieces[0]!, 0, 4)).toBe('PAR1');
    expect(text(pieces[1]!, 0, 4)).not.toBe('PAR1');
    const footer = pieces[2]!;
    expect(text(footer, footer.length - 4, footer.length)).toBe('PAR1');
  });

  it('writes a valid empty file for a job with no rows', async () => {
    for (const rowGroups of [[], [[]]]) {
      const { path, pieces } = await encodeToFile(rowGroups);
      expect(await readBack(path)).toEqual([]);
      expect(await rowGroupSizes(path)).toEqual([]);
      expect(Object.keys(await columnTypes(path))).toEqual([...captureColumns]);
      expect(Buffer.from(pieces[0]!.subarray(0, 4)).toString('latin1')).toBe('PAR1');
    }
  });

  it('writes nothing for an empty batch between row groups', async () => {
    const { path, pieces } = await encodeToFile([[sampleRow()], [], [sampleRow({ url: 'https://b.example/' })]]);
    expect(pieces[1]!.length).toBe(0);
    expect(await rowGroupSizes(path)).toEqual([1, 1]);
  });

  it('rejects a row with a required column missing and refuses further use', async () => {
    const job = createParquetEncoder().open();
    const broken = { ...sampleRow(), url: null } as unknown as CaptureRow;
    await expect(job.writeRowGroup([sampleRow(), broken])).rejects.toThrow(/url/);
    await expect(job.writeRowGroup([sampleRow()])).rejects.toThrow(/broken/);
    await expect(job.finish()).rejects.toThrow(/broken/);
  });

  it('refuses values outside the column types, naming the column, instead of writing them wrongly', async () => {
    const outside: Partial<Record<keyof CaptureRow, unknown>>[] = [
      { fetch_status: 40_000 },
      { url_port: 1.5 },
      { fetch_time: -1 },
      { warc_record_offset: Number.NaN },
      { url_path: 7 },
    ];
    for (const override of outside) {
      const job = createParquetEncoder().open();
      const row = { ...sampleRow(), ...override } as unknown as CaptureRow;
      await expect(job.writeRowGroup([sampleRow(), row])).rejects.toThrow(Object.keys(override)[0] ?? '');
    }
  });

  it('refuses use after finish', async () => {
    const job = createParquetEncoder().open();
    await job.finish();
    await expect(job.writeRowGroup([sampleRow()])).rejects.toThrow(/finished/);
  });
});

describe('parquet encoder property', () => {
  it('round-trips random rows split into random row groups, one row group per non-empty batch, with right string statistics', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(rowArbitrary, { maxLength: 25 }), { maxLength: 5 }), async (rowGroups) => {
        const { path } = await encodeToFile(rowGroups);
        expect(await readBack(path)).toEqual(rowGroups.flat());
        const nonEmpty = rowGroups.filter((rows) => rows.length > 0);
        expect(await rowGroupSizes(path)).toEqual(nonEmpty.map((rows) => rows.length));
        expect(await stringStatistics(path)).toEqual(expectedStringStatistics(rowGroups));
      }),
      { numRuns: 20 },
    );
  });
});
