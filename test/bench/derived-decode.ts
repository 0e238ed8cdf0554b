// Measures the decoder on WET-like and WAT-like `.warc.wet.gz` / `.warc.wat.gz` files of 60 MB
// (one gzip member a record; 1-20 KB texts; three envelopes a capture, the response's with 10-200
// links), fed in 32 MiB chunks as the worker feeds them: compressed MB/s against node's
// streaming zlib gunzip of the same bytes, in one run (each contender three times, alternating,
// the best time counting). A WET or WAT row keeps its block and, for WAT, parses its JSON: this
// shows what that costs against inflating alone. Files are cached under `.bench/` (git-ignored).
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

function decodeAll(input: InputRef, chunks: Buffer[]): number {
  const decoder = new WarcDecoder().open(input);
  let rows = 0;
  chunks.forEach((chunk, index) => {
    rows += decoder.push(chunk, index === chunks.length - 1).rows.length;
  });
  if (rows === 0) throw new Error('the decoder made no rows');
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

async function figureOf(format: 'wet' | 'wat'): Promise<BenchFigure> {
  const path = `${benchFolder}derived-like-60mb.warc.${format}.gz`;
  writeDerivedLikeFile(path, format, fileBytes);
  const bytes = readFileSync(path);
  const chunks = chunksOf(bytes);
  const input: InputRef = { uri: path, filename: `bench.warc.${format}.gz`, crawl: null, subset: null, segment: null };
  let decoder = Infinity;
  let gunzip = Infinity;
  let rows = 0;
  for (let round = 0; round < rounds; round++) {
    decoder = Math.min(decoder, await wallMs(() => (rows = decodeAll(input, chunks))));
    gunzip = Math.min(gunzip, await wallMs(() => gunzipAll(chunks)));
  }
  const speed = (milliseconds: number) => bytes.length / megabyte / (milliseconds / 1000);
  return {
    name: `${format.toUpperCase()} decode MB/s (wall), ${rows} rows, ${Math.round(rows / (decoder / 1000))} rows/s`,
    value: speed(decoder),
    unit: 'MB/s',
    baseline: { name: 'zlib streaming gunzip', value: speed(gunzip) },
    ratio: gunzip / decoder,
  };
}

export async function run(): Promise<BenchFigure[]> {
  return [await figureOf('wet'), await figureOf('wat')];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures(`derived-decode: WET- and WAT-like files, ${fileBytes / megabyte} MB each`, await run());
}
