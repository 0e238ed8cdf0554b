/** Rows of Parquet files, read with DuckDB (not our encoder's reader), each query in a database of its own. */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

async function withConnection<T>(use: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await use(connection);
  } finally {
    connection.closeSync();
  }
}

/** Rows of the Parquet files below a folder, per WARC file. */
export function rowsByFile(folder: string): Promise<Map<string, number>> {
  return withConnection(async (connection) => {
    const reader = await connection.runAndReadAll(
      `SELECT warc_filename, count(*)::INTEGER AS n FROM read_parquet('${folder}/**/*.parquet') GROUP BY warc_filename`,
    );
    const counts = new Map<string, number>();
    for (const row of reader.getRowObjects()) counts.set(String(row.warc_filename), Number(row.n));
    return counts;
  });
}

/** The rows a DuckDB query gives, as JSON values (BIGINT as strings). */
export function duckdbRows(sql: string): Promise<Record<string, unknown>[]> {
  return withConnection(
    async (connection) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[],
  );
}

/** The rows a DuckDB query gives, BIGINT as numbers (the counts and offsets of test data fit), typed by the caller. */
export function duckdbNumberRows<T>(sql: string): Promise<T[]> {
  return withConnection(async (connection) => {
    const rows = (await connection.runAndReadAll(sql)).getRowObjects();
    return JSON.parse(JSON.stringify(rows, (_, value) => (typeof value === 'bigint' ? Number(value) : value))) as T[];
  });
}
