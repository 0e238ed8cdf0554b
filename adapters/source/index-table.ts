/**
 * Reads the picked captures out of one index file (`--input index:…`): a Parquet file, as
 * DuckDB, Spark and Athena write a query's result (SNAPPY, GZIP or ZSTD pages), or a CSV file
 * with a header line (plain or gzip). Only `warc_filename`, `warc_record_offset` and
 * `warc_record_length`, the columnar index's names, are read; other columns are ignored.
 *
 * Parquet is read by hyparquet with hyparquet-compressors: pure JavaScript, no native build,
 * every encoding of the format, and the codecs those writers use, ZSTD among them, which
 * @dsnp/parquetjs's reader (the writer this project encodes with) lacks. CSV is read by
 * csv-parse, RFC 4180 quoting included.
 */
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { FailureError, inputFault } from '../../core/failure.ts';

/** The columns an index must have, by the columnar index's names. */
export const indexColumns = ['warc_filename', 'warc_record_offset', 'warc_record_length'] as const;

/** One picked capture as an index row names it. */
export interface IndexRow {
  readonly warcFilename: string;
  readonly offsetBytes: number;
  readonly lengthBytes: number;
}

const parquetMagic = 'PAR1';

function isParquet(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 4)) === parquetMagic;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function missingColumns(name: string, present: readonly string[]): void {
  const missing = indexColumns.filter((column) => !present.includes(column));
  if (missing.length > 0)
    throw new FailureError(
      inputFault(`index ${name} lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`),
    );
}

/** A byte offset or length as an index cell holds it: an integer (a BigInt from INT64) or its text. */
function byteCount(value: unknown, column: string, name: string, row: number): number {
  const number = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0)
    throw new FailureError(
      inputFault(`index ${name}, row ${row + 1}: ${column} is ${String(value)}, not a byte count`),
    );
  return number;
}

function rowOf(record: Record<string, unknown>, name: string, row: number): IndexRow {
  const filename = record.warc_filename;
  if (typeof filename !== 'string' || filename.trim() === '')
    throw new FailureError(inputFault(`index ${name}, row ${row + 1}: warc_filename is empty`));
  const lengthBytes = byteCount(record.warc_record_length, 'warc_record_length', name, row);
  if (lengthBytes === 0)
    throw new FailureError(inputFault(`index ${name}, row ${row + 1}: warc_record_length is 0, no record`));
  return {
    warcFilename: filename.trim(),
    offsetBytes: byteCount(record.warc_record_offset, 'warc_record_offset', name, row),
    lengthBytes,
  };
}

/** An error of the Parquet reader: an encoding or codec it does not know is the file's, named. */
function parquetFault(name: string, error: unknown): FailureError {
  const message = error instanceof Error ? error.message : String(error);
  return new FailureError(inputFault(`index ${name} cannot be read as Parquet: ${message}`), { cause: error });
}

async function parquetRows(bytes: Uint8Array, name: string): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    const metadata = parquetMetadata(file);
    const present = parquetSchema(metadata).children.map((child) => child.element.name);
    missingColumns(name, present);
    return await parquetReadObjects({ file, metadata, columns: [...indexColumns], compressors });
  } catch (error) {
    if (error instanceof FailureError) throw error;
    throw parquetFault(name, error);
  }
}

function csvRows(bytes: Uint8Array, name: string): Record<string, unknown>[] {
  const text = new TextDecoder().decode(isGzip(bytes) ? gunzipSync(bytes) : bytes);
  let records: Record<string, unknown>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, trim: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new FailureError(inputFault(`index ${name} is neither Parquet nor readable CSV: ${message}`));
  }
  const header = text.slice(0, text.search(/\r?\n|$/));
  const present = parseCsv(header.replace(/^\uFEFF/, ''), { trim: true })[0] as string[] | undefined;
  missingColumns(name, present ?? []);
  return records;
}

/** The rows of one index file, told Parquet or CSV by its first bytes; `name` says where it is. */
export async function readIndexTable(bytes: Uint8Array, name: string): Promise<IndexRow[]> {
  const records = isParquet(bytes) ? await parquetRows(bytes, name) : csvRows(bytes, name);
  return records.map((record, row) => rowOf(record, name, row));
}
