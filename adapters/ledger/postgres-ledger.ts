/**
 * The Ledger port on PostgreSQL, for a fleet: every worker of a run shares one database.
 *
 * Claims take rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never block each
 * other nor take the same job; every claim bumps the job's attempt number, and every later
 * write is fenced by it (see postgres-ledger-statements.ts). Times are the database's.
 * Each call is one statement in its own transaction: one round trip, one commit. `complete`,
 * `fail` and `release` take no worker id: the attempt number names the claim, hence its holder.
 */
import pg from 'pg';
import type { Failure } from '../../core/failure.ts';
import type { InputRef, Lease, LeasedJob } from '../../core/input-ref.ts';
import type {
  ClaimResult,
  EnqueueResult,
  HeartbeatResult,
  JobResult,
  OutputKeyCollision,
  RunOrigin,
  RunStats,
  WorkerProgress,
} from '../../core/ledger.ts';
import {
  checkClaim,
  checkLeaseMs,
  checkRunId,
  doneRecordStats,
  lastErrorOf,
  leaseExpiredError,
  retryScheduleOf,
  type RetrySchedule,
} from '../../core/ledger-rules.ts';
import { type RecordCounters, readStoredRecordCounters } from '../../core/record-counters.ts';
import {
  enqueueBatchMax,
  enqueuedJobOf,
  type EnqueuedJob,
  type FailedJob,
  type InspectableLedger,
  type JobStatus,
  type LedgerOptions,
  type RunListing,
  type SharedOutputKey,
} from './ledger-options.ts';
import * as statements from './postgres-ledger-statements.ts';
import { postgresFailure } from './postgres-failure.ts';
import { checkSchemaName, migrate } from './postgres-migrations.ts';

export interface PostgresLedgerOptions extends LedgerOptions {
  /** `postgres://user@host:port/database`. */
  readonly connectionString: string;
  /** Schema holding the ledger's tables; tests give each file its own. Default `cc_ledger`. */
  readonly schema?: string;
  /** Connections this process keeps open; one per concurrent ledger call. Default 4. */
  readonly connectionsMax?: number;
}

interface ClaimedRow {
  job_id: string;
  state: string;
  input: InputRef;
  size_bytes: number | null;
  attempt: number;
  output_key: string;
}

export class PostgresLedger implements InspectableLedger {
  private readonly pool: pg.Pool;
  private readonly schedule: RetrySchedule;
  private readonly outputKeyOf: (input: InputRef) => string;
  /** A test's clock, handed to the SQL as the session's `cc_ledger.now_ms`; absent, the database's. */
  private readonly nowMs: (() => number) | undefined;
  /** The clock each pooled connection's session was last given. */
  private readonly clockOnConnection = new WeakMap<pg.PoolClient, number>();

  private constructor(pool: pg.Pool, options: PostgresLedgerOptions) {
    this.pool = pool;
    this.schedule = retryScheduleOf(options);
    this.outputKeyOf = options.outputKeyOf;
    this.nowMs = options.nowMs;
  }

  /** Connects and applies the migrations the schema lacks. */
  static async open(options: PostgresLedgerOptions): Promise<PostgresLedger> {
    const schema = options.schema ?? 'cc_ledger';
    checkSchemaName(schema);
    // Bounded waits: a database that does not answer fails the call (the caller retries or
    // gives up) instead of hanging the worker. Every statement here takes milliseconds.
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.connectionsMax ?? 4,
      connectionTimeoutMillis: 10_000,
      options: `-c search_path=${schema} -c statement_timeout=30000`,
    });
    // An idle connection that breaks (server restart) is dropped by the pool; the next query
    // reports the failure to its caller, so nothing is lost by not crashing here.
    pool.on('error', () => undefined);
    const ledger = new PostgresLedger(pool, options);
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw postgresFailure('connecting and migrating', error);
    }
    return ledger;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async query<Row extends pg.QueryResultRow>(
    what: string,
    sql: string,
    parameters: unknown[],
  ): Promise<pg.QueryResult<Row>> {
    try {
      if (this.nowMs === undefined) return await this.pool.query<Row>(sql, parameters);
      return await this.queryAt(this.nowMs(), sql, parameters);
    } catch (error) {
      throw postgresFailure(what, error);
    }
  }

  /**
   * A statement on a given clock: `cc_ledger_now()` reads the session setting, set on the same
   * connection just before. Only tests give a clock; the extra round trip is theirs alone.
   */
  private async queryAt<Row extends pg.QueryResultRow>(
    nowMs: number,
    sql: string,
    parameters: unknown[],
  ): Promise<pg.QueryResult<Row>> {
    const client = await this.pool.connect();
    try {
      // Set only when it changed on this connection: a test's clock stands still between its steps.
      if (this.clockOnConnection.get(client) !== nowMs) {
        await client.query("SELECT set_config('cc_ledger.now_ms', $1, false)", [String(nowMs)]);
        this.clockOnConnection.set(client, nowMs);
      }
      return await client.query<Row>(sql, parameters);
    } finally {
      client.release();
    }
  }

  async enqueue(runId: string, inputs: readonly InputRef[], origin?: RunOrigin): Promise<EnqueueResult> {
    checkRunId(runId);
    const jobs = inputs.map((input) => enqueuedJobOf(input, this.outputKeyOf));
    let added = 0;
    const collisions: OutputKeyCollision[] = [];
    for (let start = 0; start < jobs.length; start += enqueueBatchMax) {
      const batch = jobs.slice(start, start + enqueueBatchMax);
      const result = await this.query<{ job_id: string }>('enqueuing inputs', statements.enqueueSql, [
        runId,
        batch.map((job) => job.jobId),
        batch.map((job) => job.input.uri),
        batch.map((job) => JSON.stringify(job.input)),
        batch.map((job) => job.sizeBytes),
        batch.map((job) => job.outputKey),
        origin?.input ?? null,
        origin?.output ?? null,
      ]);
      added += result.rowCount ?? 0;
      const inserted = new Set(result.rows.map((row) => row.job_id));
      collisions.push(
        ...(await this.collisionsOf(
          runId,
          batch.filter((job) => !inserted.has(job.jobId)),
        )),
      );
    }
    return { added, collisions };
  }

  /** Of the inputs an enqueue skipped, those refused for their output key, in batch order. */
  private async collisionsOf(runId: string, skipped: readonly EnqueuedJob[]): Promise<OutputKeyCollision[]> {
    if (skipped.length === 0) return [];
    const result = await this.query<{ job_id: string; held_by: string }>(
      'finding who holds output keys',
      statements.outputKeyHoldersSql,
      [runId, skipped.map((job) => job.jobId), skipped.map((job) => job.outputKey)],
    );
    const heldBy = new Map(result.rows.map((row) => [row.job_id, row.held_by]));
    return skipped.flatMap((job) => {
      const holder = heldBy.get(job.jobId);
      return holder === undefined ? [] : [{ uri: job.input.uri, outputKey: job.outputKey, heldBy: holder }];
    });
  }

  async claim(runId: string, workerId: string, count: number, leaseMs: number): Promise<ClaimResult> {
    checkRunId(runId);
    checkClaim(count, leaseMs);
    const result = await this.query<ClaimedRow>('claiming jobs', statements.claimSql, [
      runId,
      count,
      workerId,
      leaseMs,
      this.schedule.attemptsMax,
      leaseExpiredError,
    ]);
    const jobs: LeasedJob[] = result.rows
      .filter((row) => row.state === 'leased')
      .map((row) => ({
        jobId: row.job_id,
        input: row.input,
        sizeBytes: row.size_bytes,
        attempt: row.attempt,
        outputKey: row.output_key,
      }));
    if (jobs.length > 0) return { jobs, exhausted: false };
    const open = await this.query<{ open: boolean }>('checking whether the run is over', statements.anyOpenJobSql, [
      runId,
    ]);
    return { jobs, exhausted: !open.rows[0]?.open };
  }

  async heartbeat(
    runId: string,
    workerId: string,
    leases: readonly Lease[],
    leaseMs: number,
  ): Promise<HeartbeatResult> {
    checkRunId(runId);
    if (leases.length === 0) return { renewed: [], lost: [] };
    checkLeaseMs(leaseMs);
    const result = await this.query<{ job_id: string; attempt: number }>('renewing leases', statements.heartbeatSql, [
      runId,
      workerId,
      leaseMs,
      leases.map((lease) => lease.jobId),
      leases.map((lease) => lease.attempt),
    ]);
    // By job and attempt: a stale lease sent beside the live one of the same job is lost.
    const renewed = new Set(result.rows.map((row) => leaseKey(row.job_id, row.attempt)));
    const held = (lease: Lease): boolean => renewed.has(leaseKey(lease.jobId, lease.attempt));
    return {
      renewed: leases.filter(held).map((lease) => lease.jobId),
      lost: leases.filter((lease) => !held(lease)).map((lease) => lease.jobId),
    };
  }

  async complete(runId: string, lease: Lease, result: JobResult): Promise<boolean> {
    checkRunId(runId);
    const update = await this.query('completing a job', statements.completeSql, [
      runId,
      lease.jobId,
      lease.attempt,
      result.rows,
      result.inputBytes,
      result.outputBytes,
      JSON.stringify(result.counters),
    ]);
    if (update.rowCount === 1) return true;
    // Idempotent for the attempt that did it: its retry after a lost answer hears "done".
    const parameters = [runId, lease.jobId, lease.attempt];
    const done = await this.query<{ done: boolean }>('checking a completion', statements.completedBySql, parameters);
    return done.rows[0]?.done === true;
  }

  async fail(runId: string, lease: Lease, failure: Failure): Promise<boolean> {
    checkRunId(runId);
    const update = await this.query('failing a job', statements.failSql, [
      runId,
      lease.jobId,
      lease.attempt,
      failure.retryable || failure.throttled,
      this.schedule.attemptsMax,
      this.schedule.retryBaseMs,
      this.schedule.retryCapMs,
      lastErrorOf(failure),
    ]);
    return update.rowCount === 1;
  }

  async release(runId: string, lease: Lease): Promise<boolean> {
    checkRunId(runId);
    const update = await this.query('releasing a job', statements.releaseSql, [runId, lease.jobId, lease.attempt]);
    return update.rowCount === 1;
  }

  async reclaimExpired(runId: string): Promise<number> {
    checkRunId(runId);
    const result = await this.query<{ state: string }>('reclaiming expired leases', statements.reclaimExpiredSql, [
      runId,
      this.schedule.attemptsMax,
      leaseExpiredError,
    ]);
    return result.rows.filter((row) => row.state === 'pending').length;
  }

  async progress(runId: string, progress: WorkerProgress): Promise<void> {
    checkRunId(runId);
    await this.query('recording progress', statements.progressSql, [
      runId,
      progress.workerId,
      progress.currentInput,
      progress.records,
      progress.bytes,
      progress.badRecords,
      progress.status,
      progress.currentBytes ?? null,
      progress.currentSizeBytes ?? null,
      progress.bytesPerSecond ?? null,
    ]);
  }

  async stats(runId: string): Promise<RunStats> {
    checkRunId(runId);
    const [result, reasons] = await Promise.all([
      this.query<{ state: string; jobs: number; input_bytes: number; rows_written: number }>(
        'reading run stats',
        statements.statsSql,
        [runId],
      ),
      this.query<{ kind: string; key: string; records: number }>(
        'reading run stats by reason',
        statements.reasonCountsSql,
        [runId],
      ),
    ]);
    const byState = new Map(result.rows.map((row) => [row.state, row]));
    const jobsIn = (state: string): number => byState.get(state)?.jobs ?? 0;
    return {
      pending: jobsIn('pending'),
      claimed: jobsIn('leased'),
      done: jobsIn('done'),
      failed: jobsIn('failed'),
      remaining: jobsIn('pending') + jobsIn('leased'),
      inputBytesDone: byState.get('done')?.input_bytes ?? 0,
      rowsDone: byState.get('done')?.rows_written ?? 0,
      ...doneRecordStats(storedReasonCounters(reasons.rows)),
    };
  }

  async workerProgress(runId: string): Promise<WorkerProgress[]> {
    const result = await this.query<{
      worker_id: string;
      current_input: string | null;
      records: number;
      bytes: number;
      bad_records: number;
      status: WorkerProgress['status'];
      current_bytes: number | null;
      current_size_bytes: number | null;
      bytes_per_second: number | null;
    }>('reading worker progress', statements.workerProgressSql, [runId]);
    return result.rows.map((row) => ({
      workerId: row.worker_id,
      currentInput: row.current_input,
      records: row.records,
      bytes: row.bytes,
      badRecords: row.bad_records,
      status: row.status,
      // Rows written before migration 005, or by a worker that predates it, hold none of these.
      ...(row.current_bytes !== null && {
        currentBytes: row.current_bytes,
        currentSizeBytes: row.current_size_bytes,
        bytesPerSecond: row.bytes_per_second,
      }),
    }));
  }

  async failedJobs(runId: string, limit: number): Promise<FailedJob[]> {
    const result = await this.query<{ uri: string; last_error: string | null }>(
      'listing failed jobs',
      statements.failedJobsSql,
      [runId, limit],
    );
    return result.rows.map((row) => ({ uri: row.uri, lastError: row.last_error }));
  }

  async retryFailed(runId: string): Promise<FailedJob[]> {
    checkRunId(runId);
    const result = await this.query<{ uri: string; last_error: string | null }>(
      'putting failed jobs back',
      statements.retryFailedSql,
      [runId],
    );
    return result.rows.map((row) => ({ uri: row.uri, lastError: row.last_error }));
  }

  async listRuns(): Promise<RunListing[]> {
    return this.runListings(null);
  }

  async runListing(runId: string): Promise<RunListing | undefined> {
    checkRunId(runId);
    return (await this.runListings(runId))[0];
  }

  private async runListings(runId: string | null): Promise<RunListing[]> {
    const result = await this.query<{
      run_id: string;
      input: string | null;
      output: string | null;
      pending: number;
      leased: number;
      done: number;
      failed: number;
      last_activity_ms: string;
      last_finished_ms: string | null;
    }>('listing runs', statements.runListingSql, [runId]);
    return result.rows.map((row) => ({
      runId: row.run_id,
      input: row.input,
      output: row.output,
      pending: row.pending,
      claimed: row.leased,
      done: row.done,
      failed: row.failed,
      lastActivityMs: Math.round(Number(row.last_activity_ms)),
      lastFinishedMs: row.last_finished_ms === null ? null : Math.round(Number(row.last_finished_ms)),
    }));
  }

  async sharedOutputKeys(runId: string, limit: number): Promise<SharedOutputKey[]> {
    const result = await this.query<{
      uri: string;
      output_key: string;
      output_key_held_by: string;
      state: JobStatus['state'];
    }>('listing shared output keys', statements.sharedOutputKeysSql, [runId, limit]);
    return result.rows.map((row) => ({
      uri: row.uri,
      outputKey: row.output_key,
      heldBy: row.output_key_held_by,
      state: row.state,
    }));
  }

  async jobStatus(runId: string, jobId: string): Promise<JobStatus | undefined> {
    const result = await this.query<{
      state: JobStatus['state'];
      attempt: number;
      charged_attempts: number;
      last_error: string | null;
    }>('reading a job', statements.jobStateSql, [runId, jobId]);
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return { state: row.state, attempt: row.attempt, chargedAttempts: row.charged_attempts, lastError: row.last_error };
  }
}

function leaseKey(jobId: string, attempt: number): string {
  return `${attempt} ${jobId}`;
}

/** The rows of `reasonCountsSql` as counters keyed by code, read as any stored counters are. */
function storedReasonCounters(rows: readonly { kind: string; key: string; records: number }[]): RecordCounters {
  const stored = (kind: string): Record<string, number> =>
    Object.fromEntries(rows.filter((row) => row.kind === kind).map((row) => [row.key, row.records]));
  return readStoredRecordCounters({
    byType: {},
    badByReason: stored('bad'),
    skippedByReason: stored('skipped'),
    warningByReason: stored('warning'),
  });
}
