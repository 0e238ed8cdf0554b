/**
 * Soak: 200 CommonCrawl-like `.warc.gz` files (36 MB each, two 32 MiB chunks) through one
 * `node cmd/worker` process with its default threads and memory budget, its resident set
 * sampled every second from `/proc/<pid>/status` (the CPU threads share the process's memory).
 * Goal: no growth trend once warmed up. The figure is the least-squares slope of RSS over
 * time between the first 20% and the last 16 files (before: heaps and pools still grow to their
 * working size; after: fewer jobs than the core's 16 active ones remain, so memory falls), and
 * its baseline in the same run is the slope's own standard error — what the garbage
 * collector's rise and fall alone would make the slope wander by. The goal is met when the
 * slope is within two standard errors of zero; the run also says how much growth over 24 h the
 * worst slope it cannot rule out would mean.
 *
 * The worker runs with `memory-probe.mjs` preloaded, so each isolate (main thread and CPU
 * threads) reports its own heap, external and ArrayBuffer bytes every second: when RSS grows,
 * the per-component slopes say whether it is heap, buffers or native memory. Inputs are four
 * generated files hard-linked under 200 names in `.bench/soak-input-200/` (144 MB on disk,
 * reused across runs); the samples go to `.bench/soak-samples.json`. Run: npm run bench -- soak
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultLimits } from '../../core/limits.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';
import { readProcMemory, type ProcMemory } from './proc-status.ts';
import { leastSquares, median, type Point, type Trend } from './trend.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const sourcesFolder = `${benchFolder}soak-sources/`;
const samplesFile = `${benchFolder}soak-samples.json`;
const binary = fileURLToPath(new URL('../../cmd/worker', import.meta.url));
const probe = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));

const filesDefault = 200;
const distinctFiles = 4;
const fileBytes = 36_000_000;
/** The worker's default; passed explicitly so the goal below speaks of the budget that ran. */
const memoryBudgetMb = 1024;
/** With fewer files than this left, fewer jobs run than at full load and memory falls. */
const jobsActiveMax = defaultLimits.jobsActiveMax;
const warmUpShare = 0.2;
const sampleIntervalMs = 1_000;
/** A bound on the run: a 36 MB file takes a second or two; ten leaves room for a loaded machine. */
const timeoutPerFileMs = 10_000;
const megabyte = 1_000_000;
const minutesPerDay = 24 * 60;

interface Sample {
  readonly seconds: number;
  readonly filesDone: number;
  readonly memory: ProcMemory;
}

/** One line of memory-probe.mjs: an isolate's own `process.memoryUsage()`. */
interface ProbeLine {
  readonly timeMs: number;
  readonly threadId: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

interface SoakRun {
  readonly files: number;
  readonly samples: Sample[];
  readonly probes: ProbeLine[];
  readonly startMs: number;
  readonly seconds: number;
  readonly inputBytes: number;
}

/** `files` names over four distinct generated files: hard links cost no disk, copies if links fail. */
function prepareInputs(inputFolder: string, files: number): string[] {
  mkdirSync(inputFolder, { recursive: true });
  const sources = Array.from({ length: distinctFiles }, (_, index) => {
    const path = `${sourcesFolder}commoncrawl-like-36mb-seed-${index + 1}.warc.gz`;
    writeCommonCrawlLikeWarc(path, fileBytes, 20240600 + index);
    return path;
  });
  return Array.from({ length: files }, (_, index) => {
    const path = `${inputFolder}soak-${String(index).padStart(4, '0')}.warc.gz`;
    if (!existsSync(path)) linkOrCopy(sources[index % distinctFiles] as string, path);
    return path;
  });
}

function linkOrCopy(source: string, path: string): void {
  try {
    linkSync(source, path);
  } catch {
    copyFileSync(source, path);
  }
}

/** Parquet files committed so far: the local sink renames each into place when its job commits. */
function filesDone(output: string): number {
  if (!existsSync(output)) return 0;
  return readdirSync(output, { recursive: true, encoding: 'utf8' }).filter(
    (path) => path.endsWith('.parquet') && !path.split('/').some((segment) => segment.startsWith('.')),
  ).length;
}

/** Runs the worker over the inputs, sampling its memory every second until it exits. */
async function soakRun(inputFolder: string, files: number, inputBytes: number): Promise<SoakRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'soak-'));
  const output = join(scratch, 'output');
  const probeFile = join(scratch, 'probe.jsonl');
  const samples: Sample[] = [];
  const startMs = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      pathToFileURL(probe).href,
      binary,
      '--input',
      inputFolder,
      '--output',
      output,
      '--metrics',
      'none',
      '--memory-budget-mb',
      String(memoryBudgetMb),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MEMORY_PROBE_FILE: probeFile } },
  );
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-16_384);
  });
  const sampler = setInterval(() => {
    const memory = child.pid === undefined ? null : readProcMemory(child.pid);
    if (memory) samples.push({ seconds: (Date.now() - startMs) / 1000, filesDone: filesDone(output), memory });
  }, sampleIntervalMs);
  try {
    const code = await exitCodeOf(child, 60_000 + files * timeoutPerFileMs);
    const seconds = (Date.now() - startMs) / 1000;
    if (code !== 0) throw new Error(`the worker exited with ${code}: ${stderr}`);
    const done = filesDone(output);
    if (done !== files) throw new Error(`the worker wrote ${done} Parquet files for ${files} inputs`);
    const probes = existsSync(probeFile)
      ? readFileSync(probeFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as ProbeLine)
      : [];
    return { files, samples, probes, startMs, seconds, inputBytes };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
}

function exitCodeOf(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker ran past ${timeoutMs / 60_000} minutes`)), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The samples taken once warmed up and before the wind-down (see the top of the file). */
function steadyWindow(samples: readonly Sample[], files: number): Sample[] {
  const first = Math.ceil(files * warmUpShare);
  const last = files - jobsActiveMax;
  const window = samples.filter((sample) => sample.filesDone >= first && sample.filesDone < last);
  if (window.length < 10)
    throw new Error(
      `only ${window.length} samples between file ${first} and file ${last}: the run was too short to show a trend`,
    );
  return window;
}

/** Trend in MB per minute of one quantity over the window's samples. */
function trendOf(points: readonly Point[]): Trend {
  return leastSquares(points.map((point) => ({ x: point.x / 60, y: point.y / megabyte })));
}

/**
 * Each isolate's quantity, summed over isolates once per second: the last report of every
 * isolate at or before each second carries forward, as each reports on its own clock.
 */
function probeSeries(
  probes: readonly ProbeLine[],
  startMs: number,
  fromSeconds: number,
  toSeconds: number,
  quantity: (line: ProbeLine) => number,
): Point[] {
  const latest = new Map<number, number>();
  const points: Point[] = [];
  let next = 0;
  const ordered = [...probes].sort((a, b) => a.timeMs - b.timeMs);
  for (let second = Math.ceil(fromSeconds); second <= toSeconds; second += 1) {
    while (next < ordered.length && ((ordered[next] as ProbeLine).timeMs - startMs) / 1000 <= second) {
      const line = ordered[next] as ProbeLine;
      latest.set(line.threadId, quantity(line));
      next += 1;
    }
    if (latest.size > 0) points.push({ x: second, y: [...latest.values()].reduce((sum, value) => sum + value, 0) });
  }
  return points;
}

function slopeFigure(name: string, trend: Trend, goal?: string): BenchFigure {
  const figure: BenchFigure = {
    name,
    value: trend.slope,
    unit: 'MB/min',
    baseline: { name: 'standard error of the slope MB/min', value: trend.standardError },
    ratio: trend.slope / trend.standardError,
  };
  return goal === undefined ? figure : { ...figure, goal, goalMet: Math.abs(trend.slope) <= 2 * trend.standardError };
}

/** Where the growth would come from: each isolate's own accounting, and what is left for native memory. */
function componentFigures(run: SoakRun, window: readonly Sample[]): BenchFigure[] {
  if (run.probes.length === 0) return [];
  const from = (window[0] as Sample).seconds;
  const to = (window[window.length - 1] as Sample).seconds;
  const series = (quantity: (line: ProbeLine) => number) => probeSeries(run.probes, run.startMs, from, to, quantity);
  const rssAt = new Map(window.map((sample) => [Math.round(sample.seconds), sample.memory.rssBytes]));
  // node 20 does not always count ArrayBuffers within external (the probe sees more ArrayBuffer
  // than external bytes), so the larger of the two is the part surely accounted for.
  const accounted = series((line) => line.heapTotal + Math.max(line.external, line.arrayBuffers));
  // RSS beyond what the isolates account for: native allocations (zlib, parquet, libuv), code,
  // stacks, and the tsx loader thread, which the probe does not reach.
  const native = accounted.flatMap((point) =>
    rssAt.has(point.x) ? [{ x: point.x, y: (rssAt.get(point.x) as number) - point.y }] : [],
  );
  const figures: Array<[string, Point[]]> = [
    ['heap used, all isolates', series((line) => line.heapUsed)],
    ["external (V8's count), all isolates", series((line) => line.external)],
    ['ArrayBuffers, all isolates', series((line) => line.arrayBuffers)],
    ['RSS beyond heaps and buffers (native)', native],
  ];
  return figures
    .filter(([, points]) => points.length >= 3)
    .map(([name, points]) => slopeFigure(`soak: ${name}, slope`, trendOf(points)));
}

function analyse(run: SoakRun): BenchFigure[] {
  const window = steadyWindow(run.samples, run.files);
  const rssPoints = window.map((sample) => ({ x: sample.seconds, y: sample.memory.rssBytes }));
  const rss = trendOf(rssPoints);
  const anon = trendOf(window.map((sample) => ({ x: sample.seconds, y: sample.memory.anonBytes })));
  const rssMb = window.map((sample) => sample.memory.rssBytes / megabyte);
  const half = Math.floor(rssMb.length / 2);
  const halves = median(rssMb.slice(half)) - median(rssMb.slice(0, half));
  const spread = quantile(rssMb, 0.75) - quantile(rssMb, 0.25);
  const worstSlope = Math.abs(rss.slope) + 2 * rss.standardError;
  const peakMb = Math.max(...run.samples.map((sample) => sample.memory.peakRssBytes)) / megabyte;
  const windowMinutes = ((window[window.length - 1] as Sample).seconds - (window[0] as Sample).seconds) / 60;
  return [
    slopeFigure(
      `soak: RSS slope after warm-up (${window.length} samples, ${windowMinutes.toFixed(1)} min)`,
      rss,
      '|slope| <= 2 standard errors',
    ),
    {
      name: 'soak: RSS growth over 24 h at the worst slope not ruled out (|slope| + 2 SE)',
      value: worstSlope * minutesPerDay,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: memoryBudgetMb },
      ratio: (worstSlope * minutesPerDay) / memoryBudgetMb,
      goal: '<= budget',
      goalMet: worstSlope * minutesPerDay <= memoryBudgetMb,
    },
    {
      name: 'soak: RSS median, second half of the window minus first',
      value: halves,
      unit: 'MB',
      baseline: { name: 'RSS interquartile range MB', value: spread },
      ratio: halves / spread,
      goal: '|change| <= interquartile range',
      goalMet: Math.abs(halves) <= spread,
    },
    slopeFigure('soak: anonymous RSS (heaps, buffers, native), slope', anon),
    ...componentFigures(run, window),
    { name: 'soak: RSS min after warm-up', value: Math.min(...rssMb), unit: 'MB' },
    {
      name: 'soak: RSS median after warm-up',
      value: median(rssMb),
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: memoryBudgetMb },
      ratio: median(rssMb) / memoryBudgetMb,
    },
    { name: 'soak: RSS max after warm-up', value: Math.max(...rssMb), unit: 'MB' },
    {
      name: 'soak: peak RSS of the whole run',
      value: peakMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: memoryBudgetMb },
      ratio: peakMb / memoryBudgetMb,
      goal: '<= budget + 150 MB',
      goalMet: peakMb <= memoryBudgetMb + 150,
    },
    {
      name: `soak: throughput, ${run.files} files, ${(run.inputBytes / megabyte).toFixed(0)} MB`,
      value: run.inputBytes / megabyte / run.seconds,
      unit: 'MB/s',
    },
    { name: 'soak: wall time', value: run.seconds, unit: 's' },
  ];
}

function quantile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

/** RSS over the run as a small text chart: one column per slice of time, the window in '#', the rest in '.'. */
function chart(samples: readonly Sample[], window: readonly Sample[], columns = 60, rows = 10): string {
  const inWindow = new Set(window);
  const values = samples.map((sample) => sample.memory.rssBytes / megabyte);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const grid = Array.from({ length: rows }, () => Array.from({ length: columns }, () => ' '));
  samples.forEach((sample, index) => {
    const column = Math.min(columns - 1, Math.floor((index / samples.length) * columns));
    const row = high === low ? 0 : Math.round((((values[index] as number) - low) / (high - low)) * (rows - 1));
    (grid[rows - 1 - row] as string[])[column] = inWindow.has(sample) ? '#' : '.';
  });
  const label = (row: number) => (row === 0 ? high : row === rows - 1 ? low : NaN);
  const lines = grid.map(
    (cells, row) =>
      `${Number.isNaN(label(row)) ? ''.padStart(8) : `${label(row).toFixed(0).padStart(5)} MB`} |${cells.join('')}`,
  );
  const seconds = (samples[samples.length - 1] as Sample).seconds;
  return [
    ...lines,
    `${''.padStart(8)} +${'-'.repeat(columns)}`,
    `${''.padStart(10)}0 s${`${seconds.toFixed(0)} s`.padStart(columns - 3)}`,
  ].join('\n');
}

/** Soaks `files` inputs; more than the default (`npx tsx test/bench/soak.ts 1000`) narrows the slope's error. */
export async function run(files: number = filesDefault): Promise<BenchFigure[]> {
  if (!Number.isInteger(files) || files <= jobsActiveMax)
    throw new Error(`soak needs a whole number of files above ${jobsActiveMax}, got ${files}`);
  const inputFolder = `${benchFolder}soak-input-${files}/`;
  const inputs = prepareInputs(inputFolder, files);
  const inputBytes = inputs.reduce((sum, path) => sum + statSync(path).size, 0);
  const soak = await soakRun(inputFolder, files, inputBytes);
  writeFileSync(
    samplesFile,
    JSON.stringify({ files, startMs: soak.startMs, seconds: soak.seconds, samples: soak.samples, probes: soak.probes }),
  );
  console.log(
    `\nsoak: RSS over the run (# = the window the trend is fitted on; samples in ${samplesFile})\n${chart(soak.samples, steadyWindow(soak.samples, files))}`,
  );
  return analyse(soak);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = Number(process.argv[2] ?? filesDefault);
  printFigures(`soak: ${files} files through one worker`, await run(files));
}
