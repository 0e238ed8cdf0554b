/**
 * Proves PostgreSQL's errors are classified once, at the ledger's boundary, from what the real
 * server (DATABASE_URL, default the local one) sends: serialization failures and deadlocks,
 * lost connections and shutdowns, too many connections are retryable faults of the remote;
 * every other error says what it is (its SQLSTATE and class) and is not retried. And the
 * ledger throws them classified: a transient error at `complete` reaches the core as a
 * retryable remote fault, not as a plain error taken for our own bug.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError, type Failure } from '../../core/failure.ts';
import { classifyPostgresError } from '../../adapters/ledger/postgres-failure.ts';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import { contractInputs, contractOptions, someResult } from './ledger-contract.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ledger_failure_${process.pid}`;

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString });
  await client.connect();
});
afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

/** The error the server sends for a statement that raises `sqlState`. */
async function raised(sqlState: string): Promise<unknown> {
  const error = await client
    .query(`DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '${sqlState}'; END $$`)
    .catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(Error);
  return error;
}

describe('PostgreSQL errors, classified', () => {
  test.each([
    ['40001', /serialization failure/],
    ['40P01', /deadlock/],
    ['08006', /connection failure/],
    ['08000', /connection exception/],
    ['57P01', /shutdown/],
    ['57P02', /crash/],
    ['57P03', /cannot connect now/],
    ['53300', /too many connections/],
  ])('SQLSTATE %s is a retryable fault of the database', async (sqlState, named) => {
    const failure = classifyPostgresError(await raised(sqlState), 'completing a job');
    expect(failure).toMatchObject({ fault: 'remote', retryable: true, throttled: false });
    expect(failure.reason).toMatch(named);
    expect(failure.reason).toContain(`SQLSTATE ${sqlState}`);
    expect(failure.reason).toMatch(/^ledger database \(PostgreSQL\) failed while completing a job: /);
  });

  test.each([
    ['42P01', 'ours', /undefined table/],
    ['23505', 'ours', /unique violation/],
    ['28P01', 'ours', /invalid password/],
    ['3D000', 'ours', /invalid catalog name/],
    ['22P02', 'ours', /data exception/],
    ['53100', 'remote', /insufficient resources/],
    ['57014', 'remote', /query canceled/],
    ['XX000', 'remote', /internal error/],
  ])('SQLSTATE %s is not retried and says what it is', async (sqlState, fault, named) => {
    const failure = classifyPostgresError(await raised(sqlState), 'claiming jobs');
    expect(failure).toMatchObject({ fault, retryable: false, throttled: false });
    expect(failure.reason).toMatch(named);
    expect(failure.reason).toContain(`SQLSTATE ${sqlState}`);
  });

  test('a statement on a missing table, as the server reports it, is ours', async () => {
    const error = await client.query('SELECT * FROM no_such_table_here').catch((caught: unknown) => caught);
    expect(classifyPostgresError(error, 'reading a job')).toMatchObject({
      fault: 'ours',
      retryable: false,
      reason: expect.stringMatching(/undefined table \(SQLSTATE 42P01\)/),
    });
  });

  test('a backend terminated under a running statement, and the dead connection after it, are retryable', async () => {
    const victim = new pg.Client({ connectionString });
    victim.on('error', () => undefined);
    await victim.connect();
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const running = victim.query('SELECT pg_sleep(30)').catch((caught: unknown) => caught);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
    const terminated = classifyPostgresError(await running, 'renewing leases');
    expect(terminated).toMatchObject({ fault: 'remote', retryable: true });
    expect(terminated.reason).toMatch(/SQLSTATE 57P01|connection/i);
    const after = await victim.query('SELECT 1').catch((caught: unknown) => caught);
    expect(classifyPostgresError(after, 'renewing leases')).toMatchObject({ fault: 'remote', retryable: true });
    await victim.end().catch(() => undefined);
  });

  test('a refused connection is retryable; anything already classified keeps its class', async () => {
    const refused = new pg.Client({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      connectionTimeoutMillis: 2_000,
    });
    const error = await refused.connect().catch((caught: unknown) => caught);
    expect(classifyPostgresError(error, 'connecting')).toMatchObject({
      fault: 'remote',
      retryable: true,
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
    const known: Failure = { reason: 'mine', fault: 'input', retryable: false, throttled: false };
    expect(classifyPostgresError(new FailureError(known), 'anything')).toBe(known);
  });

  test('the ledger throws a transient error at complete as a retryable remote fault', async () => {
    const ledger = await PostgresLedger.open({ ...contractOptions, connectionString, schema, connectionsMax: 1 });
    try {
      const runId = `classified-${Date.now()}`;
      await ledger.enqueue(runId, contractInputs(1, 'classified'));
      const job = (await ledger.claim(runId, 'worker-a', 1, 60_000)).jobs[0]!;
      await client.query(`
        CREATE OR REPLACE FUNCTION ${schema}.refuse_done() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$`);
      await client.query(`CREATE TRIGGER refuse_done BEFORE UPDATE ON ${schema}.ledger_jobs FOR EACH ROW
        WHEN (NEW.state = 'done' AND NEW.run_id = '${runId}') EXECUTE FUNCTION ${schema}.refuse_done()`);
      const error = await ledger.complete(runId, job, someResult).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FailureError);
      expect((error as FailureError).failure).toMatchObject({
        fault: 'remote',
        retryable: true,
        reason: expect.stringMatching(/completing a job: serialization failure \(SQLSTATE 40001\)/),
      });
      await client.query(`DROP TRIGGER refuse_done ON ${schema}.ledger_jobs`);
      expect(await ledger.complete(runId, job, someResult)).toBe(true);
    } finally {
      await ledger.close();
    }
  });
});
