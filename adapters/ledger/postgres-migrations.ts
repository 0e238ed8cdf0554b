/**
 * Numbered SQL migrations (`migrations/NNN-name.sql`), applied at start in one transaction.
 * A transaction-scoped advisory lock, keyed by the schema, makes a fleet of workers starting
 * together apply each migration once: the first takes the lock and migrates, the others wait,
 * then find nothing left to do. A failed migration rolls back whole.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ClientBase } from 'pg';

const migrationsDirectory = new URL('./migrations/', import.meta.url);
const migrationFilePattern = /^(\d{3})-[a-z0-9-]+\.sql$/;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export async function loadMigrations(): Promise<Migration[]> {
  const names = (await readdir(migrationsDirectory)).filter((name) => migrationFilePattern.test(name)).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const version = Number(migrationFilePattern.exec(name)?.[1]);
    const sql = await readFile(new URL(name, migrationsDirectory), 'utf8');
    migrations.push({ version, name, sql });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1)
      throw new Error(
        `invariant broken: migrations must be numbered 001, 002, … without gaps; found ${migration.name}`,
      );
  });
  return migrations;
}

/** A schema name goes into SQL text, so only plain lower-case identifiers are accepted. */
export function checkSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(
      `ledger configuration error (caller's): schema must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`,
    );
  }
}

/** Applies the migrations the schema lacks; returns the versions applied now. */
export async function migrate(client: ClientBase, schema: string): Promise<number[]> {
  checkSchemaName(schema);
  const migrations = await loadMigrations();
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cc-chunks-ledger:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.ledger_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = await client.query<{ version: number; name: string }>(
      `SELECT version, name FROM ${schema}.ledger_migrations`,
    );
    checkAppliedNames(schema, migrations, applied.rows);
    const appliedVersions = new Set(applied.rows.map((row) => row.version));
    const appliedNow: number[] = [];
    for (const migration of migrations) {
      if (appliedVersions.has(migration.version)) continue;
      await client.query(`SET LOCAL search_path TO ${schema}`);
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${schema}.ledger_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      appliedNow.push(migration.version);
    }
    await client.query('COMMIT');
    return appliedNow;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * A version applied under another name was written by a build whose migrations differ from
 * this one's: skipping it would leave this build's migration of that number unapplied, and the
 * next one might fail half-way or, worse, succeed on the wrong schema. Refuse, naming both.
 */
function checkAppliedNames(
  schema: string,
  migrations: readonly Migration[],
  applied: readonly { version: number; name: string }[],
): void {
  const names = new Map(migrations.map((migration) => [migration.version, migration.name]));
  for (const row of applied) {
    const ours = names.get(row.version);
    if (ours !== undefined && ours !== row.name)
      throw new Error(
        `ledger schema ${schema}: migration ${row.version} was applied as ${row.name}, but this worker's is ${ours}; ` +
          'the schema was migrated by a different build of the worker: use another schema (LEDGER_SCHEMA) or the build that made it',
      );
  }
}
