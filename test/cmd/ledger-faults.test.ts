/**
 * The node runtime, with its real adapters (local files, the WARC decoder, the Parquet
 * encoder, a local folder sink) and the PostgreSQL ledger on the machine's server (a schema of
 * its own), meets ledger failures injected where a fleet meets them: at claim, heartbeat,
 * commit and release. Triggers raise SQLSTATE 40001 once, or end their own backend
 * (`pg_terminate_backend`), and a proxy drops a connection after its COMMIT. Each job ends
 * done exactly once with its object (DuckDB reads its rows), or is retried as the rules say.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { withLimits } from '../../core/limits.ts';
import type { Source } from '../../core/source.ts';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { LocalFolderSink } from '../../adapters/sink/local-folder-sink.ts';
import { AnySource } from '../../adapters/source/any-source.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { InProcessCpu } from '../../cmd/worker/cpu-stages.ts';
import type { Logger } from '../../cmd/worker/logger.ts';
import { NodeRuntime, type RunOutcome } from '../../cmd/worker/node-runtime.ts';
import { outputKeyOf } from '../../cmd/worker/wiring.ts';
import { rowsByFile } from '../support/parquet-rows.ts';
import { startPostgresFaultProxy, type PostgresFaultProxy } from '../support/postgres-fault-proxy.ts';

const databaseUrl = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const schema = `ledger_faults_${process.pid}`;
const samples = resolve(import.meta.dirname, '../../samples');
const workFolder = mkdtempSync(join(tmpdir(), 'ledger-faults-'));

/** Short leases and quick retries, so that expiries and backoffs happen within a test. */
const limits = withLimits({
  stageWorkersMax: { decode: 1, encode: 1 },
  cpuSlotsMax: 1,
  claimIdleMs: 100,
  leaseMs: 3_000,
  heartbeatIntervalMs: 500,
  leaseSafetyMs: 500,
  retryBaseMs: 100,
  retryCapMs: 500,
  metricsIntervalMs: 3_600_000,
  drainTimeoutMs: 0,
});

let admin: pg.Client;
let proxy: PostgresFaultProxy;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl.href });
  await admin.connect();
  proxy = await startPostgresFaultProxy({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 5432) });
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  await proxy.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

interface Run {
  readonly runId: string;
  readonly output: string;
  readonly ledger: PostgresLedger;
  readonly inputs: InputRef[];
  /** Where the job's object goes. */
  readonly outputKey: string;
  readonly logged: { level: string; message: string; fields: Record<string, unknown> }[];
}

/** A run of the warcio sample (2 captures) under a fresh id, through the proxy or straight to the server. */
async function newRun(name: string, options: { throughProxy?: boolean } = {}): Promise<Run> {
  const runId = `${name}-${process.pid}-${Date.now()}`;
  const input = join(workFolder, runId, 'input');
  mkdirSync(input, { recursive: true });
  copyFileSync(join(samples, 'warcio/example.warc.gz'), join(input, 'example.warc.gz'));
  const url = new URL(databaseUrl.href);
  if (options.throughProxy) url.host = proxy.hostPort;
  const ledger = await PostgresLedger.open({ outputKeyOf, connectionString: url.href, schema, connectionsMax: 2 });
  const inputs: InputRef[] = [];
  for await (const found of new AnySource().list(input)) inputs.push(found);
  await ledger.enqueue(runId, inputs);
  return {
    runId,
    output: join(workFolder, runId, 'output'),
    ledger,
    inputs,
    outputKey: outputKeyOf(inputs[0]!),
    logged: [],
  };
}

/** Reads slowly, so that a job lives through several heartbeats. */
function slowSource(delayMs: number): Source {
  const source = new AnySource();
  return {
    list: (spec, signal) => source.list(spec, signal),
    sizeOf: (input, signal) => source.sizeOf(input, signal),
    read: async (input, range, signal) => {
      await new Promise((resolveWait) => setTimeout(resolveWait, delayMs));
      return source.read(input, range, signal);
    },
  };
}

function runtimeFor(run: Run, workerId: string, source: Source = new AnySource()): NodeRuntime {
  const logger: Logger = { log: (level, message, fields = {}) => run.logged.push({ level, message, fields }) };
  return new NodeRuntime(
    {
      source,
      cpu: new InProcessCpu(new WarcDecoder(), createParquetEncoder()),
      sink: new LocalFolderSink({ root: run.output }),
      ledger: run.ledger,
      emitMetrics: async () => undefined,
    },
    { runId: run.runId, workerId, limits, logger },
  );
}

/** Runs a worker to its end, bounded: a hang is a failure, not a stuck suite. */
async function runToEnd(runtime: NodeRuntime): Promise<RunOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the worker did not finish within 30 s')), 30_000);
  });
  try {
    return await Promise.race([runtime.run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A trigger on the ledger's table that runs `body` once (a sequence counts, and survives the rollback it causes). */
async function failOnce(name: string, when: string, body: string): Promise<void> {
  await admin.query(`CREATE SEQUENCE ${schema}.${name}_fired`);
  await admin.query(`
    CREATE FUNCTION ${schema}.${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('${schema}.${name}_fired') = 1 THEN ${body}; END IF;
      RETURN NEW;
    END $$`);
  await admin.query(
    `CREATE TRIGGER ${name} BEFORE UPDATE ON ${schema}.ledger_jobs FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${schema}.${name}()`,
  );
}

/** Updates that met the trigger's condition: the first failed, the rest went through. */
async function matchedUpdates(name: string): Promise<number> {
  const { rows } = await admin.query<{ last_value: string; is_called: boolean }>(
    `SELECT last_value, is_called FROM ${schema}.${name}_fired`,
  );
  return rows[0]!.is_called ? Number(rows[0]!.last_value) : 0;
}

const raise40001 = "RAISE EXCEPTION 'could not serialize access due to concurrent update' USING ERRCODE = '40001'";
const terminateOwnBackend = 'PERFORM pg_terminate_backend(pg_backend_pid())';

/** The run's single job as the ledger holds it, and the objects and rows in the output. */
async function outcomeOf(
  run: Run,
): Promise<{ state: string; attempt: number; chargedAttempts: number; objects: string[]; rows: number }> {
  const jobId = (
    await admin.query<{ job_id: string }>(`SELECT job_id FROM ${schema}.ledger_jobs WHERE run_id = $1`, [run.runId])
  ).rows[0]!.job_id;
  const status = (await run.ledger.jobStatus(run.runId, jobId))!;
  const objects = readdirSync(run.output, { recursive: true, encoding: 'utf8' }).filter((path) =>
    path.endsWith('.parquet'),
  );
  const rows =
    objects.length === 0 ? 0 : [...(await rowsByFile(run.output)).values()].reduce((sum, count) => sum + count, 0);
  return { state: status.state, attempt: status.attempt, chargedAttempts: status.chargedAttempts, objects, rows };
}

function outcomesOf(outcome: RunOutcome): string[] {
  return outcome.ended.map((ended) => ended.outcome);
}

describe('ledger failures on the real PostgreSQL', () => {
  beforeAll(async () => {
    // Creates the schema and its tables before any trigger is put on them.
    const ledger = await PostgresLedger.open({ outputKeyOf, connectionString: databaseUrl.href, schema });
    await ledger.close();
  });

  test('commit: a serialization failure on the update that marks the job done is retried alone; the job ends done once', async () => {
    const run = await newRun('commit-40001');
    await failOnce('done_40001', `NEW.run_id = '${run.runId}' AND NEW.state = 'done'`, raise40001);
    try {
      const outcome = await runToEnd(runtimeFor(run, 'worker-a'));
      expect(await matchedUpdates('done_40001')).toBe(2);
      expect(outcomesOf(outcome)).toEqual(['committed']);
      expect(await outcomeOf(run)).toEqual({
        state: 'done',
        attempt: 1,
        chargedAttempts: 1,
        objects: [run.outputKey],
        rows: 2,
      });
    } finally {
      await run.ledger.close();
    }
  });

  test('commit: a connection dropped after COMMIT of the done update is answered done by the same attempt, not a lost lease', async () => {
    const run = await newRun('commit-dropped', { throughProxy: true });
    try {
      const before = proxy.dropped;
      proxy.dropAfterCommit("state = 'done'");
      const outcome = await runToEnd(runtimeFor(run, 'worker-a'));
      expect(proxy.dropped).toBe(before + 1);
      expect(outcomesOf(outcome)).toEqual(['committed']);
      expect(await outcomeOf(run)).toEqual({
        state: 'done',
        attempt: 1,
        chargedAttempts: 1,
        objects: [run.outputKey],
        rows: 2,
      });
      expect(run.logged.filter((line) => line.level === 'warn' && line.message === 'job failed')).toEqual([]);
    } finally {
      await run.ledger.close();
    }
  });

  test('claim: a serialization failure on the claim is a retryable fault of the database; the claim is tried again', async () => {
    const run = await newRun('claim-40001');
    await failOnce(
      'claim_40001',
      `NEW.run_id = '${run.runId}' AND NEW.state = 'leased' AND OLD.state = 'pending'`,
      raise40001,
    );
    try {
      const outcome = await runToEnd(runtimeFor(run, 'worker-a'));
      expect(await matchedUpdates('claim_40001')).toBe(2);
      const claimFailed = run.logged.filter((line) => line.message === 'claim failed');
      expect(claimFailed).toHaveLength(1);
      expect(String(claimFailed[0]!.fields.error)).toMatch(/serialization failure \(SQLSTATE 40001\)/);
      expect(outcomesOf(outcome)).toEqual(['committed']);
      expect(await outcomeOf(run)).toEqual({
        state: 'done',
        attempt: 1,
        chargedAttempts: 1,
        objects: [run.outputKey],
        rows: 2,
      });
    } finally {
      await run.ledger.close();
    }
  });

  test('heartbeat: a backend ended under a renewal loses that renewal only; the next one keeps the lease', async () => {
    const run = await newRun('heartbeat-terminated');
    // A renewal: the job stays leased by the same attempt, its lease moves on.
    await failOnce(
      'renewal_ended',
      `NEW.run_id = '${run.runId}' AND OLD.state = 'leased' AND NEW.state = 'leased' AND NEW.attempt = OLD.attempt`,
      terminateOwnBackend,
    );
    try {
      // Reads of 1.5 s outlast the 0.5 s heartbeat interval several times over.
      const outcome = await runToEnd(runtimeFor(run, 'worker-a', slowSource(1_500)));
      expect(await matchedUpdates('renewal_ended')).toBeGreaterThanOrEqual(2);
      const heartbeatFailed = run.logged.filter((line) => line.message === 'heartbeat failed');
      expect(heartbeatFailed).toHaveLength(1);
      expect(String(heartbeatFailed[0]!.fields.error)).toMatch(
        /server shutdown \(admin\) \(SQLSTATE 57P01\)|connection lost/,
      );
      expect(outcomesOf(outcome)).toEqual(['committed']);
      expect(await outcomeOf(run)).toEqual({
        state: 'done',
        attempt: 1,
        chargedAttempts: 1,
        objects: [run.outputKey],
        rows: 2,
      });
    } finally {
      await run.ledger.close();
    }
  });

  test('release: a release that fails on drain leaves the lease to expire; the next worker takes the job, charged, and ends it done once', async () => {
    const run = await newRun('release-40001');
    await failOnce(
      'release_40001',
      `NEW.run_id = '${run.runId}' AND OLD.state = 'leased' AND NEW.state = 'pending' AND NEW.charged_attempts < OLD.charged_attempts`,
      raise40001,
    );
    try {
      const first = runtimeFor(run, 'worker-a', slowSource(2_000));
      const firstRun = runToEnd(first);
      // Drains once the job is claimed, while its first chunk is being read (2 s): the job is
      // released at once (no drain time).
      for (let polls = 0; (await run.ledger.stats(run.runId)).claimed === 0; polls += 1) {
        expect(polls, 'the job was not claimed within 10 s').toBeLessThan(200);
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
      first.requestShutdown();
      expect(outcomesOf(await firstRun)).toEqual(['released']);
      expect(await matchedUpdates('release_40001')).toBe(1);
      const releaseFailed = run.logged.filter((line) => line.message === 'ledger write failed');
      expect(releaseFailed).toHaveLength(1);
      expect(String(releaseFailed[0]!.fields.error)).toMatch(
        /releasing a job: serialization failure \(SQLSTATE 40001\)/,
      );
      expect((await run.ledger.stats(run.runId)).claimed).toBe(1);
      // The lease of the failed release runs out; then a second worker claims the job as attempt 2.
      const outcome = await runToEnd(runtimeFor(run, 'worker-b'));
      expect(outcomesOf(outcome)).toEqual(['committed']);
      expect(await outcomeOf(run)).toEqual({
        state: 'done',
        attempt: 2,
        chargedAttempts: 2,
        objects: [run.outputKey],
        rows: 2,
      });
    } finally {
      await run.ledger.close();
    }
  });
});
