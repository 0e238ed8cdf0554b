/**
 * Proves that what the decoder makes of the real fixtures survives Parquet: every fixture with
 * captures is decoded, its rows encoded in row groups, and the file read back with DuckDB, an
 * independent reader, equals the decoder's rows field by field (strings, nulls, UTC
 * timestamps, int16 statuses, int64 offsets), in order.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureColumns, type CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

const fixtures = resolve(sharedFixtureRoot);
const folder = mkdtempSync(join(tmpdir(), 'warc-to-parquet-'));
let connection: DuckDBConnection;

/** Fixtures with response, revisit or resource records, and how many rows each gives. */
const cases: readonly [string, number][] = [
  ['commoncrawl/whirlwind.warc.gz', 1],
  ['resiliparse/cc-2020-34-excerpt.warc.gz', 16],
  ['warcio/example.warc.gz', 2],
  ['warcio/post-test.warc.gz', 3],
  ['warcio/example-iana.org-chunked.warc', 1],
  ['warcio-js/redirect.warc', 1],
  ['warcio-js/example-url-agnostic-revisit.warc.gz', 1],
];

function decodeRows(name: string): CaptureRow[] {
  const input: InputRef = {
    uri: join(fixtures, name),
    filename: name,
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    segment: '1715971057216.39',
  };
  const decoder = new WarcDecoder().open(input);
  return decoder.push(new Uint8Array(readFileSync(join(fixtures, name))), true).rows;
}

function fromDuckDB(values: Record<string, unknown>): CaptureRow {
  const row: Record<string, unknown> = {};
  for (const column of captureColumns) {
    const value = values[column];
    row[column] = value instanceof Date ? value.getTime() : typeof value === 'bigint' ? Number(value) : value;
  }
  return row as unknown as CaptureRow;
}

beforeAll(async () => {
  connection = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(() => {
  connection.closeSync();
  rmSync(folder, { recursive: true, force: true });
});

describe('fixture rows through Parquet and DuckDB', () => {
  it.each(cases)('%s reads back field by field', async (name, expectedRows) => {
    const rows = decodeRows(name);
    expect(rows).toHaveLength(expectedRows);
    const encoder = createParquetEncoder().open();
    // Two row groups where there are rows enough, so the join between them is read too.
    const cut = Math.ceil(rows.length / 2);
    const pieces = [
      ...(await encoder.writeRowGroup(rows.slice(0, cut))),
      ...(await encoder.writeRowGroup(rows.slice(cut))),
      ...(await encoder.finish()),
    ];
    const path = join(folder, `${name.replaceAll('/', '_')}.parquet`);
    writeFileSync(path, Buffer.concat(pieces));
    const columns = captureColumns.map((column) => `"${column}"`).join(', ');
    const reader = await connection.runAndReadAll(
      `SELECT ${columns} FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
    );
    const readBack = reader.getRowObjectsJS().map((values) => fromDuckDB(values as Record<string, unknown>));
    expect(readBack).toEqual(rows);
  });
});
