import type { ParquetSchema, ParquetWriter } from '@dsnp/parquetjs';
import type { ExportRow } from '../../core/capture-row.ts';
import { at } from '../../core/checked-access.ts';
import { assert } from '../../core/failure.ts';

/** parquetjs's buffer of shredded rows, the one `ParquetWriter.appendRow` fills. */
export type RowBuffer = ParquetWriter['rowBuffer'];

type ColumnValues = NonNullable<RowBuffer['columnData']>[string];

/** How a column's values enter parquetjs: strings as UTF-8 bytes, payload bytes as they are, integers checked. */
type ValueKind = 'string' | 'bytes' | 'integer';

interface FlatColumn {
  readonly name: keyof ExportRow;
  readonly path: string;
  readonly required: boolean;
  /** The definition level of a present value; 0 is a null. */
  readonly definedLevel: number;
  readonly kind: ValueKind;
  /** Integer columns: the range of the column type. */
  readonly minimum: number;
  readonly maximum: number;
}

/**
 * The UTF-8 bytes of each distinct string of one row group, one map per column.
 *
 * Why strings enter parquetjs as bytes: parquetjs computes min/max statistics by comparing the
 * values it keeps in its distinct-value sets. For JavaScript strings it compares UTF-16 code
 * units, which orders U+E000..U+FFFF after astral characters, while Parquet readers assume
 * unsigned byte order of the UTF-8 (measured: with `x！` and `x🦀` in one row group, DuckDB found
 * no row for `url = 'x🦀'`, having skipped the row group on its wrong max). For Buffers parquetjs
 * uses `Buffer.compare`, the byte order readers assume. One Buffer per distinct string keeps its
 * distinct-value sets (and the `distinct_count` statistic) counting strings, not objects.
 */
export type StringBytes = Map<string, Map<string, Buffer>>;

export function newStringBytes(): StringBytes {
  return new Map();
}

/** The map of one column's strings to their bytes, made on the column's first string. */
function columnStrings(strings: StringBytes, column: FlatColumn): Map<string, Buffer> {
  let columnBytes = strings.get(column.path);
  if (columnBytes === undefined) strings.set(column.path, (columnBytes = new Map()));
  return columnBytes;
}

function bytesOf(columnBytes: Map<string, Buffer>, column: FlatColumn, value: unknown): Buffer {
  if (typeof value !== 'string') throw new Error(`parquet encoder: ${column.name} is not a string (a bug upstream)`);
  let bytes = columnBytes.get(value);
  if (bytes === undefined) columnBytes.set(value, (bytes = Buffer.from(value, 'utf8')));
  return bytes;
}

/** A payload as a Buffer over the same memory (parquetjs wants Buffers; a copy would double it). */
function payloadBuffer(column: FlatColumn, value: unknown): Buffer {
  if (!(value instanceof Uint8Array)) throw new Error(`parquet encoder: ${column.name} is not bytes (a bug upstream)`);
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * parquetjs lets fractions and NaN through and writes them wrongly; the decoder promised
 * integers, so anything else is our bug and must crash loudly.
 */
function checkedInteger(column: FlatColumn, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < column.minimum || value > column.maximum) {
    throw new Error(
      `parquet encoder: ${column.name} = ${String(value)} is not an integer in [${column.minimum}, ${column.maximum}] (a bug upstream)`,
    );
  }
  return value;
}

/** Ranges of the integer column types; parquetjs refuses timestamps before 1970 or from 2^53 - 1 on. */
const integerRanges: Record<string, readonly [number, number]> = {
  INT32: [-0x80000000, 0x7fffffff],
  INT_16: [-0x8000, 0x7fff],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  TIMESTAMP_MILLIS: [0, Number.MAX_SAFE_INTEGER - 1],
};

/** The columns of a flat schema (no nesting, no repetition), which is all this shredder handles. */
export function flatColumns(schema: ParquetSchema): FlatColumn[] {
  return schema.fieldList.map((field) => {
    const type = field.originalType ?? field.primitiveType ?? '';
    const range = integerRanges[type];
    const kind: ValueKind | null =
      type === 'UTF8' ? 'string' : type === 'BYTE_ARRAY' ? 'bytes' : range === undefined ? null : 'integer';
    if (field.isNested || field.repetitionType === 'REPEATED' || kind === null) {
      throw new Error(
        `parquet encoder: column ${field.name} (${type}, ${field.repetitionType}) is not flat UTF8, bytes or integer (a bug here)`,
      );
    }
    return {
      name: field.name as keyof ExportRow,
      path: field.path.join(','),
      required: field.repetitionType === 'REQUIRED',
      definedLevel: field.dLevelMax,
      kind,
      minimum: range?.[0] ?? 0,
      maximum: range?.[1] ?? 0,
    };
  });
}

/** Sets up an empty buffer exactly as parquetjs's `shredRecord` does on its first row. */
function initialise(columns: readonly FlatColumn[], buffer: RowBuffer): void {
  if ('columnData' in buffer && 'rowCount' in buffer) return;
  buffer.rowCount = 0;
  buffer.pageRowCount = 0;
  buffer.columnData = {};
  buffer.pages = {};
  for (const column of columns) {
    buffer.columnData[column.path] = { dlevels: [], rlevels: [], values: [], distinct_values: new Set(), count: 0 };
    buffer.pages[column.path] = [];
  }
}

/** A column's part of the row buffer, each of them set up by `initialise`. */
interface ColumnParts {
  readonly values: ColumnValues;
  readonly dlevels: number[];
  readonly rlevels: number[];
  readonly stored: number[];
  readonly distinct: Set<unknown>;
}

function columnParts(buffer: RowBuffer, column: FlatColumn): ColumnParts {
  const values = buffer.columnData?.[column.path];
  const { dlevels, rlevels, values: stored, distinct_values: distinct } = values ?? {};
  assert(
    values !== undefined && dlevels !== undefined && rlevels !== undefined && stored !== undefined && distinct,
    `parquet encoder: the row buffer has no column ${column.path}`,
  );
  return { values, dlevels, rlevels, stored, distinct };
}

interface RowRange {
  readonly start: number;
  readonly end: number;
}

function shredColumn(
  column: FlatColumn,
  rows: readonly ExportRow[],
  range: RowRange,
  parts: ColumnParts,
  strings: StringBytes,
): void {
  const { values, dlevels, rlevels, stored, distinct } = parts;
  const columnBytes = columnStrings(strings, column);
  for (let index = range.start; index < range.end; index += 1) {
    const value = at(rows, index)[column.name];
    rlevels.push(0);
    if (value === null || value === undefined) {
      if (column.required) throw new Error(`missing required field: ${column.name}`);
      dlevels.push(0);
      continue;
    }
    dlevels.push(column.definedLevel);
    if (column.kind === 'bytes') {
      // Payloads are not kept in the distinct set: without statistics nothing reads it.
      stored.push(payloadBuffer(column, value) as unknown as number);
      continue;
    }
    const kept = column.kind === 'string' ? bytesOf(columnBytes, column, value) : checkedInteger(column, value);
    distinct.add(kept);
    stored.push(kept as number);
  }
  values.count = (values.count ?? 0) + (range.end - range.start);
}

/**
 * Appends rows `start` to `end` (exclusive) to parquetjs's row buffer, leaving it as calling
 * `shredRecord` on each row, with its strings given as UTF-8 Buffers, would (a test holds it to
 * that). parquetjs shreds row by row through a general Dremel walk that allocates a fresh set of
 * arrays and Sets per row; for our flat schema, walking column by column does the same work, and
 * shredding was about 35 % of encode time. A bad row throws with the buffer half-filled; the job
 * encoder then refuses further use.
 */
export function shredRows(
  columns: readonly FlatColumn[],
  rows: readonly ExportRow[],
  range: RowRange,
  buffer: RowBuffer,
  strings: StringBytes,
): void {
  initialise(columns, buffer);
  for (const column of columns) shredColumn(column, rows, range, columnParts(buffer, column), strings);
  buffer.rowCount = (buffer.rowCount ?? 0) + (range.end - range.start);
  buffer.pageRowCount = (buffer.pageRowCount ?? 0) + (range.end - range.start);
}

/**
 * The row to hand to parquetjs's own `appendRow`, which must shred the last row of a row group
 * itself (that is where it writes the row group): checked like the others, strings as their
 * UTF-8 Buffers. parquetjs copies a Buffer it is given and adds the copy to its distinct-value
 * set, so the shared Buffer of the same string leaves the set first: the string is counted once.
 */
export function rowForAppend(
  columns: readonly FlatColumn[],
  row: ExportRow,
  buffer: RowBuffer,
  strings: StringBytes,
): Record<string, unknown> {
  initialise(columns, buffer);
  const prepared: Record<string, unknown> = {};
  for (const column of columns) {
    const value = row[column.name];
    if (value === null || value === undefined) {
      prepared[column.name] = value;
    } else if (column.kind === 'bytes') {
      prepared[column.name] = payloadBuffer(column, value);
    } else if (column.kind === 'string') {
      const bytes = bytesOf(columnStrings(strings, column), column, value);
      columnParts(buffer, column).distinct.delete(bytes);
      prepared[column.name] = bytes;
    } else {
      prepared[column.name] = checkedInteger(column, value);
    }
  }
  return prepared;
}
