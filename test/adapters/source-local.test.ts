/**
 * Proves the local source: the Source contract over a folder whose sub-folders repeat a
 * file name; globs (`*`, `**`, classes, alternatives) and manifests (plain and gzip, lines
 * relative to the manifest or to the base before `crawl-data/`); CommonCrawl paths named
 * by crawl, subset and segment; output keys that never collide; a missing path is the
 * input's fault.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { globToRegExp } from '../../adapters/source/glob-pattern.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { LocalSource } from '../../adapters/source/local-source.ts';
import { outputKeyFor } from '../../adapters/source/output-key.ts';
import { sourceContract } from './source-contract.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

const fixtures = sharedFixtureRoot;
const segmentPath = 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc';
/** Relative path in the tree → fixture it copies; listed in this (sorted) order. */
const tree: [string, string][] = [
  ['a/example.warc.gz', 'warcio/example.warc.gz'],
  ['b/example.warc.gz', 'warcio/post-test.warc.gz'],
  ['b/notes.txt', 'warcio/LICENSE'],
  [`${segmentPath}/CC-MAIN-20240517233122-20240518023122-00000.warc.gz`, 'commoncrawl/whirlwind.warc.gz'],
  ['plain.warc', 'warcio-js/redirect.warc'],
];

let root: string;

async function listAll(spec: string): Promise<InputRef[]> {
  const inputs: InputRef[] = [];
  for await (const input of new LocalSource().list(spec)) inputs.push(input);
  return inputs;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'local-source-'));
  for (const [path, fixture] of tree) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await copyFile(join(fixtures, fixture), join(root, path));
  }
});
afterAll(async () => rm(root, { recursive: true, force: true }));

sourceContract('local folder', async () => {
  const warcs = tree.filter(([path]) => /\.warc(\.gz)?$/.test(path));
  return {
    source: new LocalSource(),
    spec: root,
    expected: await Promise.all(
      warcs.map(async ([path]) => ({ filename: path, bytes: new Uint8Array(await readFile(join(root, path))) })),
    ),
    missing: inputRefFor(join(root, 'gone.warc.gz'), 'gone.warc.gz'),
  };
});

describe('reads into given memory', () => {
  test("a range is read into the memory given (a split job's shared memory), also when cut by the end", async () => {
    const path = join(root, tree[0]?.[0] ?? '');
    const whole = new Uint8Array(await readFile(path));
    const input = inputRefFor(path, 'example.warc.gz');
    const lengths: number[] = [];
    const memory = (lengthBytes: number): Uint8Array => {
      lengths.push(lengthBytes);
      return new Uint8Array(new SharedArrayBuffer(lengthBytes));
    };
    const source = new LocalSource();
    const inner = await source.read(input, { offsetBytes: 10, lengthBytes: 100 }, undefined, memory);
    expect(inner.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(inner).equals(Buffer.from(whole.subarray(10, 110)))).toBe(true);
    const cut = await source.read(input, { offsetBytes: whole.length - 5, lengthBytes: 50 }, undefined, memory);
    expect(cut.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(cut).equals(Buffer.from(whole.subarray(whole.length - 5)))).toBe(true);
    expect(lengths).toEqual([100, 50]);
  });
});

describe('local listings', () => {
  test('a folder skips non-WARC files and names CommonCrawl paths', async () => {
    const inputs = await listAll(root);
    expect(inputs.map((input) => input.filename)).not.toContain('b/notes.txt');
    const commonCrawl = inputs.find((input) => input.crawl !== null);
    expect(commonCrawl).toMatchObject({
      filename: `${segmentPath}/CC-MAIN-20240517233122-20240518023122-00000.warc.gz`,
      crawl: 'CC-MAIN-2024-22',
      subset: 'warc',
      segment: '1715971057216.39',
    });
  });

  test('a folder and a glob list each file with its size, so a run knows its total bytes from the start', async () => {
    for (const spec of [root, `${root}/**/*.warc*`]) {
      for (const input of await listAll(spec)) {
        expect(input.sizeBytes, input.filename).toBe((await stat(input.uri)).size);
      }
    }
  });

  test('globs match below their static root', async () => {
    expect((await listAll(`${root}/*/example.warc.gz`)).map((input) => input.filename)).toEqual([
      'a/example.warc.gz',
      'b/example.warc.gz',
    ]);
    expect((await listAll(`${root}/**/*.warc.gz`)).length).toBe(3);
    expect((await listAll(`${root}/{a,plain}*`)).map((input) => input.filename)).toEqual(['plain.warc']);
    expect((await listAll(`${root}/[ab]/*.gz`)).length).toBe(2);
  });

  test('a single file is its own input', async () => {
    const [input] = await listAll(join(root, 'plain.warc'));
    expect(input).toMatchObject({ filename: 'plain.warc', crawl: null, uri: join(root, 'plain.warc') });
  });

  test('manifests, plain and gzip, resolve lines against their base', async () => {
    const lines = `${segmentPath}/CC-MAIN-20240517233122-20240518023122-00000.warc.gz\n\n# comment\n`;
    await mkdir(join(root, 'crawl-data/CC-MAIN-2024-22'), { recursive: true });
    await writeFile(join(root, 'crawl-data/CC-MAIN-2024-22/warc.paths.gz'), gzipSync(lines));
    await writeFile(join(root, 'local.paths'), 'a/example.warc.gz\nplain.warc\n');
    const commonCrawl = await listAll(join(root, 'crawl-data/CC-MAIN-2024-22/warc.paths.gz'));
    expect(commonCrawl.map((input) => input.uri)).toEqual([
      join(root, segmentPath, 'CC-MAIN-20240517233122-20240518023122-00000.warc.gz'),
    ]);
    expect(commonCrawl[0]?.crawl).toBe('CC-MAIN-2024-22');
    const local = await listAll(join(root, 'local.paths'));
    expect(local.map((input) => input.filename)).toEqual(['a/example.warc.gz', 'plain.warc']);
    expect(await new LocalSource().sizeOf(local[1] as InputRef)).toBeGreaterThan(0);
  });

  test('a manifest line that leaves its base is refused as bad input', async () => {
    await writeFile(join(root, 'evil.paths'), '../../etc/passwd\n');
    await expect(listAll(join(root, 'evil.paths'))).rejects.toMatchObject({ failure: { fault: 'input' } });
  });

  test('a missing path is the input’s fault', async () => {
    const error = await listAll(join(root, 'nothing-here')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure).toMatchObject({ fault: 'input', retryable: false });
  });
});

describe('output keys', () => {
  test('CommonCrawl inputs go under their crawl and subset with the bare name', () => {
    const path = `${segmentPath}/CC-MAIN-20240517233122-20240518023122-00000.warc.gz`;
    const input = inputRefFor(`https://127.0.0.1:9/${path}`, path);
    expect(outputKeyFor(input, 'parquet')).toBe(
      'crawl=CC-MAIN-2024-22/subset=warc/CC-MAIN-20240517233122-20240518023122-00000.parquet',
    );
  });

  test('other inputs keep their path below the root and their whole name, so repeated names never collide', async () => {
    const keys = (await listAll(root)).map((input) => outputKeyFor(input, '.parquet'));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain('crawl=unknown/subset=unknown/a/example.parquet');
    expect(keys).toContain('crawl=unknown/subset=unknown/b/example.parquet');
    expect(keys).toContain('crawl=unknown/subset=unknown/plain.warc.parquet');
  });
});

describe('glob patterns', () => {
  test('translate to anchored expressions', () => {
    expect(globToRegExp('*.warc.gz').test('x.warc.gz')).toBe(true);
    expect(globToRegExp('*.warc.gz').test('d/x.warc.gz')).toBe(false);
    expect(globToRegExp('**/*.warc').test('x.warc')).toBe(true);
    expect(globToRegExp('**/*.warc').test('d/e/x.warc')).toBe(true);
    expect(globToRegExp('file-?.warc').test('file-1.warc')).toBe(true);
    expect(globToRegExp('[!a]*.warc').test('a1.warc')).toBe(false);
    expect(globToRegExp('x.(warc)+').test('x.(warc)+')).toBe(true);
  });
});
