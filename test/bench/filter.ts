/**
 * The row filter's costs, each against a baseline measured in the same run (the machine is
 * shared and noisy: each pair runs alternately, best of `rounds`):
 * - `--where` keeping about 1% of captures (`url LIKE '%00.html'`: one page number in a
 *   hundred) against the unfiltered index export, `node cmd/worker` on one generated 100 MB
 *   CommonCrawl-like `.warc.gz` with one CPU thread, in compressed MB/s: the filtered run
 *   decodes as much but encodes and writes a hundredth;
 * - the decoder alone with a `--where` that keeps every row, against the decoder without one:
 *   the predicate's own cost per capture;
 * - loading 1,000,000 domains from a `--domains` file, against reading the file and putting its
 *   lines as they are in a Set (the least any Set-based loader does: building the Set is most
 *   of the cost);
 * - giving a CPU thread the 1,000,000 domains: the thread reading the file itself (what the
 *   worker does), against sending it the list by message (structured clone) and building the
 *   set there.
 * Run: npm run bench -- filter
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadDomainList } from '../../adapters/filter/domain-list.ts';
import { compileWhere } from '../../adapters/filter/where-compiler.ts';
import { parseWhere } from '../../adapters/filter/where-parser.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const sourceFile = `${benchFolder}commoncrawl-like-100mb.warc.gz`;
const inputFolder = `${benchFolder}filter-input/`;
const domainsFile = `${benchFolder}domains-1m.txt`;
const binary = fileURLToPath(new URL('../../cmd/worker', import.meta.url));
const rounds = 2;
const domainCount = 1_000_000;
const chunkBytes = 32 * 1024 * 1024;
const megabyte = 1_000_000;
const onePercent = "fetch_status = 200 AND url LIKE '%00.html'";

async function bestOf<T extends string>(
  names: readonly T[],
  work: (name: T) => Promise<number>,
): Promise<Record<T, number>> {
  const best = Object.fromEntries(names.map((name) => [name, Infinity])) as Record<T, number>;
  for (let round = 0; round < rounds; round++)
    for (const name of names) best[name] = Math.min(best[name], await work(name));
  return best;
}

/** Seconds of one worker run on the input folder, and the rows it wrote and filtered out. */
function exportSeconds(where: string | null): { seconds: number; summary: string } {
  const output = `${benchFolder}filter-output/`;
  rmSync(output, { recursive: true, force: true });
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      binary,
      '--input',
      inputFolder,
      '--output',
      output,
      '--metrics',
      'none',
      '--threads',
      '1',
      ...(where === null ? [] : ['--where', where]),
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: benchFolder } },
  );
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`worker exited ${result.status}: ${result.stderr}`);
  return { seconds, summary: result.stderr };
}

async function whereFigures(): Promise<BenchFigure[]> {
  writeCommonCrawlLikeWarc(sourceFile, 100_000_000);
  mkdirSync(inputFolder, { recursive: true });
  const bytes = readFileSync(sourceFile);
  writeFileSync(`${inputFolder}part.warc.gz`, bytes);
  let kept = '';
  const best = await bestOf(['index', 'where'] as const, async (name) => {
    const run = exportSeconds(name === 'index' ? null : onePercent);
    if (name === 'where') kept = /rows (\d+), rows filtered out (\d+)/.exec(run.summary)?.slice(1).join('/') ?? '?';
    return run.seconds;
  });
  const [rowsKept, rowsOut] = kept.split('/').map(Number);
  const share = rowsKept !== undefined && rowsOut !== undefined ? (100 * rowsKept) / (rowsKept + rowsOut) : NaN;
  const speed = (seconds: number) => bytes.length / megabyte / seconds;
  const decode = await decoderFigure(bytes);
  return [
    {
      name: `export MB/s, --where keeping ${share.toFixed(2)}% of captures (1 thread)`,
      value: speed(best.where),
      unit: 'MB/s',
      baseline: { name: 'index export, unfiltered (1 thread)', value: speed(best.index) },
      ratio: best.index / best.where,
      goal: '>= 1x',
    },
    decode,
  ];
}

/** The decoder with a condition that keeps every row, against the decoder alone: the predicate's cost. */
async function decoderFigure(bytes: Buffer): Promise<BenchFigure> {
  const input: InputRef = { uri: sourceFile, filename: 'bench.warc.gz', crawl: null, subset: null, segment: null };
  const keepAll = compileWhere(await parseWhere("fetch_status = 200 AND url LIKE 'https://%' OR url IS NULL"));
  let checked = 0;
  const keep = (row: CaptureRow) => {
    checked++;
    return keepAll(row);
  };
  const decodeAll = (decoder: WarcDecoder) => {
    const job = decoder.open(input);
    for (let offset = 0; offset < bytes.length; offset += chunkBytes)
      job.push(bytes.subarray(offset, offset + chunkBytes), offset + chunkBytes >= bytes.length);
  };
  const best = await bestOf(['plain', 'where'] as const, async (name) => {
    const started = performance.now();
    decodeAll(name === 'plain' ? new WarcDecoder() : new WarcDecoder({ keep }));
    return (performance.now() - started) / 1000;
  });
  if (checked === 0) throw new Error('the condition saw no row');
  const speed = (seconds: number) => bytes.length / megabyte / seconds;
  return {
    name: 'decode MB/s with a --where that keeps every row',
    value: speed(best.where),
    unit: 'MB/s',
    baseline: { name: 'decode without --where', value: speed(best.plain) },
    ratio: best.plain / best.where,
    goal: '>= 0.95x',
  };
}

function writeDomains(): void {
  const lines = ['# a million registered domains'];
  for (let index = 0; index < domainCount; index++)
    lines.push(`example-${index.toString(36)}.${['com', 'org', 'net', 'co.uk', 'de'][index % 5]}`);
  writeFileSync(domainsFile, `${lines.join('\n')}\n`);
}

async function domainFigures(): Promise<BenchFigure[]> {
  writeDomains();
  const best = await bestOf(['load', 'split'] as const, async (name) => {
    const started = performance.now();
    if (name === 'load') {
      if ((await loadDomainList(domainsFile)).size !== domainCount) throw new Error('domains lost');
    } else if (new Set(readFileSync(domainsFile, 'utf8').split('\n')).size < domainCount) throw new Error('lines lost');
    return (performance.now() - started) / 1000;
  });
  const thread = await bestOf(['file', 'message'] as const, (name) => threadSeconds(name));
  return [
    {
      name: `load ${domainCount.toLocaleString('en')} domains (--domains)`,
      value: best.load,
      unit: 's',
      baseline: { name: 'read the file, split its lines, put them in a Set', value: best.split },
      ratio: best.load / best.split,
      goal: '<= 5 s',
    },
    {
      name: 'a CPU thread gets the domains: it reads the file',
      value: thread.file,
      unit: 's',
      baseline: { name: 'sent the list by message, set built in the thread', value: thread.message },
      ratio: thread.file / thread.message,
      goal: '<= 1.5x',
    },
  ];
}

/** Seconds from a thread's start until it holds the set, by the file or by a message. */
async function threadSeconds(how: 'file' | 'message'): Promise<number> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    const done = (set) => parentPort.postMessage(set.size);
    if (workerData.path !== null) {
      const text = readFileSync(workerData.path, 'utf8');
      const set = new Set();
      for (const line of text.split('\\n')) { const domain = line.trim().toLowerCase(); if (domain !== '' && !domain.startsWith('#')) set.add(domain); }
      done(set);
    } else parentPort.once('message', (list) => done(new Set(list)));`;
  const list = how === 'message' ? [...(await loadDomainList(domainsFile))] : null;
  const started = performance.now();
  const worker = new Worker(code, { eval: true, workerData: { path: how === 'file' ? domainsFile : null } });
  if (list !== null) worker.postMessage(list);
  const size = await new Promise<number>((resolve) => worker.once('message', resolve));
  const seconds = (performance.now() - started) / 1000;
  await worker.terminate();
  if (size !== domainCount) throw new Error(`the thread holds ${size} domains`);
  return seconds;
}

export async function run(): Promise<BenchFigure[]> {
  mkdirSync(benchFolder, { recursive: true });
  return [...(await domainFigures()), ...(await whereFigures())];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printFigures('filter', await run());
