/**
 * Split decoding on every writer's files: each shared fixture (CommonCrawl's WARC, WAT and WET,
 * resiliparse, warcio, warcio.js, jwarc; `.warc.gz`, whole-file gzip, plain `.warc`, and the
 * broken ones: clipped, truncated, a record over several members, a wrong Content-Length, a gzip
 * FEXTRA field), and the damaged corpus made from them (test/fixtures-gen/damaged-warc.ts: cuts
 * at and inside members and records, byte flips, wrong lengths, files that are not WARC),
 * decoded through the core's rule (test/support/split-harness.ts) at many chunk sizes, gives the
 * rows and counts of the decoder in order, for both schemas and both inflate modes. The sizes
 * put chunk boundaries everywhere: small fixed ones (1 KiB, 4 KiB, 7,777 bytes, 64 KiB), which
 * mostly meet a record longer than a chunk and fall back, and the file cut into 2 to 12 chunks
 * at odd offsets, where the chunks are accepted apart.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WarcJobDecoderOptions } from '../../adapters/warc/warc-decoder.ts';
import { writeDamagedCorpus } from '../fixtures-gen/damaged-warc.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import {
  chunksOf,
  decodeInOrder,
  decodeSplit,
  expectSameDecode,
  inputNamed,
  type Decoded,
} from '../support/split-harness.ts';

const configurations: readonly { readonly label: string; readonly options: WarcJobDecoderOptions }[] = [
  { label: 'index, head-only', options: { fullInflate: false } },
  { label: 'index, full', options: { fullInflate: true } },
  { label: 'content, head-only', options: { output: { schema: 'content', contentBytesMax: 64 * 1024 } } },
  { label: 'content, full', options: { fullInflate: true, output: { schema: 'content', contentBytesMax: 1024 } } },
];

const fixedChunkBytes = [1024, 4096, 7777, 65_536];
/** The file in 2 to `piecesMax` chunks, each size moved by an odd amount so boundaries land off round offsets. */
const piecesMax = 12;

function chunkSizesFor(length: number): number[] {
  const pieces = Array.from({ length: piecesMax - 1 }, (_, at) => Math.ceil(length / (at + 2)) + ((at * 37) % 97));
  return [...new Set([...fixedChunkBytes, ...pieces])].filter((size) => size > 0 && size < length);
}

function walk(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const archivePattern = /\.warc(\.wat|\.wet)?(\.gz)?$/;
const sharedFixtures = walk(sharedFixtureRoot)
  .filter((path) => archivePattern.test(path))
  .sort();

/** Splits and decodes in order at every size and configuration; the split decodes, for what they covered. */
function compareEverywhere(name: string, bytes: Buffer, sizes: readonly number[]): Decoded[] {
  const input = inputNamed(name.replace(/\//g, '-'));
  const splits: Decoded[] = [];
  for (const { label, options } of configurations)
    for (const size of sizes) {
      const chunks = chunksOf(bytes, size);
      const got = decodeSplit(input, chunks, options);
      expectSameDecode(got, decodeInOrder(input, chunks, options), `${name}, ${label}, chunks of ${size}`);
      splits.push(got);
    }
  return splits;
}

/** Split decodes that accepted every chunk apart, over more than two chunks. */
function splitWhole(splits: readonly Decoded[]): number {
  return splits.filter((split) => split.fellBackAt === null && split.accepted > 2).length;
}

describe('split decoding of every shared fixture', () => {
  it('finds the fixtures', () => {
    expect(sharedFixtures.length).toBeGreaterThanOrEqual(17);
  });

  for (const path of sharedFixtures) {
    const name = relative(sharedFixtureRoot, path);
    it(`gives the rows and counts of the decoder in order: ${name}`, () => {
      const bytes = readFileSync(path);
      const splits = compareEverywhere(name, bytes, chunkSizesFor(bytes.length));
      expect(splits.length).toBeGreaterThan(0);
    });
  }

  it('accepts chunks apart where records are one member each', () => {
    // Guards the comparison above from passing only because every file fell back to one lane.
    const wholly = {
      'warcio/post-test.warc.gz': [1250, 1450],
      'resiliparse/cc-2020-34-excerpt.warc.gz': [16_384, 20_000],
    };
    for (const [name, sizes] of Object.entries(wholly))
      expect(splitWhole(compareEverywhere(name, readFileSync(join(sharedFixtureRoot, name)), sizes)), name).toBe(
        sizes.length * configurations.length,
      );
    const excerpt = readFileSync(join(sharedFixtureRoot, 'resiliparse/cc-2020-34-excerpt.warc.gz'));
    expect(splitWhole(compareEverywhere('excerpt.warc.gz', excerpt, chunkSizesFor(excerpt.length)))).toBeGreaterThan(
      20,
    );
  });
});

describe('split decoding of the damaged corpus', () => {
  const folder = mkdtempSync(join(tmpdir(), 'split-interop-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('gives the rows and counts of the decoder in order, or its failure', async () => {
    const files = await writeDamagedCorpus(folder, {
      endlessLineMebibytes: 1,
      endlessLineBetweenMebibytes: 1,
      flips: 40,
      seed: 20_261_203,
      generatedBytes: 300_000,
    });
    let accepted = 0;
    for (const file of files) {
      const bytes = readFileSync(join(folder, file.name));
      const sizes = [Math.ceil(bytes.length / 2), Math.ceil(bytes.length / 3) + 1].filter((size) => size > 0);
      const splits = compareEverywhere(file.name, bytes, sizes);
      accepted += splits.filter((split) => split.accepted > 0).length;
    }
    expect(files.length).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(100);
  }, 120_000);
});
