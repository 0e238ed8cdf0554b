// Proves that row groups encoded apart (Encoder.encodeDetached), each batch on its own as a
// separate thread would, then put together as head + bytes... + footer, make the same Parquet
// file as the job encoder writing the same batches in turn: the same rows read back by two
// independent readers (DuckDB and hyparquet), the very footer bytes, the same row groups with
// their row counts and min/max statistics; for both schemas and every compression. Also: no
// rows give nothing to place and a footer of nothing is a valid empty file, the parts survive
// structured clone (how they cross threads), and wrong placements or entries fail loudly.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createParquetEncoder,
  rowGroupsByPayload,
  type ParquetEncoderCompression,
} from '../../adapters/parquet/parquet-encoder.ts';
import type { CaptureRow, ExportRow, OutputSchema } from '../../core/capture-row.ts';
import type { DetachedRowGroups, Encoder } from '../../core/encoder.ts';
import { exportRowArbitrary } from '../support/export-row-arbitrary.ts';
import { duckdbRows } from '../support/parquet-rows.ts';

const compressions: readonly ParquetEncoderCompression[] = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI'];
const schemas: readonly OutputSchema[] = ['index', 'content'];
/**
 * Each run encodes every batch twice and starts two DuckDB databases; runs are few and the
 * timeout long because BROTLI (zlib's quality 11 per column chunk) and a loaded shared machine
 * make a run take seconds.
 */
const propertyTimeoutMs = 300_000;
/** Small enough that generated payloads (up to 300 bytes) split content batches into several row groups. */
const rowGroupPayloadBytes = 400;

let folder: string;
let fileCount = 0;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'parquet-detached-test-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

interface Assembled {
  readonly file: Buffer;
  readonly footer: Uint8Array;
}

/** The reference: one job encoder, a `writeRowGroup` per batch, then `finish`. */
async function jobFile(encoder: Encoder, batches: readonly (readonly ExportRow[])[]): Promise<Assembled> {
  const job = encoder.open();
  const pieces: Uint8Array[] = [];
  for (const rows of batches) pieces.push(...(await job.writeRowGroup(rows)));
  const footer = Buffer.concat(await job.finish());
  return { file: Buffer.concat([...pieces, footer]), footer };
}

/**
 * Each batch encoded apart and passed through structured clone (as a worker thread would hand it
 * over), then placed one after another behind the head, and the footer built from the entries.
 */
async function detachedFile(encoder: Encoder, batches: readonly (readonly ExportRow[])[]): Promise<Assembled> {
  const parts: DetachedRowGroups[] = [];
  for (const rows of batches) parts.push(structuredClone(await encoder.encodeDetached(rows)));
  let offsetBytes = encoder.head.byteLength;
  const placed = parts.map((part) => {
    const placement = { footerEntries: part.footerEntries, offsetBytes };
    offsetBytes += part.bytes.byteLength;
    return placement;
  });
  const footer = await encoder.footer(placed);
  return { file: Buffer.concat([encoder.head, ...parts.map((part) => part.bytes), footer]), footer };
}

function written(bytes: Buffer): string {
  fileCount += 1;
  const path = join(folder, `file-${fileCount}.parquet`);
  writeFileSync(path, bytes);
  return path;
}

async function duckdbRead(bytes: Buffer): Promise<Record<string, unknown>[]> {
  return duckdbRows(`SELECT * FROM read_parquet('${written(bytes)}', file_row_number = true) ORDER BY file_row_number`);
}

/**
 * The file's URLs as hex of their UTF-8 bytes: @duckdb/node-api turns strings into JavaScript
 * ones with a default TextDecoder, which drops a leading U+FEFF.
 */
async function duckdbUrlBytes(bytes: Buffer): Promise<unknown[]> {
  const sql = `SELECT hex(encode(url)) AS url FROM read_parquet('${written(bytes)}', file_row_number = true) ORDER BY file_row_number`;
  return (await duckdbRows(sql)).map((row) => row['url']);
}

function arrayBufferOf(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

async function hyparquetRead(bytes: Buffer): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: arrayBufferOf(bytes), compressors });
}

/** Row count of each row group, from the footer as hyparquet reads it. */
function rowGroupRows(bytes: Buffer): number[] {
  return parquetMetadata(arrayBufferOf(bytes)).row_groups.map((group) => Number(group.num_rows));
}

/**
 * The footer's row groups without their positions: all that must not change when row groups
 * are encoded apart. (Positions may: parquetjs also writes a copy of each chunk's metadata inside
 * the row group bytes, and a detached copy's offsets, counted from the batch's first byte, can
 * take fewer varint bytes than the absolute ones the job encoder writes.)
 */
function placeFreeMetadata(bytes: Buffer): unknown {
  return parquetMetadata(arrayBufferOf(bytes)).row_groups.map((group) => ({
    rows: group.num_rows,
    columns: group.columns.map((chunk) => {
      const { data_page_offset, dictionary_page_offset, index_page_offset, ...placeFree } = chunk.meta_data!;
      return { placeFree, placed: [data_page_offset > 0n, dictionary_page_offset, index_page_offset] };
    }),
  }));
}

/** Each column chunk's pages, cut out of the file where the footer says they are. */
function columnChunkPages(bytes: Buffer): Buffer[][] {
  return parquetMetadata(arrayBufferOf(bytes)).row_groups.map((group) =>
    group.columns.map((chunk) => {
      const start = Number(chunk.meta_data!.data_page_offset);
      return bytes.subarray(start, start + Number(chunk.meta_data!.total_compressed_size));
    }),
  );
}

/** The row groups the encoder promises for a batch: one, or one per payload run (content). */
function expectedRowGroupRows(batches: readonly (readonly ExportRow[])[]): number[] {
  return batches
    .filter((rows) => rows.length > 0)
    .flatMap((rows) => rowGroupsByPayload(rows, rowGroupPayloadBytes).map((group) => group.length));
}

/** Rows cut into consecutive batches at the given points (any points, empty batches included). */
function cutAt(rows: readonly ExportRow[], cuts: readonly number[]): ExportRow[][] {
  const points = cuts.map((cut) => cut % (rows.length + 1)).sort((left, right) => left - right);
  const batches: ExportRow[][] = [];
  let start = 0;
  for (const point of [...points, rows.length]) {
    batches.push(rows.slice(start, point));
    start = point;
  }
  return batches;
}

describe.each(schemas.flatMap((schema) => compressions.map((compression) => ({ schema, compression }))))(
  'detached row groups, $schema schema, $compression',
  ({ schema, compression }) => {
    const encoder = createParquetEncoder({ compression, schema, rowGroupPayloadBytes });

    it(
      'make, batches encoded apart, the file the job encoder writes: same rows in DuckDB and hyparquet, same footer but for positions, same pages where it points',
      async () => {
        const rowsAndCuts = fc.tuple(
          fc.array(exportRowArbitrary(schema), { maxLength: 30 }),
          fc.array(fc.nat(), { maxLength: 3 }),
        );
        await fc.assert(
          fc.asyncProperty(rowsAndCuts, async ([rows, cuts]) => {
            const batches = cutAt(rows, cuts);
            const reference = await jobFile(encoder, batches);
            const detached = await detachedFile(encoder, batches);
            expect(placeFreeMetadata(detached.file)).toEqual(placeFreeMetadata(reference.file));
            expect(columnChunkPages(detached.file)).toEqual(columnChunkPages(reference.file));
            const fromDuckdb = await duckdbRead(detached.file);
            expect(fromDuckdb).toEqual(await duckdbRead(reference.file));
            const urls = rows.map((row) => Buffer.from(row.url).toString('hex').toUpperCase());
            expect(await duckdbUrlBytes(detached.file)).toEqual(urls);
            expect(await hyparquetRead(detached.file)).toEqual(await hyparquetRead(reference.file));
            expect(rowGroupRows(detached.file)).toEqual(expectedRowGroupRows(batches));
          }),
          { numRuns: 6 },
        );
      },
      propertyTimeoutMs,
    );
  },
);

function numberedRow(number: number, url: string, payloadBytes: number): ExportRow {
  return {
    url_surtkey: `com,example)/${number}`,
    url,
    warc_filename: 'crawl-data/segment/warc/file.warc.gz',
    warc_record_offset: 2 ** 40 + number,
    warc_record_length: 100 + number,
    warc_record_id: `<urn:uuid:${number}>`,
    content: new Uint8Array(payloadBytes).fill(number),
    content_length: payloadBytes,
  } as unknown as ExportRow;
}

interface ColumnStatistic {
  readonly group: number;
  readonly rows: number;
  readonly minimum: unknown;
  readonly maximum: unknown;
}

async function statistics(bytes: Buffer, column: string): Promise<ColumnStatistic[]> {
  const found = await duckdbRows(
    `SELECT row_group_id, row_group_num_rows, stats_min_value, stats_max_value FROM parquet_metadata('${written(bytes)}') WHERE path_in_schema = '${column}' ORDER BY row_group_id`,
  );
  return found.map((values) => ({
    group: Number(values['row_group_id']),
    rows: Number(values['row_group_num_rows']),
    minimum: values['stats_min_value'],
    maximum: values['stats_max_value'],
  }));
}

describe('detached row groups: the footer', () => {
  it('holds each row group its row count and min/max, read back by DuckDB', async () => {
    const encoder = createParquetEncoder({ schema: 'content', rowGroupPayloadBytes: 1000 });
    // UTF-16 puts U+FF01 after U+1F980; UTF-8 bytes (the order readers assume) put it before.
    const batches = [
      [numberedRow(7, 'x\u{1F980}', 600), numberedRow(3, 'x\uFF01', 600), numberedRow(5, 'b', 100)],
      [numberedRow(9, 'm', 10), numberedRow(1, 'a', 10)],
    ];
    const { file } = await detachedFile(encoder, batches);
    // The first batch splits by payload: 600 bytes, then 600 + 100.
    expect(await statistics(file, 'url')).toEqual([
      { group: 0, rows: 1, minimum: 'x\u{1F980}', maximum: 'x\u{1F980}' },
      { group: 1, rows: 2, minimum: 'b', maximum: 'x\uFF01' },
      { group: 2, rows: 2, minimum: 'a', maximum: 'm' },
    ]);
    expect(await statistics(file, 'warc_record_offset')).toEqual([
      { group: 0, rows: 1, minimum: String(2 ** 40 + 7), maximum: String(2 ** 40 + 7) },
      { group: 1, rows: 2, minimum: String(2 ** 40 + 3), maximum: String(2 ** 40 + 5) },
      { group: 2, rows: 2, minimum: String(2 ** 40 + 1), maximum: String(2 ** 40 + 9) },
    ]);
    const urls = await duckdbRows(`SELECT url FROM read_parquet('${written(file)}') WHERE url = 'x\u{1F980}'`);
    expect(urls).toEqual([{ url: 'x\u{1F980}' }]);
  });

  it('gives no bytes and no entries for no rows, and a valid empty file for a footer of nothing', async () => {
    const encoder = createParquetEncoder();
    const none = await encoder.encodeDetached([]);
    expect([none.bytes.byteLength, none.footerEntries.byteLength, none.rowCount]).toEqual([0, 0, 0]);
    const empty = Buffer.concat([encoder.head, await encoder.footer([])]);
    expect(empty.equals((await jobFile(encoder, [])).file)).toBe(true);
    expect(await duckdbRead(empty)).toEqual([]);
    expect(rowGroupRows(empty)).toEqual([]);
    const columns = await duckdbRows(`SELECT * FROM parquet_schema('${written(empty)}') WHERE "name" <> 'root'`);
    expect(columns.map((column) => column['name'])).toContain('warc_record_offset');
    // An empty call placed between two others takes no room and adds no row group.
    const { file } = await detachedFile(encoder, [[numberedRow(1, 'a', 0)], [], [numberedRow(2, 'b', 0)]]);
    expect(rowGroupRows(file)).toEqual([1, 1]);
  });

  it('counts the rows of each call, content rows split into several row groups included', async () => {
    const encoder = createParquetEncoder({ schema: 'content', rowGroupPayloadBytes: 100 });
    const part = await encoder.encodeDetached([
      numberedRow(1, 'a', 80),
      numberedRow(2, 'b', 80),
      numberedRow(3, 'c', 0),
    ]);
    expect(part.rowCount).toBe(3);
    const file = Buffer.concat([encoder.head, part.bytes, await encoder.footer([{ ...part, offsetBytes: 4 }])]);
    expect(rowGroupRows(file)).toEqual([1, 2]);
  });

  it('refuses placements inside the head or over the row groups before', async () => {
    const encoder = createParquetEncoder();
    const first = await encoder.encodeDetached([numberedRow(1, 'a', 0)]);
    const second = await encoder.encodeDetached([numberedRow(2, 'b', 0)]);
    await expect(encoder.footer([{ footerEntries: first.footerEntries, offsetBytes: 0 }])).rejects.toThrow(
      /row groups 0 start at 0/,
    );
    const overlapping = [
      { footerEntries: first.footerEntries, offsetBytes: 4 },
      { footerEntries: second.footerEntries, offsetBytes: 4 + first.bytes.byteLength - 1 },
    ];
    await expect(encoder.footer(overlapping)).rejects.toThrow(/row groups 1 start at/);
    const outOfOrder = [
      { footerEntries: second.footerEntries, offsetBytes: 4 + first.bytes.byteLength },
      { footerEntries: first.footerEntries, offsetBytes: 4 },
    ];
    await expect(encoder.footer(outOfOrder)).rejects.toThrow(/row groups 1 start at 4/);
    await expect(encoder.footer([{ footerEntries: first.footerEntries, offsetBytes: 4.5 }])).rejects.toThrow(
      /start at 4.5/,
    );
  });

  it('refuses footer entries it did not write', async () => {
    const encoder = createParquetEncoder();
    const { footerEntries } = await encoder.encodeDetached([numberedRow(1, 'a', 0)]);
    for (const entries of [
      footerEntries.subarray(0, footerEntries.byteLength - 3),
      new Uint8Array([0x15, 0xff, 0xff]),
    ]) {
      await expect(encoder.footer([{ footerEntries: entries, offsetBytes: 4 }])).rejects.toThrow(/did not write/);
    }
  });

  it('rejects a row that breaks the schema', async () => {
    const encoder = createParquetEncoder();
    const broken = { ...numberedRow(1, 'a', 0), url: null } as unknown as CaptureRow;
    await expect(encoder.encodeDetached([numberedRow(2, 'b', 0), broken])).rejects.toThrow(/url/);
    // Each call has an encoder of its own: a failed one leaves the next unharmed.
    expect((await encoder.encodeDetached([numberedRow(3, 'c', 0)])).rowCount).toBe(1);
  });
});
