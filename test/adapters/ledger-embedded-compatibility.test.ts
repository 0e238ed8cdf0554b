/**
 * Proves the embedded ledger reads the journals users already have: a journal written by the
 * version before the ledger machine (test/adapters/ledger-fixtures/journal-before-machine.jsonl:
 * two runs, an origin, a key collision refused, jobs done with counters, failed, waiting for a
 * retry, released, leased and renewed, a progress row) opens with the same answers that
 * version gave about it (journal-before-machine-answers.json, written by that version beside
 * the journal), and the run goes on from there: the dead process's leases and the due retry
 * are claimed, and the journal then written reads back the same.
 */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import { journalFileName } from '../../adapters/ledger/journal-file.ts';
import { someResult } from './ledger-contract.ts';

const fixtures = join(import.meta.dirname, 'ledger-fixtures');
/** The options the fixture was written with. */
const options = {
  outputKeyOf: (input: { filename: string }) => `out/${input.filename.replace(/\.warc\.gz$/, '')}.parquet`,
  attemptsMax: 3,
  retryBaseMs: 60_000,
  retryCapMs: 120_000,
};

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function folderWithOldJournal(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'embedded-ledger-old-'));
  folders.push(directory);
  await copyFile(join(fixtures, 'journal-before-machine.jsonl'), join(directory, journalFileName));
  return directory;
}

async function answersOf(ledger: EmbeddedLedger, jobIds: readonly string[]) {
  return {
    stats: { 'old-run': await ledger.stats('old-run'), 'other-run': await ledger.stats('other-run') },
    runs: await ledger.listRuns(),
    failed: await ledger.failedJobs('old-run', 100),
    progress: await ledger.workerProgress('old-run'),
    jobs: Object.fromEntries(
      await Promise.all(jobIds.map(async (jobId) => [jobId, await ledger.jobStatus('old-run', jobId)])),
    ),
  };
}

test('a journal written before the ledger machine opens with the answers its writer gave, and the run goes on', async () => {
  const expected = JSON.parse(await readFile(join(fixtures, 'journal-before-machine-answers.json'), 'utf8'));
  const jobIds = Object.keys(expected.jobs);
  const directory = await folderWithOldJournal();
  const lastActivityMs: number = expected.runs.find((run: { runId: string }) => run.runId === 'old-run').lastActivityMs;
  // A day later: the retry (1 minute) is due; the leases (1 hour) died with their process.
  const laterMs = lastActivityMs + 86_400_000;
  const ledger = await EmbeddedLedger.open({ ...options, directory, nowMs: () => laterMs });
  try {
    expect(await answersOf(ledger, jobIds)).toEqual(expected);
    const open = expected.stats['old-run'].pending + expected.stats['old-run'].claimed;
    const { jobs } = await ledger.claim('old-run', 'worker-new', 100, 60_000);
    expect(jobs).toHaveLength(open);
    for (const job of jobs) expect(await ledger.complete('old-run', job, someResult)).toBe(true);
    expect(await ledger.stats('old-run')).toMatchObject({
      done: expected.stats['old-run'].done + open,
      failed: expected.stats['old-run'].failed,
      remaining: 0,
    });
  } finally {
    await ledger.close();
  }
  const reopened = await EmbeddedLedger.open({ ...options, directory, nowMs: () => laterMs });
  try {
    expect(await reopened.stats('old-run')).toMatchObject({ remaining: 0, failed: expected.stats['old-run'].failed });
    expect(await reopened.claim('old-run', 'worker-new', 100, 60_000)).toEqual({ jobs: [], exhausted: true });
  } finally {
    await reopened.close();
  }
});
