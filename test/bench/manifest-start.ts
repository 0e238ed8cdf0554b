/**
 * How soon a worker given a whole crawl starts: a loopback CommonCrawl-like tree whose
 * `warc.paths.gz` lists 90,000 files (a crawl's size), a PostgreSQL ledger, and the time from
 * the process's start to its `run enqueued` line (node and tsx loading, the manifest read,
 * 90 batches enqueued). The files are sized when claimed, one HEAD each across the fleet.
 *
 * Baseline, measured in the same run: sizing every file before the first claim, as each
 * worker once did, from the worker's own HTTP client (PoliteHttpClient, 20 requests a
 * second) timing 100 HEADs, 32 at a time, scaled to 90,000 files.
 *
 * Run: npm run bench -- manifest-start   (or npx tsx test/bench/manifest-start.ts); about
 * 15 s. Uses DATABASE_URL (default the local test database); its rows are deleted after.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { startCommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';
import { sharedFixtureUrl } from '../support/shared-fixtures.ts';

const binary = fileURLToPath(new URL('../../cmd/worker', import.meta.url));
const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const crawl = 'CC-MAIN-2099-02';
const manifestFiles = 90_000;
const sampleHeads = 100;
const headsInFlight = 32;
/** A start that takes longer than this is stuck, not slow. */
const startTimeoutMs = 120_000;

function pathOf(index: number): string {
  return `crawl-data/${crawl}/segments/1716000000000.${index % 100}/warc/CC-MAIN-20990101000000-20990101030000-${String(index).padStart(5, '0')}.warc.gz`;
}

/** A tree listing `manifestFiles` paths; only the first is there, for the HEAD baseline. */
function manifestTree(): Map<string, Uint8Array> {
  const paths = Array.from({ length: manifestFiles }, (_, index) => pathOf(index));
  const whirlwind = readFileSync(new URL('commoncrawl/whirlwind.warc.gz', sharedFixtureUrl));
  return new Map<string, Uint8Array>([
    [`crawl-data/${crawl}/warc.paths.gz`, new Uint8Array(gzipSync(`${paths.join('\n')}\n`))],
    [paths[0]!, new Uint8Array(whirlwind)],
  ]);
}

/** Milliseconds from spawning the worker to its `run enqueued` line; the worker is then killed. */
function timeToEnqueued(baseUrl: string, output: string, runId: string): Promise<number> {
  const args = [
    binary,
    '--input',
    `cc:${crawl}`,
    '--cc-base',
    baseUrl,
    '--output',
    output,
    '--ledger',
    connectionString,
    '--run-id',
    runId,
    '--metrics',
    'none',
    '--threads',
    '1',
  ];
  const startedAt = performance.now();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolveTime, reject) => {
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), startTimeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!stderr.includes('"run enqueued"')) return;
      const elapsedMs = performance.now() - startedAt;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolveTime(elapsedMs);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before enqueueing: ${stderr.slice(-2_000)}`));
    });
  });
}

/** Seconds that `sampleHeads` HEADs take through the worker's HTTP client, `headsInFlight` at a time. */
async function headSeconds(url: string): Promise<number> {
  const client = new PoliteHttpClient();
  const startedAt = performance.now();
  for (let sent = 0; sent < sampleHeads; sent += headsInFlight) {
    const batch = Math.min(headsInFlight, sampleHeads - sent);
    await Promise.all(Array.from({ length: batch }, () => client.sizeOf(url)));
  }
  return (performance.now() - startedAt) / 1_000;
}

async function deleteRun(runId: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('DELETE FROM cc_ledger.ledger_jobs WHERE run_id = $1', [runId]);
    await client.query('DELETE FROM cc_ledger.ledger_progress WHERE run_id = $1', [runId]);
  } finally {
    await client.end();
  }
}

export async function run(): Promise<BenchFigure[]> {
  const server = await startCommonCrawlHttpServer(manifestTree());
  const output = mkdtempSync(join(tmpdir(), 'manifest-start-'));
  const runId = `manifest-start-${process.pid}-${Date.now()}`;
  try {
    const startMs = await timeToEnqueued(server.baseUrl, output, runId);
    const headsBeforeEnqueued = server.requests.filter((request) => request.method === 'HEAD').length;
    const sampleSeconds = await headSeconds(`${server.baseUrl}${pathOf(0)}`);
    const sizingFirstSeconds = (sampleSeconds / sampleHeads) * manifestFiles;
    const startSeconds = startMs / 1_000;
    return [
      {
        name: `start with a ${manifestFiles.toLocaleString('en-US')}-file manifest, PostgreSQL ledger: process start to "run enqueued" (ratio: times sooner than the baseline)`,
        value: startSeconds,
        unit: 's',
        baseline: {
          name: `every file sized first (${sampleHeads} HEADs in ${sampleSeconds.toFixed(1)} s, scaled)`,
          value: sizingFirstSeconds,
        },
        ratio: sizingFirstSeconds / startSeconds,
      },
      {
        name: "HEAD requests the worker sent by then (the first claim's, at most)",
        value: headsBeforeEnqueued,
        unit: 'requests',
      },
    ];
  } finally {
    await server.stop();
    rmSync(output, { recursive: true, force: true });
    await deleteRun(runId);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('manifest-start', await run());
}
