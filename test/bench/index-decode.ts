// Measures the index export's CPU cost on one thread against node's one-shot inflate of the
// same bytes (`zlib.gunzipSync` of each member: test/bench/gzip-members.ts says why not of the
// whole file in one call, which is printed beside it), on a 100 MB CommonCrawl-like `.warc.gz` at
// CommonCrawl's density (about 40 KB compressed a capture, ~2,600 captures per 100 MB), fed in
// 32 MiB chunks as the worker feeds them. Contenders, in one run, alternating, three rounds,
// best CPU time (process.cpuUsage: the machine is shared, CPU time suffers less from the other
// processes than wall time): one-shot gunzip, member by member and of the whole file; decoding head-only and on the full path; the
// index export (decode, then the Parquet encoder on each push's rows) head-only and full; and,
// for the full path's cost per member, inflating every member with the thread's reused zlib
// handle against a new handle a member (`zlib.inflateRawSync`). Figures: MB/s and CPU seconds
// per GB of compressed input. The file is generated once and cached under `.bench/`.
// Run: npm run bench -- index-decode
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { threadInflater } from '../../adapters/warc/reused-inflater.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { piecesLength } from '../../core/sink.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures } from './bench-figure.ts';
import { gunzipMembersCpuSeconds, memberRanges } from './gzip-members.ts';
import type { BenchFigure } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const file = `${benchFolder}commoncrawl-density-100mb.warc.gz`;
const fileBytes = 100_000_000;
/** Body scale of the generator that gives CommonCrawl's ~40 KB compressed a capture. */
const commonCrawlBodyScale = 7;
const chunkBytes = 32 * 1024 * 1024;
const rounds = 3;
const megabyte = 1_000_000;
const gigabyte = 1_000_000_000;

const input: InputRef = { uri: file, filename: 'bench.warc.gz', crawl: null, subset: null, segment: null };

function cpuSeconds(work: () => unknown): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

async function cpuSecondsAsync(work: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkBytes)
    chunks.push(bytes.subarray(offset, offset + chunkBytes));
  return chunks;
}

function decodeAll(chunks: readonly Buffer[], fullInflate: boolean): number {
  const decoder = new WarcDecoder({ fullInflate }).open(input);
  let rows = 0;
  chunks.forEach((chunk, index) => (rows += decoder.push(chunk, index === chunks.length - 1).rows.length));
  if (rows === 0) throw new Error('the decoder made no rows');
  return rows;
}

async function exportAll(chunks: readonly Buffer[], fullInflate: boolean): Promise<number> {
  const decoder = new WarcDecoder({ fullInflate }).open(input);
  const encoder = createParquetEncoder().open();
  let bytes = 0;
  for (const [index, chunk] of chunks.entries()) {
    const rows = decoder.push(chunk, index === chunks.length - 1).rows;
    if (rows.length > 0) bytes += piecesLength(await encoder.writeRowGroup(rows));
  }
  return bytes + piecesLength(await encoder.finish());
}

export async function run(): Promise<BenchFigure[]> {
  writeCommonCrawlLikeWarc(file, fileBytes, 20240518, commonCrawlBodyScale);
  const bytes = readFileSync(file);
  const chunks = chunksOf(bytes);
  const ranges = memberRanges(bytes);
  const contenders: Record<string, () => Promise<number>> = {
    gunzipSync: async () => cpuSeconds(() => zlib.gunzipSync(bytes)),
    gunzipMembers: async () => gunzipMembersCpuSeconds(bytes, ranges),
    decodeHeadOnly: async () => cpuSeconds(() => decodeAll(chunks, false)),
    decodeFull: async () => cpuSeconds(() => decodeAll(chunks, true)),
    exportHeadOnly: () => cpuSecondsAsync(() => exportAll(chunks, false)),
    exportFull: () => cpuSecondsAsync(() => exportAll(chunks, true)),
    reusedHandle: async () =>
      cpuSeconds(() => {
        for (const { start, end } of ranges) threadInflater.inflate(bytes.subarray(start, end), true, 64 << 20);
      }),
    newHandle: async () =>
      cpuSeconds(() => {
        for (const { start, end } of ranges) zlib.inflateRawSync(bytes.subarray(start, end));
      }),
  };
  const best: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, work] of Object.entries(contenders)) best[name] = Math.min(best[name] ?? Infinity, await work());
  }
  const seconds = (name: string) => best[name] as number;
  const speed = (name: string) => bytes.length / megabyte / seconds(name);
  const perGigabyte = (name: string) => (seconds(name) * gigabyte) / bytes.length;
  const ratioFigure = (
    name: string,
    contender: string,
    baseline: string,
    baselineName: string,
    goal?: string,
  ): BenchFigure => ({
    name,
    value: speed(contender),
    unit: 'MB/s (CPU time)',
    baseline: { name: baselineName, value: speed(baseline) },
    ratio: speed(contender) / speed(baseline),
    ...(goal === undefined ? {} : { goal }),
  });
  const costFigure = (name: string, contender: string): BenchFigure => ({
    name: `CPU s per GB: ${name}`,
    value: perGigabyte(contender),
    unit: 's/GB',
    baseline: { name: 'zlib.gunzipSync member by member', value: perGigabyte('gunzipMembers') },
    ratio: perGigabyte(contender) / perGigabyte('gunzipMembers'),
  });
  const members = ranges.length;
  return [
    ratioFigure(
      'index export in this process (no start, reads or threads), 1 thread, head-only',
      'exportHeadOnly',
      'gunzipMembers',
      'zlib.gunzipSync member by member',
      '>= 3x',
    ),
    ratioFigure(
      'index export in this process, 1 thread, full path',
      'exportFull',
      'gunzipMembers',
      'zlib.gunzipSync member by member',
    ),
    ratioFigure(
      'zlib.gunzipSync of the whole file in one call (its output in one buffer)',
      'gunzipSync',
      'gunzipMembers',
      'zlib.gunzipSync member by member',
    ),
    ratioFigure('decode head-only vs full path', 'decodeHeadOnly', 'decodeFull', 'decode, full path'),
    costFigure('decode head-only', 'decodeHeadOnly'),
    costFigure('decode full path', 'decodeFull'),
    costFigure('index export head-only', 'exportHeadOnly'),
    costFigure('index export full path', 'exportFull'),
    {
      name: `inflate a member, reused zlib handle (${members} members)`,
      value: (seconds('reusedHandle') * 1e6) / members,
      unit: 'µs CPU',
      baseline: { name: 'zlib.inflateRawSync, a new handle a member', value: (seconds('newHandle') * 1e6) / members },
      ratio: seconds('newHandle') / seconds('reusedHandle'),
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures(`index-decode: CommonCrawl-density .warc.gz, ${fileBytes / megabyte} MB`, await run());
}
