import type { ParquetSchema } from '@dsnp/parquetjs';
import type { ExportRow } from '../../core/capture-row.ts';

/** How a column's values are written: strings as UTF-8, payload bytes as they are, integers checked. */
export type ValueKind = 'string' | 'bytes' | 'integer';

/** The Parquet physical types of a flat column of this project's schemas. */
export type PhysicalType = 'BYTE_ARRAY' | 'INT32' | 'INT64';

export interface FlatColumn {
  readonly name: keyof ExportRow;
  readonly required: boolean;
  readonly kind: ValueKind;
  readonly physicalType: PhysicalType;
  /** Whether the column chunk and its page carry min/max, null and distinct counts. */
  readonly statistics: boolean;
  /** Integer columns: the range of the column type. */
  readonly minimum: number;
  readonly maximum: number;
}

/** Ranges of the integer column types; TIMESTAMP_MILLIS is kept from 1970 on, as parquetjs keeps it. */
const integerRanges: Record<string, readonly [number, number]> = {
  INT32: [-0x80000000, 0x7fffffff],
  INT_16: [-0x8000, 0x7fff],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  TIMESTAMP_MILLIS: [0, Number.MAX_SAFE_INTEGER - 1],
};

const physicalTypes: ReadonlySet<string> = new Set<PhysicalType>(['BYTE_ARRAY', 'INT32', 'INT64']);

/** The columns of a flat schema (no nesting, no repetition), which is all this encoder handles. */
export function flatColumns(schema: ParquetSchema): FlatColumn[] {
  return schema.fieldList.map((field) => {
    const type = field.originalType ?? field.primitiveType ?? '';
    const physical = field.primitiveType ?? '';
    const range = integerRanges[type];
    const kind: ValueKind | null =
      type === 'UTF8' ? 'string' : type === 'BYTE_ARRAY' ? 'bytes' : range === undefined ? null : 'integer';
    if (field.isNested || field.repetitionType === 'REPEATED' || kind === null || !physicalTypes.has(physical)) {
      throw new Error(
        `parquet encoder: column ${field.name} (${type}, ${field.repetitionType}) is not flat UTF8, bytes or integer (a bug here)`,
      );
    }
    return {
      name: field.name as keyof ExportRow,
      required: field.repetitionType === 'REQUIRED',
      kind,
      physicalType: physical as PhysicalType,
      statistics: field.statistics !== false,
      minimum: range?.[0] ?? 0,
      maximum: range?.[1] ?? 0,
    };
  });
}

/**
 * The decoder promised integers in the column's range; anything else (a fraction, NaN, a
 * timestamp before 1970) is our bug and must crash loudly, not be written wrongly.
 */
export function checkedInteger(column: FlatColumn, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < column.minimum || value > column.maximum) {
    throw new Error(
      `parquet encoder: ${column.name} = ${String(value)} is not an integer in [${column.minimum}, ${column.maximum}] (a bug upstream)`,
    );
  }
  return value;
}

export function checkedString(column: FlatColumn, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`parquet encoder: ${column.name} is not a string (a bug upstream)`);
  return value;
}

export function checkedBytes(column: FlatColumn, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error(`parquet encoder: ${column.name} is not bytes (a bug upstream)`);
  return value;
}
