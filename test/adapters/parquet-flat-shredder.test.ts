// Proves that the flat shredder, followed by parquetjs's own shredding of a row group's last row,
// leaves parquetjs's row buffer as parquetjs's `shredRecord` would, row by row, with strings given
// as UTF-8 bytes (levels, stored values, counts, distinct values), whether it starts on an empty
// buffer or continues one; that it counts each distinct string once (the distinct_count
// statistic); so the encoder's fast path cannot change what parquetjs writes, even after an
// upgrade of parquetjs changes its shredding (this test would fail). It also proves that values
// outside the column types crash loudly instead of being written wrongly.
import { ParquetShredder } from '@dsnp/parquetjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatColumns, newStringBytes, rowForAppend, shredRows } from '../../adapters/parquet/flat-shredder.ts';
import type { RowBuffer } from '../../adapters/parquet/flat-shredder.ts';
import { captureSchema } from '../../adapters/parquet/parquet-encoder.ts';
import { captureColumns } from '../../core/capture-row.ts';
import type { CaptureRow } from '../../core/capture-row.ts';

const schema = captureSchema('GZIP');
const columns = flatColumns(schema);

const required = new Set<string>([
  'url_surtkey',
  'url',
  'warc_filename',
  'fetch_time',
  'fetch_status',
  'warc_record_offset',
  'warc_record_length',
]);
const numbers: Record<string, fc.Arbitrary<number>> = {
  url_port: fc.integer(),
  fetch_time: fc.integer({ min: 0, max: Date.UTC(9999, 0, 1) }),
  fetch_status: fc.integer({ min: -32768, max: 32767 }),
  warc_record_offset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  warc_record_length: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
};

// Few distinct strings, so distinct-value sets hold repeats as they do on real data.
function columnArbitrary(column: string): fc.Arbitrary<unknown> {
  const value: fc.Arbitrary<unknown> =
    numbers[column] ?? fc.oneof(fc.constantFrom('a', 'text/html', 'ü🦀'), fc.string({ unit: 'binary', maxLength: 12 }));
  return required.has(column) ? value : fc.option(value, { nil: null });
}

const rowArbitrary = fc.record(
  Object.fromEntries(captureColumns.map((column) => [column, columnArbitrary(column)])),
) as unknown as fc.Arbitrary<CaptureRow>;

const stringColumns = captureColumns.filter((column) => !(column in numbers));

function withStringsAsBytes(row: CaptureRow): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([name, value]) => [name, typeof value === 'string' ? Buffer.from(value, 'utf8') : value]),
  );
}

function shreddedByParquetjs(rows: readonly CaptureRow[]): RowBuffer {
  const buffer: RowBuffer = {};
  for (const row of rows) ParquetShredder.shredRecord(schema, withStringsAsBytes(row), buffer);
  return buffer;
}

/** The encoder's way: the flat shredder up to the last row (in two calls), parquetjs for the last. */
function shreddedByEncoderPath(rows: readonly CaptureRow[], cut: number): RowBuffer {
  const buffer: RowBuffer = {};
  const strings = newStringBytes();
  const last = rows.length - 1;
  shredRows(columns, rows, { start: 0, end: cut }, buffer, strings);
  shredRows(columns, rows, { start: cut, end: last }, buffer, strings);
  ParquetShredder.shredRecord(schema, rowForAppend(columns, rows[last]!, buffer, strings), buffer);
  return buffer;
}

/** Distinct-value sets compared by content: parquetjs keeps one Buffer object per row, we one per string. */
function byContent(buffer: RowBuffer): unknown {
  const columnData = Object.fromEntries(
    Object.entries(buffer.columnData ?? {}).map(([path, data]) => {
      const distinct = [...(data.distinct_values ?? [])].map((value) =>
        Buffer.isBuffer(value) ? `bytes ${value.toString('hex')}` : value,
      );
      return [path, { ...data, distinct_values: [...new Set(distinct)].sort() }];
    }),
  );
  return { ...buffer, columnData };
}

describe('flat shredder', () => {
  it('fills the row buffer as parquetjs shredRecord does with strings as bytes, in one call or two', () => {
    fc.assert(
      fc.property(fc.array(rowArbitrary, { minLength: 1, maxLength: 40 }), fc.nat(), (rows, cut) => {
        const ours = shreddedByEncoderPath(rows, cut % rows.length);
        expect(byContent(ours)).toEqual(byContent(shreddedByParquetjs(rows)));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps one entry per distinct string in the distinct-value sets', () => {
    fc.assert(
      fc.property(fc.array(rowArbitrary, { minLength: 1, maxLength: 40 }), (rows) => {
        const ours = shreddedByEncoderPath(rows, 0);
        for (const column of stringColumns) {
          const distinct = new Set(rows.map((row) => row[column]).filter((value) => value !== null));
          expect([column, ours.columnData![column]!.distinct_values!.size]).toEqual([column, distinct.size]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('sets up an empty buffer for an empty range, ready for parquetjs to append to', () => {
    const buffer: RowBuffer = {};
    shredRows(columns, [], { start: 0, end: 0 }, buffer, newStringBytes());
    expect(buffer.rowCount).toBe(0);
    expect(Object.keys(buffer.columnData ?? {})).toEqual([...captureColumns]);
  });

  it('throws naming the row when a range runs past the rows, a bug in the caller', () => {
    const rows = fc.sample(rowArbitrary, { numRuns: 2, seed: 3 });
    for (const end of [rows.length + 1, rows.length + 5]) {
      expect(() => shredRows(columns, rows, { start: 0, end }, {}, newStringBytes())).toThrow(
        `invariant broken: index ${rows.length} outside 0..${rows.length - 1}`,
      );
    }
  });

  it('refuses values outside the column types, in shredded rows and in the appended last row', () => {
    const valid = fc.sample(rowArbitrary, { numRuns: 1, seed: 1 })[0]!;
    const bad: Partial<Record<keyof CaptureRow, unknown>>[] = [
      { fetch_status: 40000 },
      { fetch_status: 200.5 },
      { url_port: Number.NaN },
      { url_port: 2 ** 31 },
      { warc_record_offset: 2 ** 53 },
      { fetch_time: -1 },
      { url: 42 },
      { url_surtkey: null },
    ];
    for (const change of bad) {
      const row = { ...valid, ...change } as CaptureRow;
      expect(() => shredRows(columns, [row], { start: 0, end: 1 }, {}, newStringBytes())).toThrow();
      expect(() => {
        const buffer: RowBuffer = {};
        ParquetShredder.shredRecord(schema, rowForAppend(columns, row, buffer, newStringBytes()), buffer);
      }).toThrow();
    }
  });
});
