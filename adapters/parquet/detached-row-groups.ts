// parquetjs's modules by path, not the package's index, which loads the AWS SDK (parquet-encoder.ts).
import type { ParquetSchema } from '@dsnp/parquetjs';
import parquetTypes from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';
import type { ColumnMetaData, RowGroup } from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';
import type { DetachedRowGroups, PlacedRowGroups } from '../../core/encoder.ts';
import { assert } from '../../core/failure.ts';
import { deserializeCompact, serializeCompact } from './compact-thrift.ts';
import { fileFooter, parquetMagic } from './file-footer.ts';

/**
 * Row groups encoded apart from their Parquet file, and the file's footer built from them later.
 *
 * A row group's bytes hold no absolute position except in parquetjs's copies of each column
 * chunk's metadata written after its pages, which the Parquet format keeps only for old readers
 * (`ColumnChunk.file_offset` is deprecated; every reader we target reads the footer's copy). The
 * job encoder writes detached row groups as if the file began at their first byte, so those
 * copies count from there; the footer's copies, the ones readers use, are moved to where the
 * bytes land. The footer entries of one call are its row groups' thrift `RowGroup` structs, one
 * after another: the compact protocol marks where each struct ends, so no framing is needed.
 */

/** A file's first four bytes: Parquet's magic, which its footer ends with too. */
export const parquetHead: Uint8Array = parquetMagic;

/** The detached form of row groups written by a job encoder whose offsets began at 0. */
export function detachedRowGroups(bytes: Uint8Array, groups: readonly RowGroup[]): DetachedRowGroups {
  const footerEntries = Buffer.concat(groups.map((group) => serializeCompact(group)));
  return { bytes, footerEntries, rowCount: rowCountOf(groups) };
}

/**
 * The file's last bytes: the footer over the placed row groups, in order, with every offset
 * moved by its group's position. The placements are checked to be in order and apart, so a
 * caller's mistake fails here instead of writing a file that readers misread.
 */
export async function detachedFooter(schema: ParquetSchema, placed: readonly PlacedRowGroups[]): Promise<Uint8Array> {
  const groups: RowGroup[] = [];
  let end = parquetHead.byteLength;
  for (const [index, placement] of placed.entries()) {
    const { offsetBytes } = placement;
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < end) {
      throw new Error(
        `parquet footer: row groups ${index} start at ${offsetBytes}, before the end of what precedes them (${end})`,
      );
    }
    const decoded = decodedRowGroups(placement.footerEntries);
    for (const group of decoded) {
      shiftRowGroup(group, offsetBytes);
      groups.push(group);
    }
    end = offsetBytes + decoded.reduce((sum, group) => sum + storedBytesOf(group), 0);
  }
  return footerBytes(schema, groups);
}

/**
 * The bytes a row group takes in the file: its compressed size. `total_byte_size` is the
 * uncompressed size (as the Parquet format defines it and the encoder writes it), larger than
 * what the group occupies once compressed; an encoder that leaves the compressed size unset
 * writes nothing compressed, so there the two agree.
 */
function storedBytesOf(group: RowGroup): number {
  return group.total_compressed_size === undefined || group.total_compressed_size === null
    ? int64Number(group.total_byte_size, 'total_byte_size')
    : int64Number(group.total_compressed_size, 'total_compressed_size');
}

/** The RowGroup structs of one call's footer entries, each read where the previous one ended. */
function decodedRowGroups(entries: Uint8Array): RowGroup[] {
  const bytes = Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength);
  const groups: RowGroup[] = [];
  // Each struct takes at least one byte (its stop field), so the loop ends within `bytes.length` turns.
  for (let offset = 0; offset < bytes.length;) {
    const group = new parquetTypes.RowGroup();
    const read = readRowGroup(group, bytes, offset);
    assert(read > 0, 'parquet footer: a row group entry of no bytes');
    groups.push(group);
    offset += read;
  }
  return groups;
}

function readRowGroup(group: RowGroup, bytes: Buffer, offset: number): number {
  try {
    const read = deserializeCompact(group, bytes, offset);
    if (offset + read > bytes.length) throw new Error(`ends ${offset + read - bytes.length} bytes past its end`);
    return read;
  } catch (error) {
    throw new Error(
      `parquet footer: footer entries that this encoder did not write (at byte ${offset}: ${(error as Error).message})`,
      { cause: error },
    );
  }
}

/** The parts of node-int64's `Int64` (parquetjs's and thrift's 64-bit integers) used here. */
interface Int64Like {
  valueOf(): number;
  setValue(value: number): void;
}

/** An Int64 as a number; past 2^53 node-int64 gives Infinity, which no offset or count here reaches. */
function int64Number(value: Int64Like | undefined, name: string): number {
  const number = value?.valueOf();
  assert(number !== undefined && Number.isSafeInteger(number), `parquet footer: ${name} is not a safe integer`);
  return number;
}

/** Thrift reads an absent optional field as null, parquetjs leaves it undefined: either is "not set". */
function shiftInt64(value: Int64Like | null | undefined, shift: number, name: string): void {
  if (value !== undefined && value !== null) value.setValue(int64Number(value, name) + shift);
}

/** Moves every offset of a decoded row group by `shift` bytes (the structs are fresh, so moving them in place is safe). */
function shiftRowGroup(group: RowGroup, shift: number): void {
  shiftInt64(group.file_offset, shift, 'file_offset');
  for (const chunk of group.columns) {
    shiftInt64(chunk.file_offset, shift, 'file_offset');
    shiftInt64(chunk.column_index_offset, shift, 'column_index_offset');
    shiftInt64(chunk.offset_index_offset, shift, 'offset_index_offset');
    if (chunk.meta_data !== undefined && chunk.meta_data !== null) shiftColumnMetaData(chunk.meta_data, shift);
  }
}

function shiftColumnMetaData(metadata: ColumnMetaData, shift: number): void {
  shiftInt64(metadata.data_page_offset, shift, 'data_page_offset');
  shiftInt64(metadata.dictionary_page_offset, shift, 'dictionary_page_offset');
  shiftInt64(metadata.index_page_offset, shift, 'index_page_offset');
  shiftInt64(metadata.bloom_filter_offset, shift, 'bloom_filter_offset');
}

/** The footer as parquetjs's own `ParquetWriter.close` writes it (no page index, no bloom filters, no key-value metadata). */
function footerBytes(schema: ParquetSchema, groups: readonly RowGroup[]): Uint8Array {
  return fileFooter(schema, groups, rowCountOf(groups));
}

function rowCountOf(groups: readonly RowGroup[]): number {
  return groups.reduce((sum, group) => sum + int64Number(group.num_rows, 'num_rows'), 0);
}
