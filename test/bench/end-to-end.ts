/**
 * End-to-end throughput of `node cmd/worker` on local files: six copies of a generated
 * 100 MB CommonCrawl-like `.warc.gz` (600 MB) exported to a local folder with 1 and with 2
 * CPU threads, in compressed MB/s, as a ratio to node's one-shot inflate of the same bytes
 * measured in the same run (`zlib.gunzipSync` of each member, on one core: the six files are
 * copies, so one is timed and counted six times). Also the worker's peak RSS, against its
 * memory budget. Goal: ≥ 0.5× one-shot inflate per core, near-linear from 1 to 2 threads, peak
 * RSS under the budget + 150 MB.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultBudgetMb } from '../../cmd/worker/memory-plan.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';
import { gunzipMembersCpuSeconds, memberRanges } from './gzip-members.ts';

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

/** Rounds of the baseline; the best counts (the machine is shared: the best is the least disturbed). */
const gunzipRounds = 3;

/** CPU seconds of member-by-member `gunzipSync` of the files, which are copies of `sourceFile`: one timed, best of the rounds. */
function gunzipSeconds(files: readonly string[]): number {
  const bytes = readFileSync(sourceFile);
  const ranges = memberRanges(bytes);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < gunzipRounds; round++) best = Math.min(best, gunzipMembersCpuSeconds(bytes, ranges));
  return best * files.length;
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
  const gunzip = megabytes / gunzipSeconds(files);
  const one = workerRun(1, defaultBudgetMb(1));
  const two = workerRun(2, defaultBudgetMb(2));
  const tightOne = workerRun(1, tightBudgetMb);
  const tightTwo = workerRun(2, tightBudgetMb);
  const oneRate = megabytes / one.seconds;
  const twoRate = megabytes / two.seconds;
  const baseline = { name: 'zlib.gunzipSync member by member, MB per CPU-second, one core', value: gunzip };
  return [
    {
      name: `worker, 1 thread, ${megabytes.toFixed(0)} MB`,
      value: oneRate,
      unit: 'MB/s',
      baseline,
      ratio: oneRate / gunzip,
      goal: '>= 0.5x one-shot inflate per core',
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
