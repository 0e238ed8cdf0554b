/** Rows of the Parquet files below a folder, per WARC file, read with DuckDB (not our encoder's reader). */
import { DuckDBInstance } from '@duckdb/node-api';

export async function rowsByFile(folder: string): Promise<Map<string, number>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT warc_filename, count(*)::INTEGER AS n FROM read_parquet('${folder}/**/*.parquet') GROUP BY warc_filename`,
    );
    const counts = new Map<string, number>();
    for (const row of reader.getRowObjects()) counts.set(String(row.warc_filename), Number(row.n));
    return counts;
  } finally {
    connection.closeSync();
  }
}

/** The rows a DuckDB query gives, as JSON values (BIGINT as strings), in a database of its own. */
export async function duckdbRows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}
