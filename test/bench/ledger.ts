/**
 * Ledger benchmark: jobs claimed and completed per second by 8 concurrent claimers, each
 * claiming 8 jobs at a time (the core's claimBatchMax) and completing them one by one, as a
 * worker does. Against the local PostgreSQL (DATABASE_URL; a schema of its own, dropped at
 * the end), with a trivial `SELECT 1` round-trip rate from 8 clients as the baseline of the
 * same run; and the embedded ledger, with the rate of bare `fdatasync`ed appends as its
 * baseline. Goal: ≥ 2,000 jobs/s on PostgreSQL, far above a fleet of 1,000 workers' needs
 * (a 1 GiB WARC file takes a worker tens of seconds: 1,000 workers ask for ~50 jobs/s).
 *
 * Run alone: `npx tsx test/bench/ledger.ts [jobs]`.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { InputRef } from '../../core/input-ref.ts';
import type { JobResult } from '../../core/ledger.ts';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import type { InspectableLedger } from '../../adapters/ledger/ledger-options.ts';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const claimersCount = 8;
const claimBatch = 8;
const jobsDefault = 10_000;
const baselineMs = 2_000;
const runId = 'bench-run';

const result: JobResult = {
  rows: 30_000,
  inputBytes: 1 << 30,
  outputBytes: 1 << 27,
  counters: { byType: { response: 30_000 }, badByReason: {} },
};

function inputs(count: number): InputRef[] {
  return Array.from({ length: count }, (_, index) => ({
    uri: `s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/warc/bench-${index}.warc.gz`,
    filename: `bench-${index}.warc.gz`,
    sizeBytes: 1 << 30,
    crawl: 'CC-MAIN-2024-22',
    subset: 'warc',
    segment: '1',
  }));
}

const outputKeyOf = (input: InputRef): string => input.filename.replace(/\.warc\.gz$/, '.parquet');

/** One claimer: claim 8, complete each, until the run is over; bounded by the job count (plus idle rounds). */
async function claimAndComplete(ledger: InspectableLedger, workerId: string, jobs: number): Promise<number> {
  let completed = 0;
  for (let round = 0; round <= 2 * jobs; round += 1) {
    const claim = await ledger.claim(runId, workerId, claimBatch, 300_000);
    if (claim.exhausted) return completed;
    // Nothing claimable while others still hold jobs: wait as the core does (claimIdleMs), briefly.
    if (claim.jobs.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    for (const job of claim.jobs) {
      if (!(await ledger.complete(runId, job, result)))
        throw new Error(`bench: complete of a held lease refused (${job.jobId})`);
      completed += 1;
    }
  }
  throw new Error('bench: the run did not end');
}

/** Jobs claimed and completed per second by claimers over one already enqueued run. */
async function jobsPerSecond(claimers: readonly InspectableLedger[], jobs: number): Promise<number> {
  const startMs = performance.now();
  const counts = await Promise.all(claimers.map((ledger, index) => claimAndComplete(ledger, `bench-${index}`, jobs)));
  const seconds = (performance.now() - startMs) / 1_000;
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total !== jobs) throw new Error(`bench: ${total} jobs completed, ${jobs} enqueued`);
  return jobs / seconds;
}

async function selectOneRoundTripsPerSecond(): Promise<number> {
  const clients = Array.from({ length: claimersCount }, () => new pg.Client({ connectionString }));
  await Promise.all(clients.map((client) => client.connect()));
  try {
    const endMs = performance.now() + baselineMs;
    const counts = await Promise.all(
      clients.map(async (client) => {
        let count = 0;
        while (performance.now() < endMs) {
          await client.query('SELECT 1');
          count += 1;
        }
        return count;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0) / (baselineMs / 1_000);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

async function postgresJobsPerSecond(jobs: number): Promise<number> {
  const schema = `ledger_bench_${process.pid}`;
  const options = { connectionString, schema, outputKeyOf, connectionsMax: 1 };
  const setup = await PostgresLedger.open({ ...options, connectionsMax: 2 });
  try {
    await setup.enqueue(runId, inputs(jobs));
    const claimers = await Promise.all(Array.from({ length: claimersCount }, () => PostgresLedger.open(options)));
    try {
      return await jobsPerSecond(claimers, jobs);
    } finally {
      await Promise.all(claimers.map((claimer) => claimer.close()));
    }
  } finally {
    await setup.close();
    const client = new pg.Client({ connectionString });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
}

/** Bare appends of a short line, each followed by fdatasync: what the journal pays per group commit. */
async function syncedAppendsPerSecond(directory: string): Promise<number> {
  const handle = await open(join(directory, 'baseline.jsonl'), 'a');
  try {
    const line = Buffer.from(`${JSON.stringify({ kind: 'baseline', padding: 'x'.repeat(200) })}\n`);
    const endMs = performance.now() + baselineMs;
    let count = 0;
    while (performance.now() < endMs) {
      await handle.write(line);
      await handle.datasync();
      count += 1;
    }
    return count / (baselineMs / 1_000);
  } finally {
    await handle.close();
  }
}

async function embeddedFigures(jobs: number): Promise<{ jobsPerSecond: number; appendsPerSecond: number }> {
  const directory = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
  try {
    const appendsPerSecond = await syncedAppendsPerSecond(directory);
    const ledger = await EmbeddedLedger.open({ directory: join(directory, 'ledger'), outputKeyOf });
    try {
      await ledger.enqueue(runId, inputs(jobs));
      // One process owns an embedded ledger: its 8 claimers share the instance, as a worker's jobs do.
      return {
        jobsPerSecond: await jobsPerSecond(
          Array.from({ length: claimersCount }, () => ledger),
          jobs,
        ),
        appendsPerSecond,
      };
    } finally {
      await ledger.close();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

export async function run(jobs: number = jobsDefault): Promise<BenchFigure[]> {
  const selectOne = await selectOneRoundTripsPerSecond();
  const postgres = await postgresJobsPerSecond(jobs);
  const embedded = await embeddedFigures(jobs);
  return [
    { name: 'postgres SELECT 1 round trips/s (8 clients)', value: selectOne, unit: 'round trips/s' },
    {
      name: `postgres claim+complete (8 claimers, batch ${claimBatch})`,
      value: postgres,
      unit: 'jobs/s',
      baseline: { name: 'SELECT 1 round trips/s', value: selectOne },
      ratio: postgres / selectOne,
      goal: '>= 2000 jobs/s',
    },
    {
      name: `embedded claim+complete (8 claimers, batch ${claimBatch})`,
      value: embedded.jobsPerSecond,
      unit: 'jobs/s',
      baseline: { name: 'fdatasync appends/s', value: embedded.appendsPerSecond },
      ratio: embedded.jobsPerSecond / embedded.appendsPerSecond,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const jobs = Number(process.argv[2] ?? jobsDefault);
  printFigures(`ledger: ${jobs} jobs, ${claimersCount} claimers`, await run(jobs));
}
