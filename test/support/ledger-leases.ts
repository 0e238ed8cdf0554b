/**
 * Reads a run's leases straight from the PostgreSQL ledger's table (schema `cc_ledger`), for
 * tests that must know what a worker holds at the moment they kill or stop it. It changes no
 * job (its only write is the ledger's own migration, so that the table is there to read), and
 * what the tests assert about a run comes from `node cmd/worker status`, not from here.
 */
import pg from 'pg';
import { migrate } from '../../adapters/ledger/postgres-migrations.ts';

export interface HeldLeases {
  /** Jobs the worker holds on a live lease. */
  readonly jobs: number;
  readonly outputKeys: readonly string[];
}

export interface JobRow {
  readonly uri: string;
  readonly state: string;
  readonly leaseOwner: string | null;
  readonly leaseLive: boolean;
  /** Pending and claimable now (released, or never claimed), not waiting for a retry. */
  readonly claimableNow: boolean;
  readonly chargedAttempts: number;
  readonly outputKey: string;
}

export class LedgerLeases {
  private constructor(
    private readonly client: pg.Client,
    private readonly runId: string,
  ) {}

  static async open(connectionString: string, runId: string): Promise<LedgerLeases> {
    const client = new pg.Client({
      connectionString,
      options: '-c search_path=cc_ledger',
      connectionTimeoutMillis: 10_000,
    });
    await client.connect();
    // On a fresh database the table exists only once a worker has migrated it; migrating here
    // (as every worker does, under the same lock) lets a test look before its first worker has.
    await migrate(client, 'cc_ledger');
    return new LedgerLeases(client, runId);
  }

  /** Live leases of the worker whose id starts with `workerIdPrefix`. */
  async heldBy(workerIdPrefix: string): Promise<HeldLeases> {
    const { rows } = await this.client.query<{ output_key: string }>(
      `SELECT output_key FROM ledger_jobs
       WHERE run_id = $1 AND state = 'leased' AND claimable_at > now() AND starts_with(lease_owner, $2)`,
      [this.runId, workerIdPrefix],
    );
    return {
      jobs: rows.length,
      outputKeys: rows.map((row) => row.output_key),
    };
  }

  /** Every job of the run, in URI order. */
  async jobs(): Promise<JobRow[]> {
    const { rows } = await this.client.query<{
      uri: string;
      state: string;
      lease_owner: string | null;
      lease_live: boolean;
      claimable_now: boolean;
      charged_attempts: number;
      output_key: string;
    }>(
      `SELECT uri, state, lease_owner, (state = 'leased' AND claimable_at > now()) AS lease_live,
              (state = 'pending' AND claimable_at <= now()) AS claimable_now, charged_attempts, output_key
       FROM ledger_jobs WHERE run_id = $1 ORDER BY uri`,
      [this.runId],
    );
    return rows.map((row) => ({
      uri: row.uri,
      state: row.state,
      leaseOwner: row.lease_owner,
      leaseLive: row.lease_live,
      claimableNow: row.claimable_now,
      chargedAttempts: row.charged_attempts,
      outputKey: row.output_key,
    }));
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
