/**
 * Crash test of a subset run, at small size: two real workers share a PostgreSQL ledger and
 * export the captures an index picked (one in three, one request a pick) from a loopback HTTP
 * server that answers slowly, so that work is in flight when, every second and a half, one of
 * them is killed with SIGKILL and started again. With a 10 s lease the victims' jobs come back.
 * At the end every picked capture is in the output exactly once (no capture missing, none
 * doubled, none that was not picked), and the ledger says every job done.
 *
 * Size: SUBSET_CRASH_FILES (default 6), SUBSET_CRASH_KILLS (default 4). Needs the machine's
 * PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
 */
import { duckdbNumberRows } from '../support/parquet-rows.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommonCrawlHttpServer, type CommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import { denseWarc } from '../support/dense-warc.ts';
import { runWorkerCommand, sleep, WorkerProcess, type WorkerSpawnOptions } from '../support/worker-process.ts';

const files = Number(process.env.SUBSET_CRASH_FILES ?? 6);
const kills = Number(process.env.SUBSET_CRASH_KILLS ?? 4);
const recordsPerFile = 90;
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** A database of this test's own: the ledger's schema in it is the one this version migrates. */
const database = `subset_crash_${process.pid}`;
const databaseUrl = new URL(adminUrl);
databaseUrl.pathname = `/${database}`;
const connectionString = databaseUrl.href;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
const folder = mkdtempSync(join(tmpdir(), 'worker-subset-crash-'));
const segment = 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc';
let server: CommonCrawlHttpServer;

interface Capture {
  warc_filename: string;
  warc_record_offset: number;
  n: number;
}

beforeAll(async () => {
  const tree = new Map<string, Uint8Array>();
  for (let index = 0; index < files; index += 1)
    tree.set(
      `${segment}/CC-MAIN-20240517233122-20240518023122-${String(index).padStart(5, '0')}.warc.gz`,
      denseWarc(recordsPerFile, 40 + index),
    );
  server = await startCommonCrawlHttpServer(tree);
  await admin(`CREATE DATABASE ${database}`);
});

afterAll(async () => {
  await server.stop();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  rmSync(folder, { recursive: true, force: true });
});

/**
 * The pick, one capture in three, written as a CSV index; the offsets come from the files
 * themselves, through a whole-file export of a local copy.
 */
async function writeIndex(options: WorkerSpawnOptions): Promise<Capture[]> {
  const local = join(folder, 'base');
  for (const [path, bytes] of server.files) {
    mkdirSync(join(local, segment), { recursive: true });
    writeFileSync(join(local, path), bytes);
  }
  const whole = join(folder, 'whole');
  const exit = await runWorkerCommand(['--input', local, '--output', whole, '--metrics', 'none'], options);
  expect(exit.code).toBe(0);
  const captures = await duckdbNumberRows<{
    warc_filename: string;
    warc_record_offset: number;
    warc_record_length: number;
  }>(
    `SELECT warc_filename, warc_record_offset, warc_record_length FROM read_parquet('${whole}/**/*.parquet')
     ORDER BY warc_filename, warc_record_offset`,
  );
  expect(captures).toHaveLength(files * recordsPerFile);
  const picked = captures.filter((_, index) => index % 3 === 0);
  const lines = picked.map((c) => `${c.warc_filename},${c.warc_record_offset},${c.warc_record_length}`);
  writeFileSync(
    join(folder, 'index.csv'),
    `warc_filename,warc_record_offset,warc_record_length\n${lines.join('\n')}\n`,
  );
  return picked.map((c) => ({ warc_filename: c.warc_filename, warc_record_offset: c.warc_record_offset, n: 1 }));
}

describe('a subset run whose workers are killed', () => {
  it('exports every picked capture exactly once', async () => {
    const options: WorkerSpawnOptions = { cwd: folder, env: { PATH: process.env.PATH ?? '', HOME: folder } };
    const picked = await writeIndex(options);
    // Each of the 30 requests of a file waits 150 ms: a file takes seconds, so kills land mid-job.
    server.faults.delayMs = 150;
    const output = join(folder, 'subset');
    const runId = `subset-crash-${process.pid}`;
    const args = [
      '--input',
      `index:${join(folder, 'index.csv')}`,
      '--cc-base',
      server.baseUrl,
      '--output',
      output,
      '--ledger',
      connectionString,
      '--run-id',
      runId,
      '--lease-seconds',
      '10',
      '--job-attempts',
      '50',
      '--coalesce-gap-kb',
      '0',
      '--metrics',
      'none',
      '--threads',
      '1',
    ];
    const workers = [new WorkerProcess('a', args, options), new WorkerProcess('b', args, options)];
    let killed = 0;
    // Bounded: one kill a turn, and the run's work is seconds long.
    for (let turn = 0; turn < kills * 4 && killed < kills; turn += 1) {
      await sleep(1_500);
      const victim = workers[turn % 2];
      if (victim === undefined || victim.exit !== null) continue;
      await victim.killNow();
      killed += 1;
      workers[turn % 2] = new WorkerProcess(turn % 2 === 0 ? 'a' : 'b', args, options);
    }
    expect(killed).toBeGreaterThan(0);
    for (const worker of workers) {
      const exit = await worker.exitWithin(120_000);
      expect(exit?.code, worker.stderr).toBe(0);
    }
    const exported = await duckdbNumberRows<Capture>(
      `SELECT warc_filename, warc_record_offset, count(*)::INTEGER AS n FROM read_parquet('${output}/**/*.parquet')
       GROUP BY ALL ORDER BY warc_filename, warc_record_offset`,
    );
    const sortKey = (capture: Capture) =>
      `${capture.warc_filename} ${String(capture.warc_record_offset).padStart(12, '0')}`;
    expect(exported.map(sortKey)).toEqual(picked.map(sortKey).sort());
    expect(exported.every((capture) => capture.n === 1)).toBe(true);
    const status = await runWorkerCommand(
      ['status', '--ledger', connectionString, '--run-id', runId, '--json'],
      options,
    );
    const summary = JSON.parse(status.stdout) as { done: number; failed: number };
    expect(summary).toMatchObject({ done: files, failed: 0 });
  }, 300_000);
});
