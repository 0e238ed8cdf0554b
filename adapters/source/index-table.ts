/**
 * Reads the picked captures out of one index file (`--input index:…`): a Parquet file, as
 * DuckDB, Spark and Athena write a query's result (SNAPPY, GZIP or ZSTD pages), or a CSV file
 * with a header line (plain or gzip). `warc_filename`, `warc_record_offset` and
 * `warc_record_length`, the columnar index's names, say where a capture lies; of the other
 * columns only the index's `content_languages`, `content_charset`, `content_mime_detected`
 * and `content_digest` are read, when the file has them (`indexedColumns`), to fill the
 * row's nulls; the rest are ignored.
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
import type { IndexedColumns } from '../../core/input-ref.ts';

/** The columns an index must have, by the columnar index's names. */
export const indexColumns = ['warc_filename', 'warc_record_offset', 'warc_record_length'] as const;

/**
 * The columns of CommonCrawl's columnar index a subset's rows take where their record says
 * nothing. Languages and charset come from the metadata record that follows a response,
 * outside the picked range: without the index, a subset row has them null. The detected MIME
 * type (`WARC-Identified-Payload-Type`) and the digest (`WARC-Payload-Digest`, base32 SHA-1
 * without its `sha1:`, as both write it) are the response record's own, so a row has them
 * from its record; the index's fill them only for a record that lacks the header.
 */
export const indexedColumns = [
  'content_languages',
  'content_charset',
  'content_mime_detected',
  'content_digest',
] as const satisfies readonly (keyof IndexedColumns)[];

/** One picked capture as an index row names it, with the indexed columns it holds a value of. */
export interface IndexRow {
  readonly warcFilename: string;
  readonly offsetBytes: number;
  readonly lengthBytes: number;
  readonly indexed?: IndexedColumns;
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

/**
 * Longest value of an indexed column taken: CommonCrawl's are a few bytes to a few dozen
 * (`eng,deu,fra`, `UTF-8`, `application/xhtml+xml`, a 32-character digest); a longer cell is
 * no such value and is left out rather than carried into every row and the ledger.
 */
export const indexedValueCharsMax = 256;

/**
 * The indexed columns a row holds a value of, or undefined when none: an empty cell is null,
 * as CSV cannot tell the two apart and DuckDB writes a null as an empty cell.
 */
function indexedOf(record: Record<string, unknown>): IndexedColumns | undefined {
  const indexed: { -readonly [column in keyof IndexedColumns]: string } = {};
  let held = false;
  for (const column of indexedColumns) {
    const value = record[column];
    if (typeof value !== 'string') continue;
    const text = value.trim();
    if (text === '' || text.length > indexedValueCharsMax) continue;
    indexed[column] = text;
    held = true;
  }
  return held ? indexed : undefined;
}

function rowOf(record: Record<string, unknown>, name: string, row: number): IndexRow {
  const filename = record.warc_filename;
  if (typeof filename !== 'string' || filename.trim() === '')
    throw new FailureError(inputFault(`index ${name}, row ${row + 1}: warc_filename is empty`));
  const lengthBytes = byteCount(record.warc_record_length, 'warc_record_length', name, row);
  if (lengthBytes === 0)
    throw new FailureError(inputFault(`index ${name}, row ${row + 1}: warc_record_length is 0, no record`));
  const indexed = indexedOf(record);
  return {
    warcFilename: filename.trim(),
    offsetBytes: byteCount(record.warc_record_offset, 'warc_record_offset', name, row),
    lengthBytes,
    ...(indexed === undefined ? {} : { indexed }),
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
    const columns = [...indexColumns, ...indexedColumns.filter((column) => present.includes(column))];
    return await parquetReadObjects({ file, metadata, columns, compressors });
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
