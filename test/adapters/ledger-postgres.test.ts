/**
 * Proves the PostgreSQL ledger keeps the Ledger contract against a real server
 * (DATABASE_URL, default the local one), in a schema of its own that is dropped at the end;
 * and what a fleet needs of it: 8 concurrent claimers over 10,000 jobs take each job exactly
 * once; a claimer killed with SIGKILL mid-lease loses its jobs to others once the lease
 * expires, and its stale lease can no longer complete them; leases follow the database's
 * clock, not a worker's; a fleet starting together migrates the schema once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import {
  contractEpochMs,
  contractInputs,
  contractOptions,
  registerLedgerContract,
  sleep,
  someResult,
  virtualClock,
} from './ledger-contract.ts';
import { childPath, startChild } from './ledger-children/child-process.ts';
import { loadMigrations, migrate } from '../../adapters/ledger/postgres-migrations.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ledger_test_${process.pid}`;

afterAll(async () => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

registerLedgerContract('postgres', (options) => PostgresLedger.open({ ...options, connectionString, schema }));

describe('PostgreSQL ledger under a fleet', () => {
  let ledger: PostgresLedger;
  beforeAll(async () => {
    ledger = await PostgresLedger.open({ ...contractOptions, connectionString, schema, connectionsMax: 2 });
  });
  afterAll(async () => {
    await ledger?.close();
  });

  test('workers opening together apply each migration once', async () => {
    const racingSchema = `${schema}_race`;
    const ledgers = await Promise.all(
      Array.from({ length: 4 }, () =>
        PostgresLedger.open({ ...contractOptions, connectionString, schema: racingSchema, connectionsMax: 1 }),
      ),
    );
    await Promise.all(ledgers.map((opened) => opened.close()));
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      const applied = await client.query(`SELECT version FROM ${racingSchema}.ledger_migrations ORDER BY version`);
      const versions = (await loadMigrations()).map((migration) => migration.version);
      expect(versions.length).toBeGreaterThanOrEqual(5);
      expect(applied.rows.map((row) => row.version)).toEqual(versions);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${racingSchema} CASCADE`);
      await client.end();
    }
  });

  test('a ledger holding two inputs under one output key is migrated: the pair is reported, the later input not exported again', async () => {
    const legacySchema = `${schema}_legacy`;
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      // A schema as the ledger left it before output keys had to be distinct.
      await client.query(`CREATE SCHEMA ${legacySchema}; SET search_path TO ${legacySchema}`);
      await client.query(
        'CREATE TABLE ledger_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      for (const migration of (await loadMigrations()).filter((candidate) => candidate.version <= 3)) {
        await client.query(migration.sql);
        await client.query('INSERT INTO ledger_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
      }
      // x.warc.gz and x.warc both became x.parquet; y twice, both exported; z alone; another run holds x too.
      const rows: [string, string, string, string, string][] = [
        ['legacy', 'j-x-gz', '/warcs/x.warc.gz', 'out/x.parquet', 'done'],
        ['legacy', 'j-x', '/warcs/x.warc', 'out/x.parquet', 'pending'],
        ['legacy', 'j-y1', '/warcs/y.warc.gz', 'out/y.parquet', 'done'],
        ['legacy', 'j-y2', '/warcs/y.warc', 'out/y.parquet', 'done'],
        ['legacy', 'j-z', '/warcs/z.warc.gz', 'out/z.parquet', 'failed'],
        ['other', 'j-x-gz', '/warcs/x.warc.gz', 'out/x.parquet', 'pending'],
      ];
      for (const [index, [runId, jobId, uri, outputKey, state]] of rows.entries()) {
        await client.query(
          `INSERT INTO ledger_jobs (run_id, job_id, uri, input, size_bytes, output_key, state, claimable_at, enqueued_at, last_error)
          VALUES ($1, $2, $3, $4, 10, $5, $6, CASE WHEN $6 = 'pending' THEN now() END, now() + $7 * interval '1 second',
            CASE WHEN $6 = 'failed' THEN 'input: not a WARC file' END)`,
          [
            runId,
            jobId,
            uri,
            JSON.stringify({ uri, filename: uri.slice(7), crawl: null, subset: null, segment: null }),
            outputKey,
            state,
            index,
          ],
        );
      }
      const migrated = await PostgresLedger.open({
        ...contractOptions,
        connectionString,
        schema: legacySchema,
        connectionsMax: 1,
      });
      try {
        expect(await migrated.sharedOutputKeys('legacy', 10)).toEqual([
          { uri: '/warcs/x.warc', outputKey: 'out/x.parquet', heldBy: '/warcs/x.warc.gz', state: 'failed' },
          { uri: '/warcs/y.warc', outputKey: 'out/y.parquet', heldBy: '/warcs/y.warc.gz', state: 'done' },
        ]);
        expect(await migrated.sharedOutputKeys('other', 10)).toEqual([]);
        const failed = await migrated.failedJobs('legacy', 10);
        expect(failed.find((job) => job.uri === '/warcs/x.warc')?.lastError).toMatch(
          /out\/x\.parquet .*\/warcs\/x\.warc\.gz/,
        );
        // The later input is never handed out: it would overwrite the first's object.
        expect(await migrated.claim('legacy', 'worker-a', 10, 60_000)).toEqual({ jobs: [], exhausted: true });
        expect((await migrated.retryFailed('legacy')).map((job) => job.uri)).toEqual(['/warcs/z.warc.gz']);
        expect(await migrated.jobStatus('legacy', 'j-x')).toMatchObject({ state: 'failed' });
        // From now on the rule holds for every input.
        const [fresh] = contractInputs(1, 'fresh');
        const twin = { ...fresh!, uri: 's3://elsewhere/fresh-0.warc.gz' };
        expect(await migrated.enqueue('legacy', [fresh!, twin])).toEqual({
          added: 1,
          collisions: [{ uri: twin.uri, outputKey: contractOptions.outputKeyOf(fresh!), heldBy: fresh!.uri }],
        });
        expect((await migrated.listRuns()).map((run) => [run.runId, run.input, run.done])).toEqual(
          expect.arrayContaining([
            ['legacy', null, 3],
            ['other', null, 0],
          ]),
        );
      } finally {
        await migrated.close();
      }
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${legacySchema} CASCADE`);
      await client.end();
    }
  });

  test('results stored with free-text reasons, before the codes, read as codes; unknown or damaged ones do not break stats', async () => {
    const runId = `reasons-${process.pid}`;
    await ledger.enqueue(runId, contractInputs(3, 'reasons'));
    const jobs = (await ledger.claim(runId, 'worker-a', 3, 60_000)).jobs;
    for (const job of jobs) expect(await ledger.complete(runId, job, someResult)).toBe(true);
    // As a worker wrote them before the codes, and a result whose counters no version wrote.
    const stored = [
      {
        byType: { response: 6 },
        badByReason: { 'truncated gzip member': 1, 'corrupt gzip member': 2, 'invalid WARC-Date': 4 },
        skippedByReason: { 'not an HTTP capture': 3 },
      },
      { byType: {}, badByReason: 5, skippedByReason: { not_http_capture: 'many' }, warningByReason: null },
    ];
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      for (const [index, counters] of stored.entries()) {
        await client.query(`UPDATE ${schema}.ledger_jobs SET counters = $3 WHERE run_id = $1 AND job_id = $2`, [
          runId,
          jobs[index]!.jobId,
          JSON.stringify(counters),
        ]);
      }
    } finally {
      await client.end();
    }
    expect(await ledger.stats(runId)).toMatchObject({
      done: 3,
      badRecordsDone: 8,
      skippedRecordsDone: 5,
      recordWarningsDone: 1,
      badByReasonDone: { truncated_gzip_member: 2, corrupt_gzip_member: 2, other: 4 },
      skippedByReasonDone: { not_http_capture: 5 },
      warningByReasonDone: { unreadable_warc_date: 1 },
    });
  });

  test("leases run on the database's clock: a worker whose clock is an hour off changes nothing", async () => {
    const runId = `clock-${Date.now()}`;
    await ledger.enqueue(runId, contractInputs(2, 'clock'));
    const job = (await ledger.claim(runId, 'worker-a', 1, 60_000)).jobs[0]!;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000);
      expect(await ledger.heartbeat(runId, 'worker-a', [job], 60_000)).toEqual({ renewed: [job.jobId], lost: [] });
      expect(await ledger.reclaimExpired(runId)).toBe(0);
      expect(await ledger.complete(runId, job, someResult)).toBe(true);
      vi.setSystemTime(Date.now() - 7_200_000);
      // The one real wait left in the ledger tests: what it shows is the database's own clock
      // running, which no test clock can stand in for. 30 ms of lease, 150 ms of wait.
      const next = (await ledger.claim(runId, 'worker-a', 1, 30)).jobs[0]!;
      await sleep(150);
      // The worker's clock says almost no time passed; the database's says the lease is over.
      expect(await ledger.complete(runId, next, someResult)).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  test('workers enqueueing together, each with its own input of one output key, leave one holder and name it to the others', async () => {
    const runId = `collide-${Date.now()}`;
    const [shared] = contractInputs(1, 'collide');
    const enqueuers = await Promise.all(
      Array.from({ length: 8 }, () =>
        PostgresLedger.open({ ...contractOptions, connectionString, schema, connectionsMax: 1 }),
      ),
    );
    try {
      const results = await Promise.all(
        enqueuers.map((enqueuer, index) =>
          enqueuer.enqueue(runId, [
            { ...shared!, uri: `s3://bucket-${index}/${shared!.filename}` },
            ...contractInputs(1, `own-${index}`),
          ]),
        ),
      );
      const holders = results.filter((result) => result.added === 2);
      expect(holders).toHaveLength(1);
      const holderUri = `s3://bucket-${results.indexOf(holders[0]!)}/${shared!.filename}`;
      for (const result of results.filter((candidate) => candidate !== holders[0])) {
        expect(result.added).toBe(1);
        expect(result.collisions).toEqual([
          {
            uri: expect.stringMatching(/^s3:\/\/bucket-\d\//),
            outputKey: contractOptions.outputKeyOf(shared!),
            heldBy: holderUri,
          },
        ]);
      }
      expect(await ledger.stats(runId)).toMatchObject({ pending: 9 });
    } finally {
      await Promise.all(enqueuers.map((enqueuer) => enqueuer.close()));
    }
  });

  test('8 concurrent claimers over 10,000 jobs take each job exactly once', async () => {
    const runId = `fleet-${Date.now()}`;
    expect((await ledger.enqueue(runId, contractInputs(10_000, 'fleet'))).added).toBe(10_000);
    const claimers = await Promise.all(
      Array.from({ length: 8 }, () =>
        PostgresLedger.open({ ...contractOptions, connectionString, schema, connectionsMax: 1 }),
      ),
    );
    try {
      const taken = await Promise.all(
        claimers.map((claimer, index) => claimUntilExhausted(claimer, runId, `worker-${index}`)),
      );
      const all = taken.flat();
      expect(all).toHaveLength(10_000);
      expect(new Set(all).size).toBe(10_000);
      // Every claimer got work: SKIP LOCKED spreads the jobs rather than serialising them.
      for (const jobs of taken) expect(jobs.length).toBeGreaterThan(0);
      expect(await ledger.stats(runId)).toMatchObject({ done: 10_000, remaining: 0, rowsDone: 100_000 });
    } finally {
      await Promise.all(claimers.map((claimer) => claimer.close()));
    }
  });

  test('a claimer killed with SIGKILL mid-lease loses its jobs to others after the lease expires', async () => {
    const runId = `killed-${Date.now()}`;
    const leaseMs = 1_500;
    // Both processes on one test clock, handed to the SQL: the lease runs out when the clock
    // is moved past it, without a real wait.
    const clock = virtualClock(contractEpochMs);
    const survivor = await PostgresLedger.open({
      ...contractOptions,
      connectionString,
      schema,
      connectionsMax: 1,
      nowMs: clock.nowMs,
    });
    await survivor.enqueue(runId, contractInputs(5, 'killed'));
    const child = startChild(childPath('postgres-claimer.ts'), {
      DATABASE_URL: connectionString,
      LEDGER_SCHEMA: schema,
      RUN_ID: runId,
      CLAIM_COUNT: '3',
      LEASE_MS: String(leaseMs),
      LEDGER_NOW_MS: String(clock.nowMs()),
    });
    try {
      await killedClaimerLosesItsJobs(survivor, child, runId, leaseMs, clock);
    } finally {
      await survivor.close();
    }
  });
});

/** The killed claimer held 3 of the run's 5 jobs; its lease runs out at `leaseMs` on `clock`. */
async function killedClaimerLosesItsJobs(
  ledger: PostgresLedger,
  child: ReturnType<typeof startChild>,
  runId: string,
  leaseMs: number,
  clock: ReturnType<typeof virtualClock>,
): Promise<void> {
  const line = await child.waitForLine((text) => text.startsWith('{"claimed"'), 20_000);
  await child.kill();
  const held: { jobId: string; attempt: number }[] = JSON.parse(line).claimed;
  expect(held).toHaveLength(3);
  // While the dead worker's lease runs, only the two other jobs can be had.
  const before = await ledger.claim(runId, 'survivor', 5, 60_000);
  expect(before.jobs).toHaveLength(2);
  for (const job of before.jobs) expect(held.map((lease) => lease.jobId)).not.toContain(job.jobId);
  clock.advance(leaseMs - 1);
  expect((await ledger.claim(runId, 'survivor', 5, 60_000)).jobs).toEqual([]);
  clock.advance(1);
  const after = await ledger.claim(runId, 'survivor', 5, 60_000);
  expect(after.jobs.map((job) => job.jobId).sort()).toEqual(held.map((lease) => lease.jobId).sort());
  for (const job of after.jobs) expect(job.attempt).toBe(2);
  // Had the dead worker only been slow, its late complete would be refused.
  for (const lease of held) expect(await ledger.complete(runId, lease, someResult)).toBe(false);
  for (const job of [...before.jobs, ...after.jobs]) expect(await ledger.complete(runId, job, someResult)).toBe(true);
  expect(await ledger.claim(runId, 'survivor', 5, 60_000)).toEqual({ jobs: [], exhausted: true });
}

/** Claims 25 at a time and completes them all, until the run says it is over; at most 10,000 rounds. */
async function claimUntilExhausted(claimer: PostgresLedger, runId: string, workerId: string): Promise<string[]> {
  const taken: string[] = [];
  for (let round = 0; round < 10_000; round += 1) {
    const { jobs, exhausted } = await claimer.claim(runId, workerId, 25, 60_000);
    if (exhausted) return taken;
    for (const job of jobs) {
      taken.push(job.jobId);
      if (!(await claimer.complete(runId, job, someResult)))
        throw new Error(`complete of a held lease refused: ${job.jobId}`);
    }
  }
  throw new Error('claimer did not see the run end within 10,000 rounds');
}

describe('PostgreSQL migrations of another build', () => {
  test('refuses a schema where a version was applied under another name, naming both', async () => {
    const schema = 'ledger_other_build';
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await migrate(client, schema);
      const last = (await loadMigrations()).at(-1);
      await client.query(`UPDATE ${schema}.ledger_migrations SET name = 'NNN-elsewhere.sql' WHERE version = $1`, [
        last?.version,
      ]);
      await expect(migrate(client, schema)).rejects.toThrow(
        new RegExp(`migration ${last?.version} was applied as NNN-elsewhere.sql, but this worker's is ${last?.name}`),
      );
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
