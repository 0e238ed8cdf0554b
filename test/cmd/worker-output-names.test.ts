/**
 * End-to-end tests of the real binary's output names: `x.warc` and `x.warc.gz` in one folder
 * export to two objects, each with its own file's rows; and a local CommonCrawl mirror given
 * at its root, at a segment folder or as one file exports the row CommonCrawl's own path
 * gives (the same crawl served over HTTP as `cc:`), under the crawl's and subset's partition,
 * with a `warc_filename` that locates the file again from the mirror's root.
 */
import { duckdbRows } from '../support/parquet-rows.ts';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { startCommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import {
  localWorkerOptions,
  oneThreadNoMetrics,
  runWorkerCommand,
  type WorkerExit,
} from '../support/worker-process.ts';

const fixtures = resolve(sharedFixtureRoot);
const workFolder = mkdtempSync(join(tmpdir(), 'worker-output-names-'));

const crawl = 'CC-MAIN-2024-22';
const segment = '1715971057216.39';
/** Where CommonCrawl keeps the capture of the whirlwind fixture (its WARC-Filename and isPartOf). */
const ccPath = `crawl-data/${crawl}/segments/${segment}/warc/CC-MAIN-20240517233122-20240518023122-00000.warc.gz`;
const ccKey = `crawl=${crawl}/subset=warc/CC-MAIN-20240517233122-20240518023122-00000.parquet`;

/** Runs the binary without blocking this process's event loop, which may serve an HTTP tree. */
function runWorker(args: string[]): Promise<WorkerExit> {
  return runWorkerCommand([...args, ...oneThreadNoMetrics], localWorkerOptions(workFolder));
}

/** Every row of one object, read from that object alone (no partitions guessed from its path). */
function rowsOf(object: string): Promise<Record<string, unknown>[]> {
  return duckdbRows(`SELECT * FROM read_parquet('${object}', hive_partitioning = false) ORDER BY warc_record_offset`);
}

function objectsBelow(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.parquet') && !name.split('/').some((part) => part.startsWith('.')))
    .sort();
}

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

describe('node cmd/worker output names', () => {
  it('exports x.warc and x.warc.gz in one folder to two objects, each with its own rows', async () => {
    const input = join(workFolder, 'pair');
    mkdirSync(input);
    copyFileSync(join(fixtures, 'warcio-js/redirect.warc'), join(input, 'x.warc'));
    copyFileSync(join(fixtures, 'warcio/example.warc.gz'), join(input, 'x.warc.gz'));
    const output = join(workFolder, 'pair-out');
    const run = await runWorker(['--input', input, '--output', output]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('2 files exported, 0 failed');
    expect(objectsBelow(output)).toEqual([
      'crawl=unknown/subset=unknown/x.parquet',
      'crawl=unknown/subset=unknown/x.warc.parquet',
    ]);
    const plain = await rowsOf(join(output, 'crawl=unknown/subset=unknown/x.warc.parquet'));
    const gzip = await rowsOf(join(output, 'crawl=unknown/subset=unknown/x.parquet'));
    // redirect.warc holds one response; example.warc.gz a response and a revisit.
    expect(plain.map((row) => row.warc_filename)).toEqual(['x.warc']);
    expect(gzip.map((row) => row.warc_filename)).toEqual(['x.warc.gz', 'x.warc.gz']);
  });

  describe('a local CommonCrawl mirror', () => {
    const mirror = join(workFolder, 'mirror');
    const file = join(mirror, ccPath);
    let commonCrawlRows: Record<string, unknown>[];

    /** The rows CommonCrawl's own path gives: the same crawl served over HTTP, read as `cc:`. */
    beforeAll(async () => {
      mkdirSync(dirname(file), { recursive: true });
      copyFileSync(join(fixtures, 'commoncrawl/whirlwind.warc.gz'), file);
      const manifest = new Uint8Array(gzipSync(`${ccPath}\n`));
      const tree = new Map([
        [ccPath, new Uint8Array(readFileSync(file))],
        [`crawl-data/${crawl}/warc.paths.gz`, manifest],
      ]);
      const server = await startCommonCrawlHttpServer(tree);
      try {
        const output = join(workFolder, 'cc-out');
        const run = await runWorker(['--input', `cc:${crawl}`, '--cc-base', server.baseUrl, '--output', output]);
        expect(run.code, run.stderr).toBe(0);
        expect(objectsBelow(output)).toEqual([ccKey]);
        commonCrawlRows = await rowsOf(join(output, ccKey));
      } finally {
        await server.stop();
      }
    });

    it.each([
      ['its root', () => mirror],
      ['a segment folder', () => join(mirror, `crawl-data/${crawl}/segments/${segment}`)],
      ['one file', () => file],
    ])('given at %s, exports CommonCrawl’s row under the crawl’s partition', async (name, input) => {
      const output = join(workFolder, `mirror-out-${name.replaceAll(' ', '-')}`);
      const run = await runWorker(['--input', input(), '--output', output]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('1 file exported, 0 failed');
      expect(objectsBelow(output)).toEqual([ccKey]);
      const rows = await rowsOf(join(output, ccKey));
      expect(rows.map((row) => [row.warc_filename, row.warc_segment, row.crawl, row.subset])).toEqual([
        [ccPath, segment, crawl, 'warc'],
      ]);
      expect(rows).toEqual(commonCrawlRows);
      // warc_filename joined to the input root (the folder above crawl-data/) locates the file.
      const located = join(mirror, String(rows[0]?.warc_filename));
      expect(readFileSync(located).equals(readFileSync(file))).toBe(true);
    });
  });
});
