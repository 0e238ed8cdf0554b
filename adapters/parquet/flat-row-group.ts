import { createRequire } from 'node:module';
import type { ExportRow } from '../../core/capture-row.ts';
import { encodeDefinitionLevels } from './definition-levels.ts';
import { checkedBytes, checkedInteger, checkedString, type FlatColumn } from './flat-columns.ts';
import { compressPage, type PageCompression } from './page-compression.ts';
import { int64, serializeCompact } from './compact-thrift.ts';

type ParquetThrift = typeof import('@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js');
type RowGroup = InstanceType<ParquetThrift['RowGroup']>;
type ColumnChunk = InstanceType<ParquetThrift['ColumnChunk']>;
type Statistics = InstanceType<ParquetThrift['Statistics']>;
type ColumnMetaData = InstanceType<ParquetThrift['ColumnMetaData']>;

// parquetjs's generated Thrift classes, so row groups encoded here are the structs its own
// writer makes; they write themselves through `serializeCompact`. A CommonJS module whose
// enums ESM named imports cannot see, hence require.
const require = createRequire(import.meta.url);
const thrift = require('@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js') as ParquetThrift;

/** One row group's bytes, in the order they go to the file, and its metadata for the footer. */
export interface EncodedRowGroup {
  readonly pieces: readonly Buffer[];
  readonly byteLength: number;
  readonly metadata: RowGroup;
}

/** A column's present values, gathered in one pass over the rows, and what the page needs of them. */
interface GatheredColumn {
  /** One a row, 1 for a value and 0 for a null; null for a required column. */
  readonly levels: Uint8Array | null;
  readonly values: (Uint8Array | string | number)[];
  /** PLAIN bytes of the values: a 4-byte length before each byte array. */
  readonly valueBytes: number;
  readonly statistics: Statistics | undefined;
}

const plainLengthBytes = 4;
const integerBytes: Record<FlatColumn['physicalType'], number> = { BYTE_ARRAY: 0, INT32: 4, INT64: 8 };

/**
 * A code unit's place in UTF-8 byte order: UTF-16 puts the surrogates (the halves of code points
 * past U+FFFF, whose UTF-8 bytes sort after every other) before U+E000-U+FFFF, so they move up.
 */
function utf8Rank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  return unit >= 0xd800 ? unit + 0x2000 : unit;
}

/**
 * Strings compared as their UTF-8 bytes compare, without encoding them. A string with a lone
 * surrogate (written as U+FFFD's bytes) is compared by its bytes; decoded text never has one.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left === right) continue;
    if (left < 0xd800 && right < 0xd800) return left - right;
    if (!a.isWellFormed() || !b.isWellFormed()) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    return utf8Rank(left) - utf8Rank(right);
  }
  return a.length - b.length;
}

/**
 * Min, max, null and distinct counts as parquetjs writes them: strings compared as unsigned UTF-8
 * bytes (the order readers assume), integers as numbers, min and max as their PLAIN bytes.
 * Strings are kept as strings and only min and max encoded: a Buffer for each distinct value
 * (every URL is one) was 4 % of the index export's CPU thread with the garbage it made.
 */
class ColumnStatistics {
  private readonly strings = new Set<string>();
  private minString: string | undefined;
  private maxString: string | undefined;
  private readonly integers = new Set<number>();

  addString(value: string): void {
    if (this.strings.has(value)) return;
    this.strings.add(value);
    if (this.minString === undefined || compareUtf8(value, this.minString) < 0) this.minString = value;
    if (this.maxString === undefined || compareUtf8(value, this.maxString) > 0) this.maxString = value;
  }

  addInteger(value: number): void {
    this.integers.add(value);
  }

  finish(column: FlatColumn, nulls: number): Statistics {
    const [min, max] = column.kind === 'integer' ? this.integerBounds(column) : this.stringBounds();
    const bounds = min === undefined || max === undefined ? {} : { max, min, max_value: max, min_value: min };
    return new thrift.Statistics({
      ...bounds,
      null_count: int64(nulls),
      distinct_count: int64(column.kind === 'integer' ? this.integers.size : this.strings.size),
    });
  }

  private stringBounds(): [Buffer | undefined, Buffer | undefined] {
    if (this.minString === undefined || this.maxString === undefined) return [undefined, undefined];
    return [Buffer.from(this.minString, 'utf8'), Buffer.from(this.maxString, 'utf8')];
  }

  private integerBounds(column: FlatColumn): [Buffer | undefined, Buffer | undefined] {
    if (this.integers.size === 0) return [undefined, undefined];
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const value of this.integers) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    return [plainInteger(column, min), plainInteger(column, max)];
  }
}

function plainInteger(column: FlatColumn, value: number): Buffer {
  const bytes = Buffer.allocUnsafe(integerBytes[column.physicalType]);
  writeInteger(column, value, bytes, 0);
  return bytes;
}

function writeInteger(column: FlatColumn, value: number, target: Buffer, offset: number): number {
  if (column.physicalType === 'INT32') return target.writeInt32LE(value, offset);
  return target.writeBigInt64LE(BigInt(value), offset);
}

/** The bytes a present value takes in the page, and the value as the page writer wants it. */
function gatherValue(
  column: FlatColumn,
  value: unknown,
  statistics: ColumnStatistics | null,
): [Uint8Array | string | number, number] {
  if (column.kind === 'integer') {
    const integer = checkedInteger(column, value);
    statistics?.addInteger(integer);
    return [integer, integerBytes[column.physicalType]];
  }
  if (column.kind === 'bytes') {
    const bytes = checkedBytes(column, value);
    return [bytes, plainLengthBytes + bytes.byteLength];
  }
  const text = checkedString(column, value);
  // Written straight into the page, with no Buffer of its own.
  statistics?.addString(text);
  return [text, plainLengthBytes + Buffer.byteLength(text, 'utf8')];
}

function gatherColumn(column: FlatColumn, rows: readonly ExportRow[]): GatheredColumn {
  const levels = column.required ? null : new Uint8Array(rows.length);
  const statistics = column.statistics ? new ColumnStatistics() : null;
  const values: (Uint8Array | string | number)[] = [];
  let valueBytes = 0;
  for (const [index, row] of rows.entries()) {
    const value = row[column.name];
    if (value === null || value === undefined) {
      if (levels === null) throw new Error(`parquet encoder: missing required field: ${column.name}`);
      continue;
    }
    if (levels !== null) levels[index] = 1;
    const [kept, bytes] = gatherValue(column, value, statistics);
    values.push(kept);
    valueBytes += bytes;
  }
  return {
    levels,
    values,
    valueBytes,
    statistics: statistics?.finish(column, rows.length - values.length),
  };
}

function writeValue(column: FlatColumn, value: Uint8Array | string | number, page: Buffer, offset: number): number {
  if (typeof value === 'number') return writeInteger(column, value, page, offset);
  if (typeof value === 'string') {
    const written = page.write(value, offset + plainLengthBytes, 'utf8');
    page.writeUInt32LE(written, offset);
    return offset + plainLengthBytes + written;
  }
  page.writeUInt32LE(value.byteLength, offset);
  page.set(value, offset + plainLengthBytes);
  return offset + plainLengthBytes + value.byteLength;
}

/**
 * The largest uncompressed page written into the thread's reused buffer. A fresh Buffer of a
 * content page's size (8 MiB and more) is fresh memory the kernel faults in page by page on
 * its first write, each time: filling fresh pages was 7.2 % of the content export's CPU thread
 * in its profile, 0.9 % with one buffer reused (docs/figures.md, "Content export"). A larger
 * page, rare (a row group is cut at 8 MiB of payload, a payload at `--content-max-kb`), gets a
 * Buffer of its own, so the reused one stays within this bound.
 */
const reusedPageBytesMax = 32 * 1024 * 1024;

/** The thread's page buffer, grown on demand up to `reusedPageBytesMax`; encoding is synchronous, so pages never interleave. */
let reusedPage = Buffer.allocUnsafe(0);

/**
 * A Buffer for a page body of `bytes`: the reused one when the page is compressed (the codec
 * writes its own output, so nothing keeps the body), a fresh one when it is written as it is.
 */
function pageBuffer(bytes: number, compression: PageCompression): Buffer {
  if (compression === 'UNCOMPRESSED' || bytes > reusedPageBytesMax) return Buffer.allocUnsafe(bytes);
  if (reusedPage.byteLength < bytes) {
    reusedPage = Buffer.allocUnsafe(bytes);
  }
  return reusedPage.subarray(0, bytes);
}

/**
 * The page's uncompressed body: definition levels (optional columns), then the values PLAIN, in
 * one Buffer of the exact size. Payloads are copied once, from their rows into this page.
 */
function pageBody(
  column: FlatColumn,
  gathered: GatheredColumn,
  rowCount: number,
  compression: PageCompression,
): Buffer {
  const levels = gathered.levels === null ? null : encodeDefinitionLevels(gathered.levels, rowCount);
  const levelBytes = levels?.byteLength ?? 0;
  const page = pageBuffer(levelBytes + gathered.valueBytes, compression);
  if (levels !== null) page.set(levels, 0);
  let offset = levelBytes;
  for (const value of gathered.values) offset = writeValue(column, value, page, offset);
  return page;
}

function pageHeader(
  uncompressedBytes: number,
  compressedBytes: number,
  rowCount: number,
  statistics?: Statistics,
): Buffer {
  return serializeCompact(
    new thrift.PageHeader({
      type: thrift.PageType.DATA_PAGE,
      uncompressed_page_size: uncompressedBytes,
      compressed_page_size: compressedBytes,
      data_page_header: new thrift.DataPageHeader({
        num_values: rowCount,
        encoding: thrift.Encoding.PLAIN,
        definition_level_encoding: thrift.Encoding.RLE,
        repetition_level_encoding: thrift.Encoding.RLE,
        ...(statistics === undefined ? {} : { statistics }),
      }),
    }),
  );
}

/**
 * A ColumnChunk made without its generated constructor, which first sets `file_offset` to a
 * `new Int64(0)` of its own (node-int64 allocates through the deprecated `new Buffer`, whose
 * check was 78 ms of a 300 MB content export's CPU thread); the fields it writes are all given.
 */
function columnChunk(fileOffset: number, metadata: ColumnMetaData): ColumnChunk {
  const chunk = Object.create(thrift.ColumnChunk.prototype) as ColumnChunk;
  return Object.assign(chunk, { file_offset: int64(fileOffset), meta_data: metadata });
}

interface EncodedColumnChunk {
  readonly pieces: readonly Buffer[];
  readonly byteLength: number;
  readonly uncompressedBytes: number;
  readonly chunk: ColumnChunk;
}

/**
 * One column chunk of one data page (version 1, as every reader reads), followed by its
 * ColumnMetaData, where parquetjs puts it and `file_offset` points.
 */
function encodeColumnChunk(
  column: FlatColumn,
  rows: readonly ExportRow[],
  compression: PageCompression,
  offset: number,
): EncodedColumnChunk {
  const gathered = gatherColumn(column, rows);
  const body = pageBody(column, gathered, rows.length, compression);
  const compressed = compressPage(compression, body);
  const header = pageHeader(body.byteLength, compressed.byteLength, rows.length, gathered.statistics);
  const metadata = new thrift.ColumnMetaData({
    type: thrift.Type[column.physicalType],
    encodings: [thrift.Encoding.RLE, thrift.Encoding.PLAIN],
    path_in_schema: [column.name],
    codec: thrift.CompressionCodec[compression],
    num_values: int64(rows.length),
    total_uncompressed_size: int64(header.byteLength + body.byteLength),
    total_compressed_size: int64(header.byteLength + compressed.byteLength),
    data_page_offset: int64(offset),
    ...(gathered.statistics === undefined ? {} : { statistics: gathered.statistics }),
  });
  const metadataBytes = serializeCompact(metadata);
  const metadataOffset = offset + header.byteLength + compressed.byteLength;
  return {
    pieces: [header, compressed, metadataBytes],
    byteLength: header.byteLength + compressed.byteLength + metadataBytes.byteLength,
    uncompressedBytes: header.byteLength + body.byteLength,
    chunk: columnChunk(metadataOffset, metadata),
  };
}

/**
 * Encodes `rows` as one row group of a flat schema, to be written at byte `offset` of the file,
 * without parquetjs's writer: it copies every value several times on its way to the page
 * (a Buffer a value, then a page, then page + header, then the column chunk, then the row group
 * column after column), which cost more than the content schema's decoding. Here each value is
 * copied once into its page and each compressed page is handed back as it is. The caller
 * writes the pieces in order and adds `metadata` to the footer's row groups.
 */
export function encodeFlatRowGroup(
  columns: readonly FlatColumn[],
  rows: readonly ExportRow[],
  compression: PageCompression,
  offset: number,
): EncodedRowGroup {
  const pieces: Buffer[] = [];
  const chunks: ColumnChunk[] = [];
  let byteLength = 0;
  let uncompressedBytes = 0;
  for (const column of columns) {
    const encoded = encodeColumnChunk(column, rows, compression, offset + byteLength);
    pieces.push(...encoded.pieces);
    chunks.push(encoded.chunk);
    byteLength += encoded.byteLength;
    uncompressedBytes += encoded.uncompressedBytes;
  }
  // Assigned, not given to the constructor, which copies every column chunk it is given.
  const metadata = Object.assign(new thrift.RowGroup(), {
    columns: chunks,
    total_byte_size: int64(uncompressedBytes),
    num_rows: int64(rows.length),
    total_compressed_size: int64(byteLength),
    file_offset: int64(offset),
  });
  return { pieces, byteLength, metadata };
}
