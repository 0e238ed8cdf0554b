/**
 * One file on every core (core/split-decode.ts), end to end: the binary exports a multi-chunk
 * `.warc.gz` (1 MiB chunks) with `--threads 2`, where its chunks decode apart on both threads,
 * and with `--threads 1`, where they decode in order on one lane: the rows are identical, in
 * file order, for both schemas; and a file whose payloads hold stored `.warc.gz` records (a
 * false boundary in every record) still exports each record once.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { falseBoundaryWarc } from '../support/false-boundary-warc.ts';
import { duckdbRows } from '../support/parquet-rows.ts';
import { runWorkerCommand } from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-split-'));
const options = { cwd: workFolder, env: { PATH: process.env.PATH ?? '', HOME: workFolder } };

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

/** What the run summary says was read: the same file must read the same bytes however it is decoded. */
const readBytes = new Map<string, string>();

async function exportRows(input: string, threads: number, schema: string): Promise<Record<string, unknown>[]> {
  const output = join(workFolder, `out-${schema}-${threads}-${input.replace(/\W/g, '')}`);
  const args = ['--input', input, '--output', output, '--threads', String(threads), '--chunk-mb', '1'];
  const split = ['--split-decode', threads > 1 ? 'on' : 'off'];
  const exit = await runWorkerCommand([...args, ...split, '--schema', schema, '--metrics', 'none'], options, 240_000);
  expect(exit.code, exit.stderr).toBe(0);
  const read = /\bread (\S+ \S+),/.exec(exit.stderr)?.[1];
  expect(read, exit.stderr).toBeDefined();
  const before = readBytes.get(`${input}:${schema}`);
  if (before === undefined) readBytes.set(`${input}:${schema}`, String(read));
  else expect(read, 'bytes read with two threads against one').toBe(before);
  // In the object's order: rows must come out in file order, not only as the same set.
  return duckdbRows(`SELECT * FROM read_parquet('${output}/**/*.parquet', hive_partitioning = false)`);
}

function inputFolder(name: string, write: (file: string) => void): string {
  const folder = join(workFolder, name);
  mkdirSync(folder);
  write(join(folder, `${name}.warc.gz`));
  return folder;
}

function offsetsAscend(rows: readonly Record<string, unknown>[]): boolean {
  const offsets = rows.map((row) => Number(row.warc_record_offset));
  return offsets.every((offset, at) => at === 0 || offset > (offsets[at - 1] ?? -1));
}

describe('one file on every core', () => {
  for (const schema of ['index', 'content']) {
    it(`exports the same rows with two threads as with one (${schema})`, async () => {
      const bytes = schema === 'index' ? 6_000_000 : 3_500_000;
      const input = inputFolder(`cc-${schema}`, (file) => writeCommonCrawlLikeWarc(file, bytes, 31));
      const one = await exportRows(input, 1, schema);
      const two = await exportRows(input, 2, schema);
      expect(one.length).toBeGreaterThan(100);
      expect(offsetsAscend(two)).toBe(true);
      expect(two).toEqual(one);
    }, 600_000);
  }

  it('exports each record once where payloads hold false boundaries', async () => {
    const input = inputFolder('fooled', (file) => writeFileSync(file, falseBoundaryWarc(6_000)));
    const one = await exportRows(input, 1, 'index');
    const two = await exportRows(input, 2, 'index');
    expect(one).toHaveLength(6_000);
    expect(offsetsAscend(two)).toBe(true);
    expect(two).toEqual(one);
  }, 600_000);
});
