/**
 * The memory a subset's index holds once read and grouped into inputs (index-table.ts,
 * index-listing.ts): one million rows over 90,000 files (a crawl's count), written by DuckDB
 * as ZSTD Parquet, with the columnar index's `content_languages`, `content_charset`,
 * `content_mime_detected` and `content_digest` (a 32-character digest), against the baseline
 * measured in the same run, the same rows with the three range columns only. The heap is
 * measured after a full collection, before the rows are read and while the inputs are held;
 * `indexRowsMax` (10 million rows) bounds what a run holds.
 *
 * Run: npm run bench -- subset-index-memory   (or npx tsx test/bench/subset-index-memory.ts);
 * about 20 s.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DuckDBInstance } from '@duckdb/node-api';
import { readIndexTable } from '../../adapters/source/index-table.ts';
import { subsetInputs } from '../../adapters/source/index-listing.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const rows = 1_000_000;
const files = 90_000;

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function rowsQuery(indexed: boolean): string {
  const columns = indexed
    ? `, ['eng', 'eng,deu', 'fra'][1 + i % 3] AS content_languages, 'UTF-8' AS content_charset,
       'text/html' AS content_mime_detected, upper(md5(i::VARCHAR)[1:32]) AS content_digest`
    : '';
  return `SELECT 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-'
      || lpad((i % ${files})::VARCHAR, 5, '0') || '.warc.gz' AS warc_filename,
    (i // ${files}) * 30000 AS warc_record_offset, 20000 AS warc_record_length ${columns}
    FROM range(${rows}) t(i)`;
}

/** Heap bytes a row the inputs of `path` hold. */
async function heldBytesPerRow(path: string): Promise<number> {
  const bytes = readFileSync(path);
  collect();
  const before = process.memoryUsage().heapUsed;
  const table = await readIndexTable(bytes, path);
  const inputs = subsetInputs(table, 's3://commoncrawl/');
  table.length = 0;
  collect();
  const held = process.memoryUsage().heapUsed - before;
  // Read after the measure, so the inputs are held through it.
  if (inputs.length !== files) throw new Error(`${inputs.length} inputs, ${files} expected`);
  return held / rows;
}

export async function run(): Promise<BenchFigure[]> {
  const folder = mkdtempSync(join(tmpdir(), 'subset-index-memory-'));
  try {
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    const paths = { ranges: join(folder, 'ranges.parquet'), indexed: join(folder, 'indexed.parquet') };
    await connection.run(`COPY (${rowsQuery(false)}) TO '${paths.ranges}' (FORMAT parquet, COMPRESSION 'zstd')`);
    await connection.run(`COPY (${rowsQuery(true)}) TO '${paths.indexed}' (FORMAT parquet, COMPRESSION 'zstd')`);
    connection.closeSync();
    const ranges = await heldBytesPerRow(paths.ranges);
    const indexed = await heldBytesPerRow(paths.indexed);
    return [
      {
        name: 'heap held a row, ranges and the four indexed columns',
        value: Math.round(indexed),
        unit: 'B',
        baseline: { name: 'ranges only', value: Math.round(ranges) },
        ratio: indexed / ranges,
        // 10 million rows (indexRowsMax) within 2.5 GB.
        goal: '<= 250 B',
      },
    ];
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('subset-index-memory', await run());
}
