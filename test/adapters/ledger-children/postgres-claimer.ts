/**
 * A claimer in a child process, for the test that kills one with SIGKILL mid-lease: it
 * claims jobs, prints them as one JSON line on stdout, then holds them without heartbeats
 * until it is killed (or gives up after 60 s, so a broken test leaves no process behind).
 */
import { PostgresLedger } from '../../../adapters/ledger/postgres-ledger.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = process.env['LEDGER_SCHEMA'] ?? '';
const runId = process.env['RUN_ID'] ?? '';
const count = Number(process.env['CLAIM_COUNT'] ?? '1');
const leaseMs = Number(process.env['LEASE_MS'] ?? '1000');

/** The test's clock, fixed: the claim's lease starts when the test says. */
const nowMs = process.env['LEDGER_NOW_MS'] === undefined ? undefined : Number(process.env['LEDGER_NOW_MS']);
const ledger = await PostgresLedger.open({
  connectionString,
  schema,
  outputKeyOf: (input) => input.filename,
  ...(nowMs === undefined ? {} : { nowMs: () => nowMs }),
});
const { jobs } = await ledger.claim(runId, `child-${process.pid}`, count, leaseMs);
process.stdout.write(
  JSON.stringify({ claimed: jobs.map((job) => ({ jobId: job.jobId, attempt: job.attempt })) }) + '\n',
);
setTimeout(() => process.exit(3), 60_000);
