/**
 * The content schema against the index schema, on the same files in the same run:
 * - `node cmd/worker --schema content` and `--schema index` on 100 MB `.warc.gz` files of
 *   CommonCrawl's density (about 40 KB compressed a capture, ~2,600 captures, as the
 *   `index-decode` bench generates) and of smaller pages (payloads stored decoded, as
 *   CommonCrawl stores them), and on a file of gzip-encoded responses (as other crawlers store
 *   them), one thread, in compressed MB per CPU-second and CPU seconds per GB (user + system of
 *   the whole process, start included: MB/s per core), against `zlib.gunzipSync` of the same
 *   file's members one by one on one core (goal for content at CommonCrawl's density: >= 0.5x);
 * - the same decode and encode in this process (32 MiB chunks through the decoder, each push's
 *   rows through the SNAPPY encoder, best of two rounds): the worker's cost without its
 *   threads, I/O, part copies and start, against the same baseline;
 * - the worker's peak RSS exporting files of 4 MB payloads with `--schema content` at a tight
 *   memory budget, against the budget (goal: under budget + 150 MB).
 * BENCH_WORKER=path/to/cmd/worker runs another checkout's worker on the same files (the
 * figures before a change, beside the ones after it).
 * Run: npm run bench -- content
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { payloadLimits } from '../../adapters/warc/warc-limits.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { largePayloadWarc } from '../fixtures-gen/encoded-payload-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';
import { gunzipMembersCpuSeconds, memberRanges } from './gzip-members.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const commonCrawlFile = `${benchFolder}commoncrawl-like-100mb.warc.gz`;
const densityFile = `${benchFolder}commoncrawl-density-100mb.warc.gz`;
/** Body scale of the generator that gives CommonCrawl's ~40 KB compressed a capture (as index-decode.ts). */
const commonCrawlBodyScale = 7;
const encodedFolder = `${benchFolder}content-gzip-encoded/`;
const largeFolder = `${benchFolder}content-4mb-payloads/`;
const binary = process.env['BENCH_WORKER'] ?? fileURLToPath(new URL('../../cmd/worker', import.meta.url));
const megabyte = 1_000_000;
const gigabyte = 1_000_000_000;
/** Rounds of the baseline; its best CPU time counts (the machine is shared: the best is the least disturbed). */
const gunzipRounds = 3;
/** Files of 4 MB payloads for the peak RSS run, and payloads in each. */
const largeFiles = 3;
const largePayloadsPerFile = 24;
/** One thread's content reserve (272 MiB) and four 32 MiB chunks of data: a budget that binds. */
const tightBudgetMb = 400;

function prepare(): void {
  writeCommonCrawlLikeWarc(commonCrawlFile, 100_000_000);
  writeCommonCrawlLikeWarc(densityFile, 100_000_000, undefined, commonCrawlBodyScale);
  mkdirSync(encodedFolder, { recursive: true });
  const encoded = `${encodedFolder}gzip-responses.warc.gz`;
  // 1,500 pages of 40 KB, each sent gzip-encoded: about 15 MB compressed.
  if (!existsSync(encoded)) writeFileSync(encoded, largePayloadWarc(1500, 40_000, 'gzip'));
  mkdirSync(largeFolder, { recursive: true });
  for (let index = 0; index < largeFiles; index++) {
    const file = `${largeFolder}large-${index}.warc.gz`;
    if (!existsSync(file))
      writeFileSync(file, largePayloadWarc(largePayloadsPerFile, 4_000_000, index % 2 === 0 ? 'plain' : 'gzip'));
  }
}

interface WorkerRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

function workerRun(input: string, schema: 'index' | 'content', budgetMb?: number): WorkerRun {
  const output = `${benchFolder}content-output-${schema}`;
  rmSync(output, { recursive: true, force: true });
  const budget = budgetMb === undefined ? [] : ['--memory-budget-mb', String(budgetMb)];
  const started = process.hrtime.bigint();
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M %U %S',
      process.execPath,
      binary,
      '--input',
      input,
      '--output',
      output,
      '--threads',
      '1',
      '--metrics',
      'none',
      '--schema',
      schema,
      ...budget,
    ],
    { encoding: 'utf8' },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`worker failed (${result.status}): ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  const [maxRssKb, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number) as [number, number, number];
  rmSync(output, { recursive: true, force: true });
  return { seconds, cpuSeconds: user + system, peakRssMb: (maxRssKb * 1024) / megabyte };
}

/**
 * MB per CPU-second of zlib.gunzipSync of the file's members one by one, read first, on one
 * core: CPU time, as the worker's figures, so that the machine's other load moves neither. Not
 * the whole file in one call: its output in one buffer is memory touched for the first time,
 * which made that baseline four to five times slower here (test/bench/gzip-members.ts). The
 * best of a few rounds.
 */
function gunzipRate(file: string): number {
  const bytes = readFileSync(file);
  const ranges = memberRanges(bytes);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < gunzipRounds; round += 1) best = Math.min(best, gunzipMembersCpuSeconds(bytes, ranges));
  return bytes.length / megabyte / best;
}

const chunkBytes = 32 * 1024 * 1024;
const inProcessRounds = 2;

/** CPU seconds of decoding and encoding the file's content rows in this process, best of a few rounds. */
async function inProcessContentSeconds(file: string): Promise<number> {
  const bytes = readFileSync(file);
  const input: InputRef = { uri: file, filename: 'bench.warc.gz', crawl: null, subset: null, segment: null };
  const output = { schema: 'content', contentBytesMax: payloadLimits.contentKibDefault * 1024 } as const;
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < inProcessRounds; round += 1) {
    const started = process.cpuUsage();
    const decoder = new WarcDecoder({ fullInflate: true, output }).open(input);
    const encoder = createParquetEncoder({ schema: 'content', compression: 'SNAPPY' }).open();
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      const final = offset + chunkBytes >= bytes.length;
      await encoder.writeRowGroup(decoder.push(bytes.subarray(offset, offset + chunkBytes), final).rows);
    }
    await encoder.finish();
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  return best;
}

async function inProcessFigure(label: string, file: string): Promise<BenchFigure> {
  const baseline = { name: 'zlib.gunzipSync member by member, MB per CPU-second', value: gunzipRate(file) };
  const rate = statSync(file).size / megabyte / (await inProcessContentSeconds(file));
  return {
    name: `content decode + encode in one process (no worker threads, I/O or start), ${label}, MB per CPU-second`,
    value: rate,
    unit: 'MB/s',
    baseline,
    ratio: rate / baseline.value,
  };
}

function schemaFigures(label: string, file: string, contentGoal?: string): BenchFigure[] {
  const megabytes = statSync(file).size / megabyte;
  const baseline = { name: 'zlib.gunzipSync member by member, MB per CPU-second', value: gunzipRate(file) };
  const index = workerRun(file, 'index');
  const content = workerRun(file, 'content');
  const indexRate = megabytes / index.cpuSeconds;
  const contentRate = megabytes / content.cpuSeconds;
  const gigabytes = megabytes / (gigabyte / megabyte);
  return [
    {
      name: `content export, ${label}, CPU seconds per GB (ratio: times zlib.gunzipSync's)`,
      value: content.cpuSeconds / gigabytes,
      unit: 's/GB',
      baseline: {
        name: 'zlib.gunzipSync member by member, CPU seconds per GB',
        value: gigabyte / megabyte / baseline.value,
      },
      ratio: baseline.value / contentRate,
    },
    {
      name: `index export, ${label}, MB per CPU-second`,
      value: indexRate,
      unit: 'MB/s',
      baseline,
      ratio: indexRate / baseline.value,
    },
    {
      name: `content export, ${label}, MB per CPU-second`,
      value: contentRate,
      unit: 'MB/s',
      baseline,
      ratio: contentRate / baseline.value,
      ...(contentGoal === undefined ? {} : { goal: contentGoal }),
    },
    {
      name: `content export against index export, ${label}`,
      value: contentRate / indexRate,
      unit: 'x',
      baseline: { name: 'index export MB per CPU-second', value: indexRate },
      ratio: contentRate / indexRate,
    },
  ];
}

export async function run(): Promise<BenchFigure[]> {
  prepare();
  const large = workerRun(largeFolder, 'content', tightBudgetMb);
  const largeMegabytes =
    Array.from({ length: largeFiles }, (_, index) => statSync(`${largeFolder}large-${index}.warc.gz`).size).reduce(
      (sum, bytes) => sum + bytes,
      0,
    ) / megabyte;
  return [
    await inProcessFigure("100 MB at CommonCrawl's density", densityFile),
    ...schemaFigures(
      "100 MB at CommonCrawl's density (~40 KB a capture, payloads stored decoded)",
      densityFile,
      '>= 0.5x',
    ),
    ...schemaFigures('CommonCrawl-like 100 MB of smaller pages (payloads stored decoded)', commonCrawlFile),
    ...schemaFigures('gzip-encoded responses', `${encodedFolder}gzip-responses.warc.gz`),
    {
      name: `peak RSS, content export of ${largeMegabytes.toFixed(0)} MB of 4 MB payloads, 1 thread, budget ${tightBudgetMb} MiB`,
      value: large.peakRssMb,
      unit: 'MB',
      baseline: { name: 'memory budget MB', value: (tightBudgetMb * 1024 * 1024) / megabyte },
      goal: '<= budget + 150 MB',
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('content export against index export', await run());
}
