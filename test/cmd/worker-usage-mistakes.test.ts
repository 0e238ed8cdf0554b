/**
 * A user's mistakes, made with the real binary: an input that does not exist, an output path
 * that is a file (or lies below one), an input that lists no WARC file (a folder, an empty
 * manifest, a remote crawl with an empty manifest, an empty S3 prefix) or a remote manifest or
 * bucket that is missing. Each
 * exits 2 with one line that names the path and says what to do, and nothing is written: no
 * output folder, no ledger. `cleanup` of a local output says there is nothing to clean, or
 * removes the temporary files a killed worker left there (old ones only).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommonCrawlHttpServer, type CommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import { startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
import { runWorkerCommand, s3rverWorkerOptions, type WorkerExit } from '../support/worker-process.ts';

const root = mkdtempSync(join(tmpdir(), 'worker-mistakes-'));
let server: CommonCrawlHttpServer;
let s3: RunningS3rver;

beforeAll(async () => {
  // CC-MAIN-2024-10 lists nothing; CC-MAIN-2024-18 has no manifest at all.
  const emptyManifest = new Uint8Array(gzipSync(''));
  server = await startCommonCrawlHttpServer(new Map([['crawl-data/CC-MAIN-2024-10/warc.paths.gz', emptyManifest]]));
  s3 = await startS3rver(['inputs']);
});

afterAll(async () => {
  await server?.stop();
  await s3?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh folder to run in, with what the case needs in it. */
function caseFolder(name: string, files: Record<string, string> = {}): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(folder, path, '..'), { recursive: true });
    writeFileSync(join(folder, path), text);
  }
  return folder;
}

/** Every path under `folder`, hidden ones included. */
function tree(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort();
}

/** Runs the binary to its end; asynchronously, so the loopback server in this process can answer it. */
function runIn(folder: string, args: string[]): Promise<WorkerExit> {
  return runWorkerCommand([...args, '--metrics', 'none'], s3rverWorkerOptions(folder));
}

/** Exit 2, one line on stderr naming `path` and saying `says`, and the folder as it was. */
async function expectMistake(folder: string, args: string[], path: string, says: RegExp): Promise<void> {
  const before = tree(folder);
  const result = await runIn(folder, args);
  // JSON log lines aside (node's warnings, such as the AWS SDK's about node versions, come as such).
  const text = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{"'));
  expect(text, result.stderr).toHaveLength(1);
  expect(text[0]).toMatch(/^error: /);
  expect(text[0]).toContain(path);
  expect(text[0]).toMatch(says);
  expect(result.stderr).not.toMatch(/FailureError| {4}at /);
  expect(result.code).toBe(2);
  expect(tree(folder)).toEqual(before);
}

describe('node cmd/worker, given a mistake', () => {
  it('exits 2 for an input that does not exist, and creates no output folder', async () => {
    const folder = caseFolder('missing-input');
    await expectMistake(
      folder,
      ['--input', './missing', '--output', './out'],
      './missing',
      /no such file or folder; name a WARC file/,
    );
  });

  it('exits 2 for an output path that is a file, or lies below a file, and writes no ledger', async () => {
    const folder = caseFolder('output-file', { 'taken.parquet': 'not a folder' });
    await expectMistake(
      folder,
      ['--output', './taken.parquet'],
      join(folder, 'taken.parquet'),
      /is a file, not a folder: name a folder/,
    );
    await expectMistake(
      folder,
      ['--output', './taken.parquet/out'],
      join(folder, 'taken.parquet'),
      /cannot be created: .* is a file/,
    );
  });

  it('exits 2 for a ledger folder that cannot be created', async () => {
    const folder = caseFolder('ledger-file', { 'ledger-here': 'a file' });
    await expectMistake(
      folder,
      ['--output', './out', '--ledger', './ledger-here/journal'],
      join(folder, 'ledger-here'),
      /ledger folder .* cannot be created/,
    );
  });

  it('exits 2 for a folder, or a manifest, that lists no WARC file, naming what inputs are taken', async () => {
    const folder = caseFolder('no-warc', {
      'inputs/readme.txt': 'nothing to export here\n',
      'inputs/deeper/notes.md': '# notes\n',
      'empty.paths': '',
    });
    await expectMistake(
      folder,
      ['--input', './inputs', '--output', './out'],
      './inputs',
      /no input files found .*\.warc and \.warc\.gz|no input files found .*\.warc, \.warc\.gz/,
    );
    await expectMistake(
      folder,
      ['--input', './empty.paths', '--output', './out'],
      './empty.paths',
      /no input files found/,
    );
  });

  it('exits 2 for a remote crawl whose manifest lists nothing, or is missing', async () => {
    const folder = caseFolder('remote');
    const base = server.baseUrl;
    await expectMistake(
      folder,
      ['--input', 'cc:CC-MAIN-2024-10', '--cc-base', base, '--output', './out'],
      'cc:CC-MAIN-2024-10',
      /no input files found/,
    );
    await expectMistake(
      folder,
      ['--input', 'cc:CC-MAIN-2024-18', '--cc-base', base, '--output', './out'],
      'cc:CC-MAIN-2024-18',
      /404/,
    );
  });

  it('exits 2 for an S3 prefix that holds no WARC file, or a bucket that does not exist', async () => {
    const folder = caseFolder('s3-inputs');
    const endpoint = ['--s3-endpoint', s3.endpoint];
    await expectMistake(
      folder,
      ['--input', 's3://inputs/nothing-here/', ...endpoint, '--output', './out'],
      's3://inputs/nothing-here/',
      /no input files found/,
    );
    await expectMistake(
      folder,
      ['--input', 's3://no-such-bucket/crawl/', ...endpoint, '--output', './out'],
      's3://no-such-bucket/crawl/',
      /NoSuchBucket|does not exist/,
    );
  });

  it('says a local output has nothing to clean, exit 0', async () => {
    const folder = caseFolder('cleanup-local');
    const result = await runIn(folder, ['cleanup', '--output', './out']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/nothing to clean/);
    expect(tree(folder)).toEqual([]);
  });

  it('removes from a local output only the temporary files stopped workers left, older than the cut-off', async () => {
    const uploadId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const folder = caseFolder('cleanup-temporaries', {
      'out/crawl=unknown/subset=unknown/a.parquet': 'an object',
      [`out/crawl=unknown/subset=unknown/.b.parquet.${uploadId}.part-1.tmp`]: 'part of a killed job',
      [`out/crawl=unknown/subset=unknown/.b.parquet.${uploadId}.tmp`]: 'joined, not renamed',
      'out/crawl=unknown/subset=unknown/.c.parquet.1b4e28ba-2fa1-11d2-883f-0016d3cca427.part-2.tmp': 'a live job',
      'out/.ledger/journal.jsonl': '{}\n',
      'out/.notes.tmp': "not the sink's",
    });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const name of [`.b.parquet.${uploadId}.part-1.tmp`, `.b.parquet.${uploadId}.tmp`]) {
      utimesSync(join(folder, 'out/crawl=unknown/subset=unknown', name), twoHoursAgo, twoHoursAgo);
    }
    const dry = await runIn(folder, ['cleanup', '--output', './out', '--older-than-hours', '1', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({
      removed: [
        `crawl=unknown/subset=unknown/.b.parquet.${uploadId}.part-1.tmp`,
        `crawl=unknown/subset=unknown/.b.parquet.${uploadId}.tmp`,
      ],
      kept: 1,
    });
    expect(existsSync(join(folder, `out/crawl=unknown/subset=unknown/.b.parquet.${uploadId}.tmp`))).toBe(true);
    const done = await runIn(folder, ['cleanup', '--output', './out', '--older-than-hours', '1']);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ kept: 1 });
    expect(tree(join(folder, 'out'))).toEqual([
      '.ledger',
      '.ledger/journal.jsonl',
      '.notes.tmp',
      'crawl=unknown',
      'crawl=unknown/subset=unknown',
      'crawl=unknown/subset=unknown/.c.parquet.1b4e28ba-2fa1-11d2-883f-0016d3cca427.part-2.tmp',
      'crawl=unknown/subset=unknown/a.parquet',
    ]);
  });
});
