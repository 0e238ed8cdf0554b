/**
 * Proves `--ledger` picks the right ledger (embedded beside a local output, embedded in a
 * given folder, PostgreSQL for postgres://) and refuses anything else as the user's error; and
 * that `status` text and JSON come from either ledger's stats, progress rows and failed jobs.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import {
  defaultEmbeddedDirectory,
  openLedger,
  readRunStatus,
  retryHint,
  runStatusText,
} from '../../adapters/ledger/open-ledger.ts';
import { PostgresLedger } from '../../adapters/ledger/postgres-ledger.ts';
import { inputFault } from '../../core/failure.ts';
import { badRecordReasons, recordWarningReasons, skippedRecordReasons } from '../../core/record-reasons.ts';
import { contractInputs, contractOptions, someResult } from './ledger-contract.ts';

const connectionString = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ledger_open_test_${process.pid}`;
const folders: string[] = [];

afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

test('the default embedded ledger sits in a dot-folder of a local output, or in the working folder for S3', () => {
  expect(defaultEmbeddedDirectory('out')).toBe(resolve('out/.ledger'));
  const s3 = defaultEmbeddedDirectory('s3://bucket/prefix');
  expect(s3.startsWith(resolve('.ledger'))).toBe(true);
  expect(defaultEmbeddedDirectory('s3://bucket/other')).not.toBe(s3);
});

test('--ledger chooses embedded or PostgreSQL, and refuses other schemes', async () => {
  const output = await mkdtemp(join(tmpdir(), 'ledger-open-'));
  folders.push(output);
  const embedded = await openLedger({ ...contractOptions, url: undefined, output });
  expect(embedded).toBeInstanceOf(EmbeddedLedger);
  await embedded.close();
  expect((await stat(join(output, '.ledger'))).isDirectory()).toBe(true);
  const inFolder = await openLedger({ ...contractOptions, url: join(output, 'elsewhere'), output });
  expect(inFolder).toBeInstanceOf(EmbeddedLedger);
  await inFolder.close();
  const postgres = await openLedger({ ...contractOptions, url: connectionString, output, schema });
  expect(postgres).toBeInstanceOf(PostgresLedger);
  await postgres.close();
  await expect(openLedger({ ...contractOptions, url: 'mysql://host/db', output })).rejects.toThrow(/--ledger must be/);
});

test('status reads stats and worker rows from either ledger, as text and as JSON', async () => {
  const output = await mkdtemp(join(tmpdir(), 'ledger-status-'));
  folders.push(output);
  for (const url of [undefined, connectionString]) {
    const ledger = await openLedger({ ...contractOptions, url, output, schema });
    const runId = `status-${Date.now()}`;
    await ledger.enqueue(runId, contractInputs(3));
    const [job, broken] = (await ledger.claim(runId, 'worker-a', 2, 60_000)).jobs;
    await ledger.complete(runId, job!, someResult);
    await ledger.fail(runId, broken!, inputFault('not a WARC file'));
    await ledger.progress(runId, {
      workerId: 'worker-a',
      currentInput: 's3://bucket/file-1.warc.gz',
      records: 1_500,
      bytes: 3e6,
      badRecords: 2,
      status: 'running',
      currentBytes: 1e6,
      currentSizeBytes: 4e6,
      bytesPerSecond: 5e5,
    });
    await ledger.progress(runId, {
      workerId: 'worker-b',
      currentInput: 's3://bucket/file-2.warc.gz',
      records: 10,
      bytes: 2_500,
      badRecords: 0,
      status: 'draining',
      currentBytes: 2_500,
      currentSizeBytes: null,
      bytesPerSecond: null,
    });
    const status = await readRunStatus(ledger, runId);
    expect(JSON.parse(JSON.stringify(status))).toMatchObject({
      runId,
      stats: {
        done: 1,
        failed: 1,
        pending: 1,
        badByReasonDone: { truncated_gzip_member: 1 },
        skippedByReasonDone: { not_http_capture: 2 },
        warningByReasonDone: { unreadable_warc_date: 1 },
      },
      workers: [
        { workerId: 'worker-a', records: 1_500, currentBytes: 1e6, currentSizeBytes: 4e6, bytesPerSecond: 5e5 },
        { workerId: 'worker-b', currentSizeBytes: null },
      ],
      failed: [{ uri: broken!.input.uri, lastError: 'input: not a WARC file' }],
    });
    expect(runStatusText(status)).toBe(
      [
        `run ${runId}: 1/3 done, 1 failed, 1 pending, 0 claimed`,
        '  done: 1.00 kB read, 10 rows written, 1 bad record, 2 skipped, 1 row with warnings',
        `  bad records by reason: truncated_gzip_member 1 (${badRecordReasons.messages.truncated_gzip_member})`,
        `  skipped records by reason: not_http_capture 2 (${skippedRecordReasons.messages.not_http_capture})`,
        `  rows with warnings by reason: unreadable_warc_date 1 (${recordWarningReasons.messages.unreadable_warc_date})`,
        // 3 MB of the file left at 0.5 MB/s: 6 s.
        '  worker-a running: s3://bucket/file-1.warc.gz (1.00 MB of 4.00 MB, 500 kB/s, ETA 6 s); in all 1500 records, 2 bad, 3.00 MB read',
        '  worker-b draining: s3://bucket/file-2.warc.gz (2.50 kB read); in all 10 records, 0 bad, 2.50 kB read',
        `  failed: ${broken!.input.uri}: input: not a WARC file`,
        `  ${retryHint}`,
      ].join('\n'),
    );
    await ledger.close();
  }
});
