/**
 * The index reader (adapters/source/index-table.ts, index-listing.ts) against files DuckDB
 * writes: Parquet in every codec DuckDB writes (uncompressed, SNAPPY, GZIP, ZSTD, BROTLI,
 * LZ4), with INT64 offsets past 2^31, and CSV plain and gzip'd, all read as the same rows;
 * the columnar index's languages, charset, detected type and digest carried with a row when
 * the file has them (empty cells and nulls left out), other columns ignored. A codec the reader lacks (LZO, set in a file's footer) and missing
 * columns are input faults naming them. Rows group into one input a file, ranges sorted and
 * each once, sized by the bytes they pick, resolved against a local, https:// or s3:// base.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { readIndexTable } from '../../adapters/source/index-table.ts';
import { resolveWarcFilename, subsetInputs } from '../../adapters/source/index-listing.ts';

const folder = mkdtempSync(join(tmpdir(), 'index-table-'));

afterAll(() => rmSync(folder, { recursive: true, force: true }));

const warcFile =
  'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-00000.warc.gz';

/** 1,000 rows over three files, with an extra column, as a query of the columnar index gives. */
const rowsQuery = (offsetType: string) => `SELECT
    'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-0000' || (i % 3) || '.warc.gz' AS warc_filename,
    (i * 29000 + 3000000000)::${offsetType} AS warc_record_offset,
    (20000 + i % 7)::INTEGER AS warc_record_length,
    'https://example.org/' || i AS url
  FROM range(1000) t(i)`;

async function duckdb(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(sql);
  connection.closeSync();
}

const expected = Array.from({ length: 1000 }, (_, i) => ({
  warcFilename: warcFile.replace('00000.warc.gz', `0000${i % 3}.warc.gz`),
  offsetBytes: i * 29000 + 3_000_000_000,
  lengthBytes: 20000 + (i % 7),
}));

describe('an index file', () => {
  it('reads as the same rows in every codec DuckDB writes, and as CSV, plain or gzip', async () => {
    for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'brotli', 'lz4']) {
      const path = join(folder, `${codec}.parquet`);
      await duckdb(`COPY (${rowsQuery('BIGINT')}) TO '${path}' (FORMAT parquet, COMPRESSION '${codec}')`);
      expect(await readIndexTable(readFileSync(path), path), codec).toEqual(expected);
    }
    const csv = join(folder, 'index.csv');
    await duckdb(`COPY (${rowsQuery('BIGINT')}) TO '${csv}' (FORMAT csv, HEADER true)`);
    expect(await readIndexTable(readFileSync(csv), csv)).toEqual(expected);
    expect(await readIndexTable(gzipSync(readFileSync(csv)), `${csv}.gz`)).toEqual(expected);
  }, 60_000);

  it('names a codec the reader lacks', async () => {
    const path = join(folder, 'lzo.parquet');
    await duckdb(`COPY (${rowsQuery('BIGINT')}) TO '${path}' (FORMAT parquet, COMPRESSION 'snappy')`);
    const bytes = readFileSync(path);
    // The footer's codec fields (thrift compact: field 4, i32) read SNAPPY (zigzag 2); LZO is 3 (zigzag 6).
    const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
    for (let at = footerStart; at < bytes.length - 9; at++)
      if (bytes[at] === 0x15 && bytes[at + 1] === 0x02) bytes[at + 1] = 0x06;
    await expect(readIndexTable(bytes, path)).rejects.toThrow(/unsupported compression codec: LZO/);
  });

  it('names the columns it lacks, as an input fault', async () => {
    const path = join(folder, 'partial.parquet');
    await duckdb(`COPY (SELECT 'x.warc.gz' AS warc_filename, 5 AS url) TO '${path}' (FORMAT parquet)`);
    const error = await readIndexTable(readFileSync(path), path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure.fault).toBe('input');
    expect((error as FailureError).message).toContain('lacks the columns warc_record_offset, warc_record_length');
    const csv = new TextEncoder().encode('warc_filename,offset\nx.warc.gz,1\n');
    await expect(readIndexTable(csv, 'x.csv')).rejects.toThrow(
      /lacks the columns warc_record_offset, warc_record_length/,
    );
  });

  it("carries the index's languages, charset, detected type and digest, in Parquet and CSV, where a row has them", async () => {
    const query = `SELECT 'x.warc.gz' AS warc_filename, i * 100 AS warc_record_offset, 90 AS warc_record_length,
        CASE WHEN i = 0 THEN 'eng,deu' WHEN i = 1 THEN '' ELSE NULL END AS content_languages,
        CASE WHEN i < 2 THEN 'UTF-8' ELSE NULL END AS content_charset,
        CASE WHEN i = 0 THEN 'text/html' ELSE NULL END AS content_mime_detected,
        CASE WHEN i = 0 THEN 'A2TLQG6ZJXC4CR3PMK3NK3QWZ2CYL2PW' ELSE NULL END AS content_digest,
        'ignored' AS url
      FROM range(3) t(i)`;
    const parquet = join(folder, 'indexed.parquet');
    const csv = join(folder, 'indexed.csv');
    await duckdb(`COPY (${query}) TO '${parquet}' (FORMAT parquet, COMPRESSION 'zstd')`);
    await duckdb(`COPY (${query}) TO '${csv}' (FORMAT csv, HEADER true)`);
    const rows = [
      {
        warcFilename: 'x.warc.gz',
        offsetBytes: 0,
        lengthBytes: 90,
        indexed: {
          content_languages: 'eng,deu',
          content_charset: 'UTF-8',
          content_mime_detected: 'text/html',
          content_digest: 'A2TLQG6ZJXC4CR3PMK3NK3QWZ2CYL2PW',
        },
      },
      { warcFilename: 'x.warc.gz', offsetBytes: 100, lengthBytes: 90, indexed: { content_charset: 'UTF-8' } },
      { warcFilename: 'x.warc.gz', offsetBytes: 200, lengthBytes: 90 },
    ];
    expect(await readIndexTable(readFileSync(parquet), parquet)).toEqual(rows);
    expect(await readIndexTable(readFileSync(csv), csv)).toEqual(rows);
    // The picks of the file's input keep them; an index without the columns gives picks without.
    expect(subsetInputs(rows, '/cc')[0]?.picks).toEqual(rows.map(({ warcFilename: _name, ...pick }) => pick));
    const rowsWithout = await readIndexTable(readFileSync(join(folder, 'zstd.parquet')), 'zstd.parquet');
    expect(rowsWithout.every((row) => !('indexed' in row))).toBe(true);
  });

  it('refuses a row that is no byte range, naming the row', async () => {
    const csv = new TextEncoder().encode(
      'warc_filename,warc_record_offset,warc_record_length\nx.warc.gz,1,2\nx.warc.gz,-4,2\n',
    );
    await expect(readIndexTable(csv, 'x.csv')).rejects.toThrow(/row 2: warc_record_offset is -4/);
  });
});

describe('the inputs of an index', () => {
  it('are one a file, in name order, ranges sorted and each once, sized by the bytes they pick', () => {
    const rows = [
      { warcFilename: warcFile, offsetBytes: 500, lengthBytes: 10 },
      { warcFilename: 'other.warc.gz', offsetBytes: 0, lengthBytes: 10 },
      { warcFilename: warcFile, offsetBytes: 100, lengthBytes: 10 },
      { warcFilename: warcFile, offsetBytes: 500, lengthBytes: 10 },
    ];
    const inputs = subsetInputs(rows, 'https://data.commoncrawl.org/');
    expect(inputs.map((input) => input.filename)).toEqual([warcFile, 'other.warc.gz']);
    const [first] = inputs;
    expect(first?.uri).toBe(`https://data.commoncrawl.org/${warcFile}`);
    expect(first?.crawl).toBe('CC-MAIN-2024-22');
    expect(first?.subset).toBe('warc');
    expect(first?.picks).toEqual([
      { offsetBytes: 100, lengthBytes: 10 },
      { offsetBytes: 500, lengthBytes: 10 },
    ]);
    // The bytes picked, not the file's: what a subset reads and its progress counts.
    expect(first?.sizeBytes).toBe(20);
    expect(() => subsetInputs([...rows, { warcFilename: warcFile, offsetBytes: 505, lengthBytes: 10 }], '/')).toThrow(
      /overlapping ranges/,
    );
  });

  it('resolve against a local folder, https:// and s3:// bases', () => {
    expect(resolveWarcFilename('s3://commoncrawl/', warcFile)).toBe(`s3://commoncrawl/${warcFile}`);
    expect(resolveWarcFilename('https://mirror.example/cc', warcFile)).toBe(`https://mirror.example/cc/${warcFile}`);
    expect(resolveWarcFilename('/data/mirror', warcFile)).toBe(`/data/mirror/${warcFile}`);
  });
});
