/**
 * A CommonCrawl-like tree for the loopback HTTP server: `crawl-data/<crawl>/warc.paths.gz`
 * listing `count` WARC files with distinct names, spread over segments and two subsets.
 * Their contents are a few generated CommonCrawl-like files of different sizes, a dense
 * file whose Parquet output spans two S3 parts, and the shared fixtures (which bring
 * revisit records and odd records): one buffer is served under several names, so a large
 * tree costs little to make. Seeded: the same arguments give the same bytes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { denseWarc } from './dense-warc.ts';
import { sharedFixtureUrl } from './shared-fixtures.ts';

export interface MixedCrawlOptions {
  readonly crawl: string;
  /** WARC files listed in the manifest. */
  readonly count: number;
  /** How many of them are the dense file (outputs of two S3 parts, the slowest to export). */
  readonly denseCount: number;
  readonly seed: number;
}

export interface MixedCrawlTree {
  /** Every file the server serves, the manifest included. */
  readonly files: Map<string, Uint8Array>;
  /** The WARC paths of the manifest, in its order. */
  readonly inputs: readonly string[];
}

const fixtureNames = [
  'commoncrawl/whirlwind.warc.gz',
  'resiliparse/cc-2020-34-excerpt.warc.gz',
  'warcio/example.warc.gz',
];
/** Sizes of the generated CommonCrawl-like contents, in bytes. */
const generatedSizes = [1_500_000, 2_500_000, 3_500_000, 2_000_000];
/**
 * Records of the dense content: 12 MB of input, 12.4 MB of Parquet in two row groups (the
 * worker's row group holds 20,000 rows), so its upload has two parts: 11.8 MB, then the rest.
 */
const denseRecords = 21_000;

function generatedContents(seed: number): Uint8Array[] {
  const folder = mkdtempSync(join(tmpdir(), 'generated-crawl-'));
  try {
    return generatedSizes.map((size, index) => {
      const path = join(folder, `${index}.warc.gz`);
      writeCommonCrawlLikeWarc(path, size, seed + index);
      return new Uint8Array(readFileSync(path));
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The path of input `index`: a CommonCrawl file name, unique by its serial number. */
function inputPath(crawl: string, index: number): string {
  const segment = `1715971057${String(216 + (index % 3)).padStart(3, '0')}.${index % 3}`;
  const subset = index % 5 === 4 ? 'crawldiagnostics' : 'warc';
  return `crawl-data/${crawl}/segments/${segment}/${subset}/${crawl}-20240517233122-20240518023122-${String(index).padStart(5, '0')}.warc.gz`;
}

export function mixedCrawlTree(options: MixedCrawlOptions): MixedCrawlTree {
  const generated = generatedContents(options.seed);
  const fixtureContents = fixtureNames.map((name) => new Uint8Array(readFileSync(new URL(name, sharedFixtureUrl))));
  const dense = options.denseCount > 0 ? denseWarc(denseRecords, options.seed) : null;
  const files = new Map<string, Uint8Array>();
  const inputs: string[] = [];
  for (let index = 0; index < options.count; index++) {
    const path = inputPath(options.crawl, index);
    const content =
      dense !== null && index < options.denseCount
        ? dense
        : index % 7 === 6
          ? fixtureContents[((index / 7) % fixtureContents.length) | 0]!
          : generated[index % generated.length]!;
    files.set(path, content);
    inputs.push(path);
  }
  files.set(`crawl-data/${options.crawl}/warc.paths.gz`, new Uint8Array(gzipSync(`${inputs.join('\n')}\n`)));
  return { files, inputs };
}

/**
 * The object key an input's export must have, derived here from its path and not by the
 * worker's rule: `<prefix>/crawl=<crawl>/subset=<subset>/<name>.parquet`.
 */
export function expectedObjectKey(prefix: string, path: string): string {
  const [, crawl, , , subset] = path.split('/');
  const name = path
    .split('/')
    .at(-1)!
    .replace(/\.warc\.gz$/, '');
  return `${prefix}/crawl=${crawl}/subset=${subset}/${name}.parquet`;
}
