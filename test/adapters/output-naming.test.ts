/**
 * Proves how inputs are named, for every way they are listed: output keys never shared by two
 * inputs under one root (a property over odd names, case and CommonCrawl paths); `.warc.gz`
 * inputs keep CommonCrawl's `<name>.parquet`, any other keeps its whole name; a CommonCrawl
 * path found in the input's whole location however deep the folder, file, glob, prefix or
 * manifest given; and `warc_filename` joined to the input root locating the file again.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { AnySource } from '../../adapters/source/any-source.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { LocalSource } from '../../adapters/source/local-source.ts';
import { outputKeyFor } from '../../adapters/source/output-key.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

const crawl = 'CC-MAIN-2024-22';
const segment = '1715971057216.39';
const warcName = 'CC-MAIN-20240517233122-20240518023122-00000.warc.gz';
const ccPath = `crawl-data/${crawl}/segments/${segment}/warc/${warcName}`;
const ccKey = `crawl=${crawl}/subset=warc/CC-MAIN-20240517233122-20240518023122-00000.parquet`;
const fixture = join(sharedFixtureRoot, 'commoncrawl/whirlwind.warc.gz');

function keyOf(location: string, relativePath: string): string {
  return outputKeyFor(inputRefFor(location, relativePath));
}

async function listAll(source: { list(spec: string): AsyncIterable<InputRef> }, spec: string): Promise<InputRef[]> {
  const inputs: InputRef[] = [];
  for await (const input of source.list(spec)) inputs.push(input);
  return inputs;
}

describe('output names', () => {
  test('a .warc.gz input drops that ending; any other input keeps its whole name', () => {
    const named = (name: string) => keyOf(`/data/${name}`, name).replace('crawl=unknown/subset=unknown/', '');
    expect(named('x.warc.gz')).toBe('x.parquet');
    expect(named('x.warc')).toBe('x.warc.parquet');
    expect(named('x.arc.gz')).toBe('x.arc.gz.parquet');
    expect(named('x.arc')).toBe('x.arc.parquet');
    expect(named('x.WARC.GZ')).toBe('x.WARC.GZ.parquet');
    expect(named('sub/x.warc')).toBe('sub/x.warc.parquet');
  });

  test('a WET or WAT file keeps its whole name, in its own CommonCrawl partition', () => {
    const derived = (subset: string, name: string) =>
      keyOf(
        `/m/${ccPath}`.replace(`/warc/${warcName}`, `/${subset}/${name}`),
        ccPath.replace(`/warc/${warcName}`, `/${subset}/${name}`),
      );
    const wetName = warcName.replace(/\.warc\.gz$/, '.warc.wet.gz');
    const watName = warcName.replace(/\.warc\.gz$/, '.warc.wat.gz');
    expect(derived('wet', wetName)).toBe(`crawl=${crawl}/subset=wet/${wetName}.parquet`);
    expect(derived('wat', watName)).toBe(`crawl=${crawl}/subset=wat/${watName}.parquet`);
    expect(keyOf('/data/x.warc.wet.gz', 'x.warc.wet.gz')).toBe('crawl=unknown/subset=unknown/x.warc.wet.gz.parquet');
  });

  test('x.warc and x.warc.gz in one folder get two keys', () => {
    expect(keyOf('/data/x.warc', 'x.warc')).not.toBe(keyOf('/data/x.warc.gz', 'x.warc.gz'));
  });

  test('names the plain rule would map onto another input’s key stay apart', () => {
    const names = [
      'x',
      'x.warc',
      'x.warc.gz',
      'x.warc.warc.gz',
      'x.WARC.GZ',
      'x.WARC.GZ.warc.gz',
      'x.gz',
      'x.gz.warc.gz',
      'x.warc.gz.warc.gz',
      'x.warc.wet.gz',
      'x.warc.wat.gz',
      'x.warc.wet',
      'x.wet',
      'x.wet.warc.gz',
      'x.wet.gz',
    ];
    const keys = names.map((name) => keyOf(`/data/${name}`, name));
    expect(new Set(keys).size).toBe(names.length);
  });

  test('partition values that differ only in a separator or escape stay apart', () => {
    const path = (crawlName: string) => `crawl-data/${crawlName}/segments/s/warc/x.warc.gz`;
    const keys = ['CC-MAIN-a=b', 'CC-MAIN-a_b', 'CC-MAIN-a%3Db', 'CC-MAIN-a\\b'].map((name) =>
      keyOf(`/m/${path(name)}`, path(name)),
    );
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).toMatch(/^crawl=CC-MAIN-a%3Db\/subset=warc\//);
  });
});

/** One file or folder name: odd characters, case variants and every ending the rules look at. */
const nameArbitrary = fc
  .tuple(
    fc.constantFrom(
      'x',
      'X',
      'a.b',
      'crawl-data',
      'segments',
      'warc',
      'CC-MAIN-2024-22',
      'a=b',
      'a%3Db',
      'a_b',
      'é',
      'sp ace',
      'a\\b',
      '-',
      '.hidden',
      'unknown',
    ),
    fc.constantFrom(
      '',
      '.warc',
      '.warc.gz',
      '.WARC.GZ',
      '.Warc.Gz',
      '.warc.GZ',
      '.arc',
      '.arc.gz',
      '.ARC',
      '.gz',
      '.txt',
      '.parquet',
      '.warc.warc.gz',
      '.gz.warc.gz',
      '.warc.gz.warc.gz',
      '.warc.wet.gz',
      '.warc.wat.gz',
      '.warc.WET.gz',
      '.wet',
      '.wet.warc.gz',
    ),
  )
  .map(([stem, ending]) => `${stem}${ending}`);

/** Relative paths below one root: plain folders, or CommonCrawl's layout below a prefix. */
const pathArbitrary = fc.oneof(
  fc.array(nameArbitrary, { minLength: 1, maxLength: 4 }).map((names) => names.join('/')),
  fc
    .record({
      prefix: fc.array(nameArbitrary, { maxLength: 2 }),
      crawlName: fc.constantFrom(
        'CC-MAIN-2024-22',
        'CC-MAIN-2024-26',
        'CC-MAIN-a=b',
        'CC-MAIN-a_b',
        'CC-NEWS',
        'unknown',
      ),
      segmentName: fc.constantFrom('1715971057216.39', '1715971058000.10', 'S'),
      subset: fc.constantFrom('warc', 'wet', 'wat', 'crawldiagnostics', 'unknown', 'a=b', 'a_b'),
      name: nameArbitrary,
    })
    .map(({ prefix, crawlName, segmentName, subset, name }) =>
      [...prefix, 'crawl-data', crawlName, 'segments', segmentName, subset, name].join('/'),
    ),
);

const rootArbitrary = fc.constantFrom(
  '/data/',
  '/data/crawl-data/',
  '/data/crawl-data/CC-MAIN-2024-22/',
  's3://bucket/',
  's3://bucket/prefix/',
);

describe('output keys under one root', () => {
  test('distinct inputs share a key only as one CommonCrawl file in two places (same crawl, subset and name)', () => {
    fc.assert(
      fc.property(rootArbitrary, fc.uniqueArray(pathArbitrary, { minLength: 2, maxLength: 12 }), (root, paths) => {
        const inputs = paths.map((path) => inputRefFor(`${root}${path}`, path));
        const byKey = new Map<string, InputRef>();
        for (const input of inputs) {
          const key = outputKeyFor(input);
          const other = byKey.get(key);
          if (other !== undefined) {
            // The same CommonCrawl file mirrored twice, or in two segments: CommonCrawl names
            // are unique within a crawl and subset, so only a copy can do this.
            expect(input.crawl, `${other.uri} and ${input.uri} share ${key}`).not.toBeNull();
            expect([other.crawl, other.subset, other.filename.split('/').at(-1)]).toEqual([
              input.crawl,
              input.subset,
              input.filename.split('/').at(-1),
            ]);
          }
          byKey.set(key, input);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  test('warc_filename joined to the input root locates the input', () => {
    fc.assert(
      fc.property(rootArbitrary, pathArbitrary, (root, path) => {
        const input = inputRefFor(`${root}${path}`, path);
        if (input.crawl === null) expect(`${root}${input.filename}`).toBe(input.uri);
        else expect(input.uri.endsWith(`/${input.filename}`)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('CommonCrawl paths in any location', () => {
  let mirror: string;
  const segmentFolder = () => join(mirror, dirname(ccPath));
  const file = () => join(mirror, ccPath);

  beforeAll(async () => {
    mirror = await mkdtemp(join(tmpdir(), 'cc-mirror-'));
    await mkdir(segmentFolder(), { recursive: true });
    await copyFile(fixture, file());
    await writeFile(join(mirror, 'mirror.paths'), `${ccPath}\n`);
  });
  afterAll(async () => rm(mirror, { recursive: true, force: true }));

  /** The one input a listing gives, named as CommonCrawl names it and located from the mirror's root. */
  function expectCommonCrawlInput(inputs: readonly InputRef[]): void {
    expect(inputs).toHaveLength(1);
    const [input] = inputs as [InputRef];
    expect(input).toMatchObject({ filename: ccPath, crawl, subset: 'warc', segment, uri: file() });
    expect(join(mirror, input.filename)).toBe(input.uri);
    expect(outputKeyFor(input)).toBe(ccKey);
  }

  test('a local folder at the mirror’s root, at crawl-data/, at a segment and at its warc/ folder', async () => {
    for (const folder of [
      mirror,
      join(mirror, 'crawl-data'),
      join(mirror, 'crawl-data', crawl),
      dirname(segmentFolder()),
      segmentFolder(),
    ]) {
      expectCommonCrawlInput(await listAll(new LocalSource(), folder));
    }
  });

  test('a single file, a glob and a manifest', async () => {
    expectCommonCrawlInput(await listAll(new LocalSource(), file()));
    expectCommonCrawlInput(await listAll(new LocalSource(), `${segmentFolder()}/*.warc.gz`));
    expectCommonCrawlInput(await listAll(new LocalSource(), `${mirror}/crawl-data/*/segments/**/*.gz`));
    expectCommonCrawlInput(await listAll(new LocalSource(), join(mirror, 'mirror.paths')));
  });

  test('a local --cc-base', async () => {
    await writeFile(join(mirror, 'crawl-data', crawl, 'warc.paths.gz'), gzipSync(`${ccPath}\n`));
    for (const base of [mirror, `${mirror}/`])
      expectCommonCrawlInput(await listAll(new AnySource({ commonCrawlBase: base }), `cc:${crawl}`));
  });

  test('an HTTPS address of one file: its crawl path, or its name below its folder', async () => {
    const [commonCrawl] = await listAll(new HttpSource(), `https://127.0.0.1:9/cc/${ccPath}`);
    expect(commonCrawl).toMatchObject({ filename: ccPath, crawl, subset: 'warc', segment });
    const [other] = await listAll(new HttpSource(), 'https://127.0.0.1:9/dir/x%20y.warc');
    expect(other).toMatchObject({ filename: 'x y.warc', crawl: null });
    expect(outputKeyFor(other as InputRef)).toBe('crawl=unknown/subset=unknown/x y.warc.parquet');
    const [undecodable] = await listAll(new HttpSource(), 'https://127.0.0.1:9/dir/x%E0%A4.warc');
    expect(undecodable?.filename).toBe('x%E0%A4.warc');
  });

  test('an S3 key below any prefix, given at any depth', () => {
    for (const [location, relative] of [
      [`s3://bucket/mirror/${ccPath}`, ccPath],
      [`s3://bucket/mirror/${ccPath}`, `segments/${segment}/warc/${warcName}`],
      [`s3://bucket/mirror/${ccPath}`, warcName],
    ] as const) {
      expect(inputRefFor(location, relative)).toMatchObject({ filename: ccPath, crawl, subset: 'warc', segment });
      expect(keyOf(location, relative)).toBe(ccKey);
    }
    // A bucket named like the layout's first folder is not part of the path.
    expect(inputRefFor('s3://crawl-data/CC-MAIN-2024-22/segments/s/warc/x.warc.gz', 'x.warc.gz').crawl).toBeNull();
  });
});
