// Measures the decoder on WET-like and WAT-like `.warc.wet.gz` / `.warc.wat.gz` files of 60 MB
// (one gzip member a record; 1-20 KB texts; three envelopes a capture, the response's with 10-200
// links), fed in 32 MiB chunks as the worker feeds them: compressed MB/s against node's
// streaming zlib gunzip of the same bytes, in one run (each contender three times, alternating,
// the best time counting; CPU time beside wall time, as it suffers less from other processes
// on a shared machine), and against the same bytes named as a WARC file, whose records are
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

/** Wall and CPU milliseconds of one run (CPU time of the whole process, zlib's thread pool included). */
interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

async function timed(work: () => Promise<unknown> | unknown): Promise<Timing> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - wallStart, cpu: (cpu.user + cpu.system) / 1000 };
}

function faster(a: Timing, b: Timing): Timing {
  return { wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) };
}

async function figuresOf(format: 'wet' | 'wat'): Promise<BenchFigure[]> {
  const path = `${benchFolder}derived-like-60mb.warc.${format}.gz`;
  writeDerivedLikeFile(path, format, fileBytes);
  const bytes = readFileSync(path);
  const chunks = chunksOf(bytes);
  const input: InputRef = { uri: path, filename: `bench.warc.${format}.gz`, crawl: null, subset: null, segment: null };
  // The same bytes named as a WARC file: every record parsed, its block skipped, no row made.
  const asWarc: InputRef = { ...input, uri: `${path}.warc.gz`, filename: 'bench.warc.gz' };
  const slowest = { wall: Infinity, cpu: Infinity };
  const best = { decoder: slowest, skipped: slowest, gunzip: slowest };
  let rows = 0;
  for (let round = 0; round < rounds; round++) {
    best.decoder = faster(best.decoder, await timed(() => (rows = decodeAll(input, chunks))));
    best.skipped = faster(best.skipped, await timed(() => decodeAll(asWarc, chunks, false)));
    best.gunzip = faster(best.gunzip, await timed(() => gunzipAll(chunks)));
  }
  const speed = (milliseconds: number) => bytes.length / megabyte / (milliseconds / 1000);
  const name = `${format.toUpperCase()} decode, ${rows} rows`;
  const figure = (clock: 'wall' | 'cpu', baselineName: string, baseline: Timing): BenchFigure => ({
    name: `${name}, MB/s (${clock === 'wall' ? 'wall' : 'CPU'} time) vs ${baselineName}`,
    value: speed(best.decoder[clock]),
    unit: 'MB/s',
    baseline: { name: baselineName, value: speed(baseline[clock]) },
    ratio: baseline[clock] / best.decoder[clock],
  });
  const gunzip = 'zlib streaming gunzip';
  const skipped = 'the same bytes read as WARC (blocks skipped, no rows)';
  return [
    figure('wall', gunzip, best.gunzip),
    figure('wall', skipped, best.skipped),
    figure('cpu', gunzip, best.gunzip),
    figure('cpu', skipped, best.skipped),
  ];
}

export async function run(): Promise<BenchFigure[]> {
  return [...(await figuresOf('wet')), ...(await figuresOf('wat'))];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures(`derived-decode: WET- and WAT-like files, ${fileBytes / megabyte} MB each`, await run());
}
