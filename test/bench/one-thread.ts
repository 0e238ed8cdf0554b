/**
 * The whole worker on one CPU thread against node's one-shot inflate of the same bytes, in
 * one run, alternating (the machine is shared: a round of each, several rounds, medians):
 * - the baseline: `zlib.gunzipSync` of every member of the 300 MB CommonCrawl-density file
 *   (about 40 KB compressed a capture, as the `index-decode` and `split` benches generate it),
 *   one by one, in CPU seconds on one core (test/bench/gzip-members.ts says why member by member);
 * - `node cmd/worker --threads 1` exporting that file with the index schema, and a run of four
 *   such files (1.2 GB: about one CommonCrawl WARC file's size, and how a worker runs, one
 *   start for many files), and exporting it with the content schema: wall time, CPU seconds
 *   (user + system of the process) and peak RSS, each as a ratio of the baseline's rate;
 * - the content export's floor: the baseline plus SNAPPY (the content schema's default codec)
 *   compressing every member's inflated bytes in 8 MiB pages, as the content encoder cuts its
 *   payload pages. No export can do less, so its ratio bounds the content figure from above.
 * Goals (issue "Index export at memory-scan speed"): index ≥ 3x one-shot inflate, content
 * ≥ 0.5x, peak RSS within the budget + 150 MB.
 * Run: npm run bench -- one-thread
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { compressPage } from '../../adapters/parquet/page-compression.ts';
import { defaultBudgetMb } from '../../cmd/worker/memory-plan.ts';
import { writeCommonCrawlLikeWarc, writeRepeated } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';
import { gunzipMembersCpuSeconds, memberRanges, type MemberRange } from './gzip-members.ts';
import { median } from './trend.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const source = `${benchFolder}commoncrawl-density-100mb.warc.gz`;
const file = `${benchFolder}commoncrawl-density-300mb.warc.gz`;
const binary = process.env['BENCH_WORKER'] ?? fileURLToPath(new URL('../../cmd/worker', import.meta.url));
/** Body scale of the generator that gives CommonCrawl's ~40 KB compressed a capture (index-decode.ts). */
const commonCrawlBodyScale = 7;
const filesInRun = 4;
const rounds = 3;
const megabyte = 1_000_000;
const rssAllowanceMb = 150;
/** The content encoder's payload pages: a row group is cut at 8 MiB of payload (parquet-encoder.ts). */
const contentPageBytes = 8 * 1024 * 1024;
const gzipTrailerBytes = 8;

interface Run {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

function exportOnce(input: string, schema: 'index' | 'content'): Run {
  const output = mkdtempSync(join(tmpdir(), 'bench-one-thread-out-'));
  try {
    const args = ['--input', input, '--output', output, '--threads', '1', '--schema', schema, '--metrics', 'none'];
    const run = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, binary, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0) throw new Error(`worker exited ${run.status}: ${run.stderr.slice(-2000)}`);
    const [wall, user, system, rssKb] = (run.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    return {
      wallSeconds: wall ?? Number.NaN,
      cpuSeconds: (user ?? Number.NaN) + (system ?? Number.NaN),
      peakRssMb: ((rssKb ?? Number.NaN) * 1024) / megabyte,
    };
  } finally {
    rmSync(output, { recursive: true, force: true });
  }
}

/** CPU seconds of SNAPPY compressing every member's inflated bytes, gathered into 8 MiB pages. */
function snappyCpuSeconds(bytes: Buffer, ranges: readonly MemberRange[]): number {
  const page = Buffer.allocUnsafe(contentPageBytes);
  let filled = 0;
  let seconds = 0;
  const compress = (body: Buffer) => {
    const started = process.cpuUsage();
    compressPage('SNAPPY', body);
    const used = process.cpuUsage(started);
    seconds += (used.user + used.system) / 1e6;
  };
  for (const { memberStart, end } of ranges) {
    const inflated = zlib.gunzipSync(bytes.subarray(memberStart, end + gzipTrailerBytes));
    // A member larger than the room left fills this page and starts the next ones.
    for (let offset = 0; offset < inflated.length;) {
      const taken = inflated.copy(page, filled, offset);
      filled += taken;
      offset += taken;
      if (filled === page.length) {
        compress(page);
        filled = 0;
      }
    }
  }
  if (filled > 0) compress(page.subarray(0, filled));
  return seconds;
}

function medianRun(runs: readonly Run[]): Run {
  return {
    wallSeconds: median(runs.map((run) => run.wallSeconds)),
    cpuSeconds: median(runs.map((run) => run.cpuSeconds)),
    peakRssMb: Math.max(...runs.map((run) => run.peakRssMb)),
  };
}

function exportFigures(
  label: string,
  run: Run,
  megabytes: number,
  baselineSeconds: number,
  goal: number,
): BenchFigure[] {
  const baseline = { name: 'zlib.gunzipSync member by member, MB per CPU-second', value: megabytes / baselineSeconds };
  const budgetMb = defaultBudgetMb(1);
  return [
    {
      name: `${label}: wall time (median of ${rounds})`,
      value: megabytes / run.wallSeconds,
      unit: 'MB/s',
      baseline,
      ratio: baselineSeconds / run.wallSeconds,
      goal: `>= ${goal}x one-shot inflate`,
    },
    {
      name: `${label}: CPU seconds of the whole process, per GB`,
      value: (run.cpuSeconds / megabytes) * 1000,
      unit: 's/GB',
      baseline: { name: 'zlib.gunzipSync member by member, CPU s/GB', value: (baselineSeconds / megabytes) * 1000 },
      ratio: baselineSeconds / run.cpuSeconds,
    },
    {
      name: `${label}: peak RSS (largest of ${rounds})`,
      value: run.peakRssMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: budgetMb },
      goal: `<= budget + ${rssAllowanceMb} MB`,
    },
  ];
}

export async function run(): Promise<BenchFigure[]> {
  writeCommonCrawlLikeWarc(source, 100_000_000, 20240518, commonCrawlBodyScale);
  writeRepeated(source, file, 300_000_000);
  const folder = mkdtempSync(join(tmpdir(), 'bench-one-thread-in-'));
  const runFolder = join(folder, 'run');
  const oneFolder = join(folder, 'one');
  try {
    for (const [target, count] of [
      [oneFolder, 1],
      [runFolder, filesInRun],
    ] as const) {
      mkdirSync(target);
      for (let index = 0; index < count; index++) symlinkSync(file, join(target, `part-${index}.warc.gz`));
    }
    const megabytes = statSync(file).size / megabyte;
    const bytes = readFileSync(file);
    const ranges = memberRanges(bytes);
    const baseline: number[] = [];
    const runs = { index: [] as Run[], indexRun: [] as Run[], content: [] as Run[] };
    for (let round = 0; round < rounds; round++) {
      baseline.push(gunzipMembersCpuSeconds(bytes, ranges));
      runs.index.push(exportOnce(oneFolder, 'index'));
      runs.indexRun.push(exportOnce(runFolder, 'index'));
      runs.content.push(exportOnce(oneFolder, 'content'));
    }
    const baselineSeconds = median(baseline);
    const floorSeconds = baselineSeconds + snappyCpuSeconds(bytes, ranges);
    const size = `${megabytes.toFixed(0)} MB`;
    return [
      ...exportFigures(
        `index export, one ${size} file, 1 thread`,
        medianRun(runs.index),
        megabytes,
        baselineSeconds,
        3,
      ),
      ...exportFigures(
        `index export, a run of ${filesInRun} such files, 1 thread`,
        medianRun(runs.indexRun),
        megabytes * filesInRun,
        baselineSeconds * filesInRun,
        3,
      ),
      ...exportFigures(
        `content export, one ${size} file, 1 thread`,
        medianRun(runs.content),
        megabytes,
        baselineSeconds,
        0.5,
      ),
      {
        name: 'content export floor: one-shot inflate plus SNAPPY of the inflated bytes, CPU seconds',
        value: floorSeconds,
        unit: 's',
        baseline: { name: 'zlib.gunzipSync member by member, CPU s', value: baselineSeconds },
        ratio: baselineSeconds / floorSeconds,
      },
    ];
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printFigures('one thread', await run());
