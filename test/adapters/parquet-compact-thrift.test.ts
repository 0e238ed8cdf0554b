// Proves that the compact Thrift writer gives, byte for byte, what the `thrift` package's
// TCompactProtocol gives (through parquetjs's own `serializeThrift`) for every struct a Parquet
// file's metadata holds: page headers with statistics, column metadata, row groups, and whole
// footers with schema elements, key-values and booleans, and a file's footer as parquetjs's
// envelope writer writes it for each of the export schemas, over random values (negative and
// 64-bit integers, field ids that skip, lists past the short form, empty and long binaries);
// that the bytes decode back with parquetjs's reader; and that a value the protocol cannot
// write is refused, not written wrong. The thrift package takes plain numbers and absent
// (undefined) fields where its types want Int64s and omitted ones, so the values are cast.
// The reader gives the structs parquetjs's reader gives for those bytes, with every field the
// writer wrote (unknown fields skipped), and refuses entries cut short or of random bytes by
// throwing, never by reading past the end.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import Int64 from 'node-int64';
import { describe, expect, it } from 'vitest';
import { ParquetEnvelopeWriter } from '@dsnp/parquetjs/dist/lib/writer.js';
import { ByteCollector } from '../../adapters/parquet/byte-collector.ts';
import { deserializeCompact, serializeCompact } from '../../adapters/parquet/compact-thrift.ts';
import { fileFooter } from '../../adapters/parquet/file-footer.ts';
import { captureSchema } from '../../adapters/parquet/parquet-encoder.ts';

type ParquetThrift = typeof import('@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js');
type ParquetUtil = typeof import('@dsnp/parquetjs/dist/lib/util.js');

const require = createRequire(import.meta.url);
const thrift = require('@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js') as ParquetThrift;
const { decodeThrift } = require('@dsnp/parquetjs/dist/lib/util.js') as ParquetUtil;
/** parquetjs types its serializer for the structs it writes itself; every generated struct writes the same way. */
const serializeThrift = (require('@dsnp/parquetjs/dist/lib/util.js') as ParquetUtil).serializeThrift as (
  struct: object,
) => Buffer;

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const int64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(value);
    return new Int64(bytes);
  }),
  fc.maxSafeInteger().map((value) => new Int64(value)),
  fc.integer({ min: -1000, max: 1_000_000 }),
);
const binary = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ minLength: 130, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arbitrary, { nil: undefined });

const statistics = fc
  .record({
    max: optional(binary),
    min: optional(binary),
    null_count: optional(int64),
    distinct_count: optional(int64),
    max_value: optional(binary),
    min_value: optional(binary),
    is_max_value_exact: optional(fc.boolean()),
    is_min_value_exact: optional(fc.boolean()),
  })
  .map((fields) => new thrift.Statistics(fields as never));

const pageHeader = fc
  .record({
    type: fc.integer({ min: 0, max: 3 }),
    uncompressed_page_size: int32,
    compressed_page_size: int32,
    crc: optional(int32),
    data_page_header: fc.record({
      num_values: int32,
      encoding: fc.integer({ min: 0, max: 9 }),
      definition_level_encoding: fc.integer({ min: 0, max: 9 }),
      repetition_level_encoding: fc.integer({ min: 0, max: 9 }),
      statistics: optional(statistics),
    }),
  })
  .map(
    ({ data_page_header: data, ...fields }) =>
      new thrift.PageHeader({ ...fields, data_page_header: new thrift.DataPageHeader(data as never) } as never),
  );

const columnMetaData = fc
  .record({
    type: fc.integer({ min: 0, max: 7 }),
    encodings: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 20 }),
    path_in_schema: fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { minLength: 1, maxLength: 16 }),
    codec: fc.integer({ min: 0, max: 7 }),
    num_values: int64,
    total_uncompressed_size: int64,
    total_compressed_size: int64,
    data_page_offset: int64,
    dictionary_page_offset: optional(int64),
    statistics: optional(statistics),
  })
  .map((fields) => new thrift.ColumnMetaData(fields as never));

const rowGroup = fc
  .record({
    columns: fc.array(
      fc
        .record({ file_offset: int64, meta_data: columnMetaData })
        .map((fields) => new thrift.ColumnChunk(fields as never)),
      { minLength: 1, maxLength: 18 },
    ),
    total_byte_size: int64,
    num_rows: int64,
    file_offset: optional(int64),
    total_compressed_size: optional(int64),
    ordinal: optional(fc.integer({ min: -0x8000, max: 0x7fff })),
  })
  .map((fields) => new thrift.RowGroup(fields as never));

const schemaElement = fc
  .record({
    name: fc.string({ maxLength: 20 }),
    type: optional(fc.integer({ min: 0, max: 7 })),
    repetition_type: optional(fc.integer({ min: 0, max: 2 })),
    num_children: optional(int32),
    converted_type: optional(fc.integer({ min: 0, max: 21 })),
    type_length: optional(int32),
  })
  .map((fields) => new thrift.SchemaElement(fields as never));

const fileMetaData = fc
  .record({
    version: int32,
    schema: fc.array(schemaElement, { minLength: 1, maxLength: 20 }),
    num_rows: int64,
    row_groups: fc.array(rowGroup, { maxLength: 3 }),
    key_value_metadata: fc.array(
      fc
        .record({ key: fc.string(), value: optional(fc.string()) })
        .map((fields) => new thrift.KeyValue(fields as never)),
      { maxLength: 3 },
    ),
    created_by: optional(fc.string({ maxLength: 30 })),
  })
  .map((fields) => new thrift.FileMetaData(fields as never));

describe('compact thrift writer', () => {
  it('writes a page header with statistics as the thrift package does', () => {
    fc.assert(
      fc.property(pageHeader, (header) => {
        expect(serializeCompact(header)).toEqual(serializeThrift(header));
      }),
      { numRuns: 400 },
    );
  });

  it('writes column metadata and row groups as the thrift package does', () => {
    fc.assert(
      fc.property(columnMetaData, rowGroup, (metadata, group) => {
        expect(serializeCompact(metadata)).toEqual(serializeThrift(metadata));
        expect(serializeCompact(group)).toEqual(serializeThrift(group));
      }),
      { numRuns: 200 },
    );
  });

  it('writes a whole footer as the thrift package does, and parquetjs reads it back', () => {
    fc.assert(
      fc.property(fileMetaData, (metadata) => {
        const written = serializeCompact(metadata);
        expect(written).toEqual(serializeThrift(metadata));
        const read = new thrift.FileMetaData();
        expect(decodeThrift(read, written, 0)).toBe(written.length);
        expect(read.schema.map((element) => element.name)).toEqual(metadata.schema.map((element) => element.name));
        expect(read.row_groups.length).toBe(metadata.row_groups.length);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a 64-bit field that holds no integer', () => {
    const counts = new thrift.Statistics({ null_count: 1.5 as never });
    expect(() => serializeCompact(counts)).toThrow(/expected an Int64 or an integer/);
  });

  it("writes a file's footer as parquetjs's envelope writer does, for each schema and codec", async () => {
    for (const [schemaName, compression] of [
      ['index', 'GZIP'],
      ['content', 'SNAPPY'],
      ['content', 'UNCOMPRESSED'],
    ] as const) {
      const schema = captureSchema(compression, schemaName);
      await fc.assert(
        fc.asyncProperty(fc.array(rowGroup, { maxLength: 3 }), fc.nat(), async (groups, rowCount) => {
          const collector = new ByteCollector();
          const envelope = await ParquetEnvelopeWriter.openStream(schema, collector.stream as never, {});
          envelope.rowGroups = groups as never;
          envelope.rowCount.setValue(rowCount);
          envelope.writeFooter({});
          expect(fileFooter(schema, groups, rowCount)).toEqual(collector.takeJoined());
        }),
        { numRuns: 30 },
      );
    }
  });

  it("reads back what it wrote, as parquetjs's reader does, unknown fields skipped", () => {
    fc.assert(
      fc.property(rowGroup, fileMetaData, (group, metadata) => {
        for (const [struct, make] of [
          [group, () => new thrift.RowGroup()],
          [metadata, () => new thrift.FileMetaData()],
        ] as const) {
          const bytes = Buffer.concat([Buffer.from([7, 7]), serializeCompact(struct), Buffer.from([9])]);
          const ours = make();
          const theirs = make();
          expect(deserializeCompact(ours, bytes, 2)).toBe(bytes.length - 3);
          expect(decodeThrift(theirs as never, bytes, 2)).toBe(bytes.length - 3);
          expect(serializeCompact(ours)).toEqual(serializeThrift(theirs));
          expect(serializeCompact(ours)).toEqual(serializeCompact(struct));
        }
      }),
      { numRuns: 100 },
    );
    // A struct read as another skips every field the other does not know, nested ones included.
    const group = fc.sample(rowGroup, { seed: 7, numRuns: 1 })[0] ?? new thrift.RowGroup();
    const bytes = serializeCompact(group);
    expect(deserializeCompact(new thrift.KeyValue(), bytes, 0)).toBe(bytes.length);
  });

  it('refuses bytes cut short or random by throwing, never by reading past their end', () => {
    fc.assert(
      fc.property(rowGroup, fc.nat(), (group, cut) => {
        const bytes = serializeCompact(group);
        const short = bytes.subarray(0, cut % bytes.length);
        expect(() => deserializeCompact(new thrift.RowGroup(), short, 0)).toThrow();
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (random) => {
        const bytes = Buffer.from(random);
        let read: number | unknown;
        try {
          read = deserializeCompact(new thrift.RowGroup(), bytes, 0);
        } catch (error) {
          read = error;
        }
        // Outside the try, so a failed expectation is not taken for the reader's refusal.
        if (typeof read === 'number') expect(read).toBeLessThanOrEqual(bytes.length);
        else expect(read).toBeInstanceOf(Error);
      }),
      { numRuns: 2000 },
    );
  });
});
