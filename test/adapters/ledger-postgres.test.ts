/**
 * Proves the PostgreSQL ledger keeps the Ledger contract against a real server
 * (DATABASE_URL, default the local one), in a schema of its own that is dropped at the end.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import { registerLedgerContract } from './ledger-contract.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ledger_test_${process.pid}`;

afterAll(async () => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

registerLedgerContract('postgres', (options) => PostgresLedger.open({ ...options, connectionString, schema }));
