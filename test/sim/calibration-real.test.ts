// Proves the calibration pipeline works end to end on the real worker, and the paced server
// it runs against paces honestly. The server: a ranged GET answers the asked bytes, no sooner
// than its latency plus its bytes over the per-connection rate, and two connections under a
// total limit take no less than their bytes over that limit. The pipeline: the real worker
// exports a small generated crawl from the paced server and logs metrics snapshots; `npm run
// sim --calibrate` reads that log, sets rows per input byte to exactly the generator's pages
// over the bytes served (each page has one response record, so one row), keeps a model value
// the scenario file states over the calibrated one and says so, and predicts a makespan for the
// same workload within a wide band of the measured one (the machine is shared, so only a
// factor of 4 either way is asserted; the bench, test/bench/calibration.ts, measures the error).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { predictSeconds, runWorker, scenarioFor, type Workload } from '../bench/calibration.ts';
import { startPacedHttpServer } from '../support/paced-http-server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'calibration-real-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function timedGet(url: string, range: string): Promise<{ bytes: Uint8Array; ms: number; status: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { range } });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { bytes, ms: performance.now() - started, status: response.status };
}

describe('the paced loopback server', () => {
  const file = new Uint8Array(Array.from({ length: 300_000 }, (_, index) => index % 251));
  const files = new Map([
    ['crawl-data/X/a.warc.gz', file],
    ['crawl-data/X/b.warc.gz', file],
  ]);

  it('answers ranges no sooner than latency plus bytes over the per-connection rate', async () => {
    const server = await startPacedHttpServer({
      files,
      latencyMs: 100,
      connectionBytesPerSecond: 1_000_000,
      totalBytesPerSecond: Infinity,
    });
    try {
      const { bytes, ms, status } = await timedGet(`${server.baseUrl}crawl-data/X/a.warc.gz`, 'bytes=1000-200999');
      expect(status).toBe(206);
      expect(bytes).toEqual(file.subarray(1000, 201_000));
      // 100 ms + 200,000 B at 1 MB/s = 300 ms: a connection's meter starts with no credit, and
      // timers may fire late, never early (1 ms of rounding).
      expect(ms).toBeGreaterThanOrEqual(299);
      expect(server.achievedConnectionBytesPerSecond()).toBeLessThanOrEqual(1_000_000 * 1.01);
    } finally {
      await server.stop();
    }
  });

  it('shares the total limit between connections', async () => {
    const server = await startPacedHttpServer({
      files,
      latencyMs: 0,
      connectionBytesPerSecond: Infinity,
      totalBytesPerSecond: 2_000_000,
    });
    try {
      const started = performance.now();
      const answers = await Promise.all(
        ['a', 'b'].map((name) => timedGet(`${server.baseUrl}crawl-data/X/${name}.warc.gz`, 'bytes=0-299999')),
      );
      const ms = performance.now() - started;
      expect(answers.map((answer) => answer.bytes.length)).toEqual([300_000, 300_000]);
      // 600,000 B at 2 MB/s: 300 ms at least, less the catch-up window the total meter grants after idling.
      expect(ms).toBeGreaterThanOrEqual(300 - 20);
    } finally {
      await server.stop();
    }
  });
});

describe('calibration from the real worker', () => {
  // Paced so the run lasts several seconds however fast the machine: each 1 MB chunk takes 2 s, so
  // the log holds several snapshots a second apart (at 4 MB/s a fast run left fewer than two).
  const workload: Workload = {
    name: 'test',
    files: 3,
    fileMb: 3,
    chunkMb: 1,
    latencyMs: 20,
    connectionMbPerSecond: 0.5,
  };

  it("calibrates from the worker's metrics log and predicts its makespan within a factor of 4", async () => {
    const warcPath = join(folder, 'small.warc.gz');
    const pages = writeCommonCrawlLikeWarc(warcPath, workload.fileMb * 1e6, 99);
    expect(pages).not.toBeNull();
    const warc = new Uint8Array(readFileSync(warcPath));
    const measured = await runWorker(workload, warc);
    expect(measured.last.counters.rows).toBe((pages as number) * workload.files);
    const logPath = join(folder, 'metrics.jsonl');
    writeFileSync(logPath, measured.log);
    const scenario = scenarioFor(workload, warc.length) as { models: { data: object } };
    const scenarioPath = join(folder, 'scenario.json');
    writeFileSync(scenarioPath, JSON.stringify(scenario));

    // A file that states Parquet bytes per row keeps it; rows per byte still come from the log.
    const statingPath = join(folder, 'scenario-stating.json');
    writeFileSync(
      statingPath,
      JSON.stringify({
        ...scenario,
        models: { ...scenario.models, data: { ...scenario.models.data, parquetBytesPerRow: 100 } },
      }),
    );
    const text = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'cmd/sim/main.ts', '--scenario', statingPath, '--calibrate', logPath],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(text.status, text.stderr).toBe(0);
    const rowsPerMegabyte = Math.round(((pages as number) / warc.length) * 1e6);
    expect(text.stdout).toContain(`${rowsPerMegabyte} rows per MB in`);
    expect(text.stdout).toMatch(
      /the scenario file's [\w., ]*data\.parquetBytesPerRow[\w., ]* kept over the calibrated values/,
    );

    const predicted = predictSeconds(scenarioPath, logPath);
    expect(predicted / measured.spanSeconds).toBeGreaterThan(0.25);
    expect(predicted / measured.spanSeconds).toBeLessThan(4);
  }, 240_000);
});
