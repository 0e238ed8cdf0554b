// Measures the decoder on WET-like and WAT-like `.warc.wet.gz` / `.warc.wat.gz` files of 60 MB
// (one gzip member a record; 1-20 KB texts; three envelopes a capture, the response's with 10-200
// links), fed in 32 MiB chunks as the worker feeds them: compressed MB/s against node's
// streaming zlib gunzip of the same bytes, in one run (each contender three times, alternating,
// the best time counting), and against the same bytes named as a WARC file, whose records are
// parsed and their blocks skipped: a WET or WAT row keeps its block and, for WAT, parses its
// JSON, and this shows what that costs. Files are cached under `.bench/` (git-ignored).
// Run: npm run bench -- derived-decode
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { writeDerivedLikeFile } from '../fixtures-gen/derived-warc.ts';
import { printFigures } from './bench-figure.ts';
import type { BenchFigure } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const fileBytes = 60_000_000;
const chunkBytes = 32 * 1024 * 1024;
const megabyte = 1_000_000;
/** Each contender runs this many times, alternating; the best time counts (noise only slows). */
const rounds = 3;

function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkBytes)
    chunks.push(bytes.subarray(offset, offset + chunkBytes));
  return chunks;
}

function decodeAll(input: InputRef, chunks: Buffer[], makesRows = true): number {
  const decoder = new WarcDecoder().open(input);
  let rows = 0;
  chunks.forEach((chunk, index) => {
    rows += decoder.push(chunk, index === chunks.length - 1).rows.length;
  });
  if (rows > 0 !== makesRows) throw new Error(`the decoder made ${rows} rows of ${input.filename}`);
  return rows;
}

async function gunzipAll(chunks: Buffer[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const gunzip = zlib.createGunzip();
    gunzip.on('data', () => undefined);
    gunzip.on('end', resolve);
    gunzip.on('error', reject);
    for (const chunk of chunks) gunzip.write(chunk);
    gunzip.end();
  });
}

async function wallMs(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function figuresOf(format: 'wet' | 'wat'): Promise<BenchFigure[]> {
  const path = `${benchFolder}derived-like-60mb.warc.${format}.gz`;
  writeDerivedLikeFile(path, format, fileBytes);
  const bytes = readFileSync(path);
  const chunks = chunksOf(bytes);
  const input: InputRef = { uri: path, filename: `bench.warc.${format}.gz`, crawl: null, subset: null, segment: null };
  // The same bytes named as a WARC file: every record parsed, its block skipped, no row made.
  const asWarc: InputRef = { ...input, uri: `${path}.warc.gz`, filename: 'bench.warc.gz' };
  const best = { decoder: Infinity, skipped: Infinity, gunzip: Infinity };
  let rows = 0;
  for (let round = 0; round < rounds; round++) {
    best.decoder = Math.min(best.decoder, await wallMs(() => (rows = decodeAll(input, chunks))));
    best.skipped = Math.min(best.skipped, await wallMs(() => decodeAll(asWarc, chunks, false)));
    best.gunzip = Math.min(best.gunzip, await wallMs(() => gunzipAll(chunks)));
  }
  const speed = (milliseconds: number) => bytes.length / megabyte / (milliseconds / 1000);
  const name = `${format.toUpperCase()} decode MB/s (wall), ${rows} rows at ${Math.round(rows / (best.decoder / 1000))} rows/s`;
  const figure = (baselineName: string, baseline: number): BenchFigure => ({
    name: `${name}, vs ${baselineName}`,
    value: speed(best.decoder),
    unit: 'MB/s',
    baseline: { name: baselineName, value: speed(baseline) },
    ratio: baseline / best.decoder,
  });
  return [
    figure('zlib streaming gunzip', best.gunzip),
    figure('the same bytes read as WARC (blocks skipped, no rows)', best.skipped),
  ];
}

export async function run(): Promise<BenchFigure[]> {
  return [...(await figuresOf('wet')), ...(await figuresOf('wat'))];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures(`derived-decode: WET- and WAT-like files, ${fileBytes / megabyte} MB each`, await run());
}
