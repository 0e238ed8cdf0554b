/**
 * End-to-end throughput of `node cmd/worker` on local files: six copies of a generated
 * 100 MB CommonCrawl-like `.warc.gz` (600 MB) exported to a local folder with 1 and with 2
 * CPU threads, in compressed MB/s, as a ratio to node's streaming zlib gunzip of the same
 * files measured in the same run (one core). Also the worker's peak RSS, against its memory
 * budget. Goal: ≥ 0.5× gunzip per core, near-linear from 1 to 2 threads, peak RSS under the
 * budget + 150 MB.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { copyFileSync, createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';
import { defaultBudgetMb } from '../../cmd/worker/memory-plan.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const inputFolder = `${benchFolder}end-to-end-input/`;
const sourceFile = `${benchFolder}commoncrawl-like-100mb.warc.gz`;
const copies = 6;
/**
 * A budget small enough to bind (two threads take 288 MiB of it, leaving three chunks of
 * data), for peak RSS against it. Throughput is measured at the default budget: at this one
 * the threads wait for reads.
 */
const tightBudgetMb = 384;
const binary = fileURLToPath(new URL('../../cmd/worker', import.meta.url));

function prepareInputs(): string[] {
  writeCommonCrawlLikeWarc(sourceFile, 100_000_000);
  mkdirSync(inputFolder, { recursive: true });
  const files: string[] = [];
  for (let index = 0; index < copies; index++) {
    const file = `${inputFolder}part-${index}.warc.gz`;
    if (!existsSync(file)) copyFileSync(sourceFile, file);
    files.push(file);
  }
  return files;
}

async function gunzipSeconds(files: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  for (const file of files) {
    await pipeline(
      createReadStream(file, { highWaterMark: 1024 * 1024 }),
      createGunzip(),
      new Writable({ write: (_chunk, _encoding, done) => done() }),
    );
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Runs the worker on the inputs; returns wall seconds, peak RSS in MB and CPU seconds (user +
 * system, every thread of the process: decode/encode threads, the event loop, V8's garbage
 * collector helpers and libuv's pool), all from GNU time.
 */
function workerRun(threads: number, budgetMb: number): { seconds: number; peakRssMb: number; cpuSeconds: number } {
  const output = `${benchFolder}end-to-end-output-${threads}`;
  rmSync(output, { recursive: true, force: true });
  const started = process.hrtime.bigint();
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M %U %S',
      process.execPath,
      binary,
      '--input',
      inputFolder,
      '--output',
      output,
      '--threads',
      String(threads),
      '--metrics',
      'none',
      '--memory-budget-mb',
      String(budgetMb),
    ],
    { encoding: 'utf8' },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`worker failed (${result.status}): ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  const [maxRssKb, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number) as [number, number, number];
  rmSync(output, { recursive: true, force: true });
  return { seconds, peakRssMb: maxRssKb / 1024, cpuSeconds: user + system };
}

export async function run(): Promise<BenchFigure[]> {
  const files = prepareInputs();
  const megabytes = files.reduce((sum, file) => sum + statSync(file).size, 0) / 1e6;
  const gunzip = megabytes / (await gunzipSeconds(files));
  const one = workerRun(1, defaultBudgetMb(1));
  const two = workerRun(2, defaultBudgetMb(2));
  const tightOne = workerRun(1, tightBudgetMb);
  const tightTwo = workerRun(2, tightBudgetMb);
  const oneRate = megabytes / one.seconds;
  const twoRate = megabytes / two.seconds;
  const baseline = { name: 'zlib streaming gunzip MB/s, one core', value: gunzip };
  return [
    {
      name: `worker, 1 thread, ${megabytes.toFixed(0)} MB`,
      value: oneRate,
      unit: 'MB/s',
      baseline,
      ratio: oneRate / gunzip,
      goal: '>= 0.5x gunzip per core',
    },
    {
      name: `worker, 2 threads, ${megabytes.toFixed(0)} MB`,
      value: twoRate,
      unit: 'MB/s',
      baseline,
      ratio: twoRate / gunzip,
      goal: 'near 2x the 1-thread figure',
    },
    { name: 'scaling from 1 to 2 threads', value: twoRate / oneRate, unit: 'x', goal: 'near 2' },
    // Cores kept busy: on a machine with as many cores as threads, this says whether the
    // worker or the machine bounds the scaling (V8's collector and libuv run beside the threads).
    {
      name: 'cores busy, 1 thread',
      value: one.cpuSeconds / one.seconds,
      unit: 'cores',
      baseline: { name: 'cores', value: availableParallelism() },
    },
    {
      name: 'cores busy, 2 threads',
      value: two.cpuSeconds / two.seconds,
      unit: 'cores',
      baseline: { name: 'cores', value: availableParallelism() },
    },
    {
      name: 'CPU seconds per GB, 2 threads against 1',
      value: two.cpuSeconds / one.cpuSeconds,
      unit: 'x',
      goal: 'near 1: threads add no work',
    },
    {
      name: 'peak RSS, 1 thread, default budget',
      value: one.peakRssMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: defaultBudgetMb(1) },
      goal: '<= budget + 150 MB',
    },
    {
      name: 'peak RSS, 2 threads, default budget',
      value: two.peakRssMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: defaultBudgetMb(2) },
      goal: '<= budget + 150 MB',
    },
    {
      name: 'peak RSS, 1 thread, tight budget',
      value: tightOne.peakRssMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: tightBudgetMb },
      goal: '<= budget + 150 MB',
    },
    {
      name: 'peak RSS, 2 threads, tight budget',
      value: tightTwo.peakRssMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: tightBudgetMb },
      goal: '<= budget + 150 MB',
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('end to end', await run());
}
