// Measures the WARC decoder on a CommonCrawl-like `.warc.gz` of at least 100 MB (request,
// response and metadata records, one gzip member each, HTML bodies of 2-100 KB), fed in 32 MiB
// chunks as the worker feeds it: compressed MB/s against node's streaming zlib gunzip of the
// same bytes (goal >= 0.7x) and against warcio's own iteration of them (goal >= 3x), all in
// one run because the machine is shared and noisy (each contender runs three times,
// alternating, and its best time counts; CPU time of the whole process, zlib's thread pool
// included, is reported beside wall time, as it suffers less from other processes on the two
// cores). Its child mode (`--decode-for-rss FILE`) decodes a 1 GB file for peak-rss.ts, which
// reports that peak with its baseline. The files are generated once and cached under
// `.bench/` (git-ignored). Run: npx tsx test/bench/decode.ts
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { WARCParser } from 'warcio';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures } from './bench-figure.ts';
import type { BenchFigure } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const smallFile = `${benchFolder}commoncrawl-like-100mb.warc.gz`;
const smallBytes = 100_000_000;
const chunkBytes = 32 * 1024 * 1024;
const megabyte = 1_000_000;
/** Each contender runs this many times, alternating; the best time counts (noise only slows). */
const rounds = 3;

/** Wall and CPU milliseconds of one run. */
interface Timing {
  wall: number;
  cpu: number;
}

async function timed(work: () => Promise<void> | void): Promise<Timing> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - wallStart, cpu: (cpu.user + cpu.system) / 1000 };
}

const input: InputRef = { uri: smallFile, filename: 'bench.warc.gz', crawl: null, subset: null, segment: null };

function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkBytes)
    chunks.push(bytes.subarray(offset, offset + chunkBytes));
  return chunks;
}

function decodeAll(chunks: Buffer[]): void {
  const decoder = new WarcDecoder().open(input);
  let rows = 0;
  chunks.forEach((chunk, index) => {
    rows += decoder.push(chunk, index === chunks.length - 1).rows.length;
  });
  if (rows === 0) throw new Error('the decoder made no rows');
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

async function warcioAll(chunks: Buffer[]): Promise<void> {
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield chunk;
  }
  let records = 0;
  for await (const record of WARCParser.iterRecords(source())) {
    if (record.warcType === 'response') records++;
  }
  if (records === 0) throw new Error('warcio read no responses');
}

/**
 * The child: reads 32 MiB chunks into fresh buffers, as fetched chunks arrive, and drops the
 * rows after each push, as the worker hands them to the encoder.
 */
function decodeForRss(path: string): void {
  const started = performance.now();
  const size = statSync(path).size;
  const file = openSync(path, 'r');
  const decoder = new WarcDecoder().open({ ...input, uri: path });
  let rows = 0;
  for (let offset = 0; offset < size; offset += chunkBytes) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, size - offset));
    readSync(file, chunk, 0, chunk.length, offset);
    rows += decoder.push(chunk, offset + chunk.length >= size).rows.length;
  }
  closeSync(file);
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ peakRssBytes, rows, seconds: (performance.now() - started) / 1000 }));
}

export async function run(): Promise<BenchFigure[]> {
  writeCommonCrawlLikeWarc(smallFile, smallBytes);
  const bytes = readFileSync(smallFile);
  const chunks = chunksOf(bytes);
  const contenders = {
    decoder: () => decodeAll(chunks),
    gunzip: () => gunzipAll(chunks),
    warcio: () => warcioAll(chunks),
  };
  const best = {
    decoder: { wall: Infinity, cpu: Infinity },
    gunzip: { wall: Infinity, cpu: Infinity },
    warcio: { wall: Infinity, cpu: Infinity },
  };
  for (let round = 0; round < rounds; round++) {
    for (const name of ['decoder', 'gunzip', 'warcio'] as const) {
      const timing = await timed(contenders[name]);
      best[name] = { wall: Math.min(best[name].wall, timing.wall), cpu: Math.min(best[name].cpu, timing.cpu) };
    }
  }
  const speed = (milliseconds: number) => bytes.length / megabyte / (milliseconds / 1000);
  const figure = (
    clock: 'wall' | 'cpu',
    against: 'gunzip' | 'warcio',
    baselineName: string,
    goal: string,
  ): BenchFigure => {
    const value = speed(best.decoder[clock]);
    const baseline = speed(best[against][clock]);
    return {
      name: `decode MB/s (${clock === 'wall' ? 'wall' : 'CPU'} time) vs ${against}`,
      value,
      unit: 'MB/s',
      baseline: { name: baselineName, value: baseline },
      ratio: value / baseline,
      goal,
    };
  };
  return [
    figure('wall', 'gunzip', 'zlib streaming gunzip', '>= 0.7x'),
    figure('wall', 'warcio', 'warcio iteration', '>= 3x'),
    figure('cpu', 'gunzip', 'zlib streaming gunzip', '>= 0.7x'),
    figure('cpu', 'warcio', 'warcio iteration', '>= 3x'),
  ];
}

if (process.argv[2] === '--decode-for-rss') {
  decodeForRss(process.argv[3]!);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures(
    `decode: CommonCrawl-like .warc.gz, ${smallBytes / megabyte} MB, ${chunkBytes / 1024 / 1024} MiB chunks`,
    await run(),
  );
}
