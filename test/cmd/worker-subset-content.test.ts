/**
 * Subsets of CommonCrawl-like files, whose captures are a request, a response and a metadata
 * record (languages, charset), one gzip member each (test/fixtures-gen/commoncrawl-like-warc.ts),
 * with the real binary. A picked range holds the response only: with an index that lacks the
 * columnar index's languages and charset, a subset's rows are the whole-file export's rows
 * with those two null; with an index that has them (DuckDB copies them from the whole export,
 * as a query of CommonCrawl's index would carry them), they are the whole-file export's rows,
 * every column. `--schema content` from a local folder and over HTTP gives exactly the picked
 * captures, each row's `content` and `http_headers` as warcio reads the same record. A subset's
 * size is the bytes it picks: the progress line (on a terminal) shows that total, and the run
 * summary reads as many bytes.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WARCParser } from 'warcio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesText } from '../../core/units-text.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { startCommonCrawlHttpServer, type CommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import { duckdbRows } from '../support/parquet-rows.ts';

const binary = resolve(import.meta.dirname, '../../cmd/worker');
const workFolder = mkdtempSync(join(tmpdir(), 'worker-subset-content-'));
const crawlBase = join(workFolder, 'base');
const wholeOutput = join(workFolder, 'whole');
const environment = { PATH: process.env.PATH ?? '', HOME: workFolder };
const segment = 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc';
const warcPaths = [0, 1].map((index) => `${segment}/CC-MAIN-20240517233122-20240518023122-0000${index}.warc.gz`);
/** About 60 pages a file: enough captures for a pick of one in three over two files, quick to export. */
const fileBytes = 600_000;

type Row = Record<string, unknown>;

let server: CommonCrawlHttpServer;
/** Every row of the whole-file export, and the third of them the indexes pick. */
let captures: Row[];
let picked: Row[];

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [binary, '--metrics', 'none', '--threads', '1', ...args], {
    env: environment,
    cwd: workFolder,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveRun) => child.on('exit', (code) => resolveRun({ code, stderr })));
}

/** Every column of the Parquet files (of the index schema) below `folder`, in capture order. */
function rowsOf(folder: string): Promise<Row[]> {
  return duckdbRows(`SELECT * FROM read_parquet('${folder}/**/*.parquet') ORDER BY warc_filename, warc_record_offset`);
}

const pickQuery = (columns: string): string =>
  `SELECT ${columns} FROM read_parquet('${wholeOutput}/**/*.parquet')
   QUALIFY row_number() OVER (ORDER BY warc_filename, warc_record_offset) % 3 = 0`;

/** An index DuckDB writes of the pick, with `columns`. */
async function writeIndex(name: string, columns: string, format: string): Promise<string> {
  const path = join(workFolder, name);
  await duckdbRows(`COPY (${pickQuery(columns)}) TO '${path}' (${format})`);
  return path;
}

const rangeColumns = 'warc_filename, warc_record_offset, warc_record_length';
const indexedColumns = 'content_languages, content_charset, content_mime_detected, content_digest';

beforeAll(async () => {
  const files = new Map<string, Uint8Array>();
  warcPaths.forEach((path, index) => {
    mkdirSync(join(crawlBase, segment), { recursive: true });
    writeCommonCrawlLikeWarc(join(crawlBase, path), fileBytes, 20240518 + index);
    files.set(path, new Uint8Array(readFileSync(join(crawlBase, path))));
  });
  server = await startCommonCrawlHttpServer(files);
  const whole = await run(['--input', join(crawlBase, 'crawl-data'), '--output', wholeOutput]);
  expect(whole.stderr).toContain('2 files exported, 0 failed');
  captures = await rowsOf(wholeOutput);
  picked = captures.filter((_, index) => (index + 1) % 3 === 0);
  expect(picked.length).toBeGreaterThan(30);
  // The whole files' rows hold what their metadata records say: the case this file is about.
  expect(picked.every((row) => row.content_languages === 'eng' && row.content_charset === 'UTF-8')).toBe(true);
}, 120_000);

afterAll(async () => {
  await server.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

describe('languages and charset of a subset', () => {
  it("are null without the index's columns, and with them the rows are the whole export's, every column", async () => {
    const without = await writeIndex('ranges.csv', `${rangeColumns}, url`, 'FORMAT csv, HEADER true');
    const withColumns = await writeIndex(
      'indexed.parquet',
      `${rangeColumns}, url, ${indexedColumns}`,
      "FORMAT parquet, COMPRESSION 'zstd'",
    );
    for (const [index, expected] of [
      [without, picked.map((row) => ({ ...row, content_languages: null, content_charset: null }))],
      [withColumns, picked],
    ] as const) {
      const output = join(workFolder, `indexed-${expected === picked ? 'with' : 'without'}`);
      const result = await run(['--input', `index:${index}`, '--cc-base', crawlBase, '--output', output]);
      expect(result.stderr).toContain('2 files exported, 0 failed');
      expect(await rowsOf(output)).toEqual(expected);
    }
  }, 120_000);

  it('are the index row’s for a `--where` on them, which sees them before it keeps a row', async () => {
    const index = await writeIndex('where.parquet', `${rangeColumns}, ${indexedColumns}`, 'FORMAT parquet');
    const output = join(workFolder, 'where');
    const result = await run([
      ...['--input', `index:${index}`, '--cc-base', crawlBase, '--output', output],
      ...['--where', "content_languages = 'eng'"],
    ]);
    expect(result.stderr).toContain('2 files exported, 0 failed');
    expect(await rowsOf(output)).toEqual(picked);
  }, 120_000);
});

interface WarcioRecord {
  readonly content: string;
  readonly headers: Record<string, string>;
}

/**
 * warcio's reading of every response of the crawl, by file and WARC-Record-ID (the generator
 * numbers records the same in every file): its decoded payload (hex) and HTTP headers.
 */
async function warcioResponses(): Promise<Map<string, WarcioRecord>> {
  const records = new Map<string, WarcioRecord>();
  for (const path of warcPaths) {
    const bytes = readFileSync(join(crawlBase, path));
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < bytes.length; offset += 65536) yield bytes.subarray(offset, offset + 65536);
    }
    for await (const record of WARCParser.iterRecords(source())) {
      const id = record.warcHeader('WARC-Record-ID');
      if (record.warcType !== 'response' || typeof id !== 'string') continue;
      const headers: Record<string, string> = {};
      for (const [name, value] of record.httpHeaders?.headers ?? []) {
        const key = name.toLowerCase();
        headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
      }
      const content = Buffer.from(await record.readFully(true)).toString('hex');
      records.set(`${path} ${id}`, { content, headers });
    }
  }
  return records;
}

describe('a subset in the content schema', () => {
  it('holds exactly the picked captures, from a local folder and over HTTP, content and headers as warcio reads them', async () => {
    const index = await writeIndex('content.parquet', rangeColumns, 'FORMAT parquet');
    const responses = await warcioResponses();
    for (const base of [crawlBase, server.baseUrl]) {
      const output = join(workFolder, base === crawlBase ? 'content-local' : 'content-http');
      const result = await run([
        ...['--input', `index:${index}`, '--cc-base', base, '--output', output, '--schema', 'content'],
      ]);
      expect(result.stderr, base).toContain('2 files exported, 0 failed');
      const rows = await duckdbRows(
        `SELECT warc_filename, warc_record_offset, warc_record_id, lower(hex(content)) AS content, http_headers
         FROM read_parquet('${output}/**/*.parquet') ORDER BY warc_filename, warc_record_offset`,
      );
      const where = (row: Row): Row => ({ file: row.warc_filename, offset: row.warc_record_offset });
      expect(rows.map(where), base).toEqual(picked.map(where));
      for (const row of rows) {
        const expected = responses.get(`${String(row.warc_filename)} ${String(row.warc_record_id)}`);
        expect(expected, `warcio reads ${String(row.warc_record_id)}`).toBeDefined();
        expect(row.content).toBe(expected?.content);
        expect(JSON.parse(String(row.http_headers))).toEqual(expected?.headers);
      }
      expect(new Set(rows.map((row) => `${String(row.warc_filename)} ${String(row.warc_record_id)}`)).size).toBe(
        picked.length,
      );
    }
  }, 180_000);
});

/** Runs the worker with stderr on a terminal (`script` gives it one), so the progress line is drawn. */
function runOnTerminal(args: string[]): Promise<string> {
  const quoted = [process.execPath, binary, '--metrics', 'none', '--threads', '1', ...args]
    .map((part) => `'${part.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const child = spawn('script', ['-qec', quoted, '/dev/null'], { env: environment, cwd: workFolder });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveRun) => child.on('exit', () => resolveRun(output)));
}

describe('the size of a subset', () => {
  it('is the bytes it picks: the progress line shows them as its total, and the run reads as many', async () => {
    const index = await writeIndex('sized.csv', rangeColumns, 'FORMAT csv, HEADER true');
    const pickedBytes = picked.reduce((sum, row) => sum + Number(row.warc_record_length), 0);
    const output = await runOnTerminal([
      ...['--input', `index:${index}`, '--cc-base', crawlBase, '--output', join(workFolder, 'sized')],
    ]);
    expect(output).toContain('2 files exported, 0 failed');
    // Every redraw of the line names the total: the bytes picked, not the files' sizes.
    const totals = [...output.matchAll(/ of ([\d.]+ [kMGT]?B) \(\d+%\)/g)].map((match) => match[1]);
    expect(totals.length).toBeGreaterThan(0);
    expect(new Set(totals)).toEqual(new Set([bytesText(pickedBytes)]));
    expect(output).toContain(`read ${bytesText(pickedBytes)},`);
  }, 120_000);
});
