/**
 * Proves the embedded ledger keeps the Ledger contract, and that its journal survives what a
 * crash leaves behind: a torn last line is cut off and ignored, a corrupt line in the middle
 * is reported rather than skipped, compaction keeps the state, a second process cannot open
 * a folder in use, and leases of a dead process are claimable at once after a restart.
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import { journalFileName } from '../../adapters/ledger/journal-file.ts';
import { contractInputs, contractOptions, registerLedgerContract, someResult } from './ledger-contract.ts';

const folders: string[] = [];
async function freshFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'embedded-ledger-'));
  folders.push(folder);
  return folder;
}
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

registerLedgerContract('embedded', async (options) =>
  EmbeddedLedger.open({ ...options, directory: await freshFolder() }),
);

describe('embedded ledger journal', () => {
  const options = { ...contractOptions };

  test('a journal holding two inputs under one output key is read: the pair is reported, the later input not exported again', async () => {
    const directory = await freshFolder();
    const stored = (jobId: string, uri: string, outputKey: string, state: string) => ({
      jobId,
      input: { uri, filename: uri.slice(7), crawl: null, subset: null, segment: null },
      sizeBytes: 10,
      outputKey,
      state,
      attempt: state === 'pending' ? 0 : 1,
      chargedAttempts: state === 'pending' ? 0 : 1,
      leaseOwner: null,
      claimableAtMs: state === 'pending' ? 0 : null,
      lastError: state === 'failed' ? 'input: not a WARC file' : null,
      result: state === 'done' ? someResult : null,
    });
    // As a worker wrote it before output keys had to be distinct: x.warc.gz and x.warc both became x.parquet.
    const jobs = [
      stored('j-x-gz', '/warcs/x.warc.gz', 'out/x.parquet', 'done'),
      stored('j-x', '/warcs/x.warc', 'out/x.parquet', 'pending'),
      stored('j-y1', '/warcs/y.warc.gz', 'out/y.parquet', 'done'),
      stored('j-y2', '/warcs/y.warc', 'out/y.parquet', 'done'),
      stored('j-z', '/warcs/z.warc.gz', 'out/z.parquet', 'failed'),
    ];
    await writeFile(join(directory, journalFileName), `${JSON.stringify({ kind: 'jobs', runId: 'legacy', jobs })}\n`);
    for (let opening = 0; opening < 2; opening += 1) {
      const ledger = await EmbeddedLedger.open({ ...options, directory });
      expect(await ledger.sharedOutputKeys('legacy', 10)).toEqual([
        { uri: '/warcs/x.warc', outputKey: 'out/x.parquet', heldBy: '/warcs/x.warc.gz', state: 'failed' },
        { uri: '/warcs/y.warc', outputKey: 'out/y.parquet', heldBy: '/warcs/y.warc.gz', state: 'done' },
      ]);
      const failed = await ledger.failedJobs('legacy', 10);
      expect(failed.find((job) => job.uri === '/warcs/x.warc')?.lastError).toMatch(
        /out\/x\.parquet .*\/warcs\/x\.warc\.gz/,
      );
      expect(await ledger.claim('legacy', 'worker-a', 10, 60_000)).toEqual({ jobs: [], exhausted: true });
      expect((await ledger.retryFailed('legacy')).map((job) => job.uri)).toEqual(
        opening === 0 ? ['/warcs/z.warc.gz'] : [],
      );
      expect(await ledger.jobStatus('legacy', 'j-x')).toMatchObject({ state: 'failed' });
      if (opening === 0) {
        const z = (await ledger.claim('legacy', 'worker-a', 10, 60_000)).jobs[0]!;
        expect(await ledger.complete('legacy', z, someResult)).toBe(true);
      }
      await ledger.close();
    }
  });

  test('results stored with free-text reasons, before the codes, read as codes; unknown ones as other', async () => {
    const directory = await freshFolder();
    const [old, current] = contractInputs(2);
    const job = (input: typeof old, result: unknown) => ({
      jobId: `j-${input!.filename}`,
      input: input!,
      sizeBytes: 10,
      outputKey: `out/${input!.filename}.parquet`,
      state: 'done',
      attempt: 1,
      chargedAttempts: 1,
      leaseOwner: null,
      claimableAtMs: null,
      lastError: null,
      result,
    });
    // As a worker wrote them before the codes: free text, and a bad reason since made a warning.
    const oldResult = {
      rows: 3,
      inputBytes: 100,
      outputBytes: 10,
      counters: {
        byType: { response: 6 },
        badByReason: { 'truncated gzip member': 1, 'corrupt gzip member': 2, 'invalid WARC-Date': 4 },
        skippedByReason: { 'not an HTTP capture': 3 },
      },
    };
    const jobs = [job(old, oldResult), job(current, someResult)];
    await writeFile(join(directory, journalFileName), `${JSON.stringify({ kind: 'jobs', runId: 'before', jobs })}\n`);
    const ledger = await EmbeddedLedger.open({ ...options, directory });
    expect(await ledger.stats('before')).toMatchObject({
      done: 2,
      badRecordsDone: 8,
      skippedRecordsDone: 5,
      recordWarningsDone: 1,
      badByReasonDone: { truncated_gzip_member: 2, corrupt_gzip_member: 2, other: 4 },
      skippedByReasonDone: { not_http_capture: 5 },
      warningByReasonDone: { unreadable_warc_date: 1 },
    });
    await ledger.close();
  });

  test('a torn last line is cut off and ignored; appends then start on a clean line', async () => {
    const directory = await freshFolder();
    const ledger = await EmbeddedLedger.open({ ...options, directory });
    await ledger.enqueue('run', contractInputs(3));
    const job = (await ledger.claim('run', 'worker-a', 1, 60_000)).jobs[0]!;
    expect(await ledger.complete('run', job, someResult)).toBe(true);
    await ledger.close();
    const path = join(directory, journalFileName);
    const clean = await readFile(path, 'utf8');
    // A kill in the middle of a write: half of a line that would have failed the other jobs.
    await appendFile(path, '{"kind":"jobs","runId":"run","jobs":[{"jobId":"');
    const reopened = await EmbeddedLedger.open({ ...options, directory });
    expect(await readFile(path, 'utf8')).toBe(clean);
    expect(await reopened.stats('run')).toMatchObject({ pending: 2, done: 1 });
    expect((await reopened.claim('run', 'worker-b', 5, 60_000)).jobs).toHaveLength(2);
    await reopened.close();
    const again = await EmbeddedLedger.open({ ...options, directory });
    expect(await again.stats('run')).toMatchObject({ claimed: 2, done: 1 });
    await again.close();
  });

  test('a corrupt line followed by valid ones is reported, not skipped', async () => {
    const directory = await freshFolder();
    const ledger = await EmbeddedLedger.open({ ...options, directory });
    await ledger.enqueue('run', contractInputs(1));
    await ledger.close();
    const path = join(directory, journalFileName);
    const clean = await readFile(path, 'utf8');
    await writeFile(path, `{"kind":"jobs","runId":"run","jo\n${clean}`);
    await expect(EmbeddedLedger.open({ ...options, directory })).rejects.toThrow(/corrupt at line 1/);
    // The failed open let go of the folder.
    await expect(EmbeddedLedger.open({ ...options, directory })).rejects.toThrow(/corrupt at line 1/);
  });

  test("a restart makes the dead process's leases claimable at once, charging them", async () => {
    const directory = await freshFolder();
    const ledger = await EmbeddedLedger.open({ ...options, directory });
    await ledger.enqueue('run', contractInputs(2));
    const held = (await ledger.claim('run', 'worker-a', 2, 60_000)).jobs;
    // What a SIGKILL leaves: the journal as it is, no close (the lock file names a dead pid).
    await ledger.close();
    await writeFile(join(directory, 'lock'), '999999999');
    const restarted = await EmbeddedLedger.open({ ...options, directory });
    const taken = (await restarted.claim('run', 'worker-b', 5, 60_000)).jobs;
    expect(taken.map((job) => job.jobId).sort()).toEqual(held.map((job) => job.jobId).sort());
    expect(taken.map((job) => job.attempt)).toEqual([2, 2]);
    expect(await restarted.complete('run', held[0]!, someResult)).toBe(false);
    await restarted.close();
  });

  test('one process per folder: a folder in use is refused with what to do; a stale lock is taken over', async () => {
    const directory = await freshFolder();
    const ledger = await EmbeddedLedger.open({ ...options, directory });
    await expect(EmbeddedLedger.open({ ...options, directory })).rejects.toThrow(/already open in this process/);
    await ledger.close();
    // Another live process (our parent) holds it.
    await writeFile(join(directory, 'lock'), String(process.ppid));
    await expect(EmbeddedLedger.open({ ...options, directory })).rejects.toThrow(
      /in use by process .* use --ledger postgres/,
    );
    // Our own pid, left by a previous incarnation (a restarted container reuses pids).
    await writeFile(join(directory, 'lock'), String(process.pid));
    await (await EmbeddedLedger.open({ ...options, directory })).close();
  });

  test('compaction keeps the journal near the size of the state and loses nothing', async () => {
    const directory = await freshFolder();
    const ledger = await EmbeddedLedger.open({ ...options, directory, compactLinesMin: 20 });
    await ledger.enqueue('run', contractInputs(50));
    for (let round = 0; round < 20; round += 1) {
      const { jobs } = await ledger.claim('run', 'worker-a', 2, 60_000);
      await Promise.all(jobs.map((job) => ledger.complete('run', job, someResult)));
      await ledger.progress('run', {
        workerId: 'worker-a',
        currentInput: null,
        records: round,
        bytes: 0,
        badRecords: 0,
        status: 'running',
      });
    }
    const before = await ledger.stats('run');
    await ledger.close();
    const lines = (await readFile(join(directory, journalFileName), 'utf8')).trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(20);
    const reopened = await EmbeddedLedger.open({ ...options, directory, compactLinesMin: 20 });
    expect(await reopened.stats('run')).toEqual(before);
    expect(before).toMatchObject({ done: 40, pending: 10 });
    expect((await reopened.workerProgress('run'))[0]?.records).toBe(19);
    await reopened.close();
  });
});

test('a read-only open (for status) reads the state beside the worker holding the folder, and writes nothing', async () => {
  const directory = await freshFolder();
  const ledger = await EmbeddedLedger.open({ ...contractOptions, directory });
  await ledger.enqueue('run', contractInputs(3));
  const job = (await ledger.claim('run', 'worker-a', 1, 60_000)).jobs[0]!;
  await ledger.complete('run', job, someResult);
  const path = join(directory, journalFileName);
  // A line being written right now, as the reader may catch it.
  await appendFile(path, '{"kind":"jobs","runId":"run","jo');
  const reader = await EmbeddedLedger.open({ ...contractOptions, directory, readOnly: true });
  expect(await reader.stats('run')).toMatchObject({ pending: 2, done: 1 });
  await expect(reader.claim('run', 'worker-b', 1, 60_000)).rejects.toThrow(/read-only/);
  await reader.close();
  expect((await readFile(path, 'utf8')).endsWith('"jo')).toBe(true);
  // The worker still holds its lock.
  await expect(EmbeddedLedger.open({ ...contractOptions, directory })).rejects.toThrow(/already open in this process/);
  await ledger.close();
});
