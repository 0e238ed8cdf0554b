import { captureColumns } from '../../core/capture-row.ts';

/**
 * The SQL types DuckDB reads our index export's columns as (adapters/parquet/parquet-encoder.ts
 * writes them; test/adapters/filter-duckdb.test.ts checks this table against DuckDB's DESCRIBE
 * of a real export). `--where` types its expression with them, as DuckDB's binder does.
 */
export type IndexColumnType = 'VARCHAR' | 'SMALLINT' | 'INTEGER' | 'BIGINT' | 'TIMESTAMP';

export type IndexColumn = (typeof captureColumns)[number];

const nonText: Partial<Record<IndexColumn, IndexColumnType>> = {
  url_port: 'INTEGER',
  fetch_time: 'TIMESTAMP',
  fetch_status: 'SMALLINT',
  warc_record_offset: 'BIGINT',
  warc_record_length: 'BIGINT',
};

export const indexColumnTypes: ReadonlyMap<IndexColumn, IndexColumnType> = new Map(
  captureColumns.map((column) => [column, nonText[column] ?? 'VARCHAR']),
);

/** The range of each integer type, for a string literal cast to it (DuckDB refuses one out of range). */
export const integerRanges: Readonly<Record<'SMALLINT' | 'INTEGER' | 'BIGINT', readonly [number, number]>> = {
  SMALLINT: [-32_768, 32_767],
  INTEGER: [-2_147_483_648, 2_147_483_647],
  // 2^63 is not exact as a double; a value this far out is refused either way.
  BIGINT: [-(2 ** 63), 2 ** 63 - 1],
};

/**
 * Columns of `--schema content` only: the payload and what comes with it. A `--where` runs
 * before the payload is decoded, so it cannot see them.
 */
export const payloadColumns: ReadonlySet<string> = new Set([
  'content',
  'content_length',
  'content_encoding_error',
  'warc_record_id',
  'http_headers',
  'warc_refers_to',
]);
