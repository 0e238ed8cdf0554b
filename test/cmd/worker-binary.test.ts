/**
 * End-to-end tests of the real binary as a child process: with no arguments it exports the
 * bundled samples into ./out, and DuckDB reads one row per response, revisit and resource
 * record; a second run redoes nothing; bad inputs fail their jobs with a reason and the run
 * exits 3; bad configuration exits 2 with one line saying what to fix; --help names every
 * option with its variable.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rowsByFile } from '../support/parquet-rows.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { localWorkerOptions, runWorkerCommandSync, type WorkerExit } from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-binary-'));

function runWorker(args: string[], environment: Record<string, string> = {}): WorkerExit {
  return runWorkerCommandSync(args, localWorkerOptions(workFolder, environment));
}

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

describe('node cmd/worker', () => {
  it('exports the bundled samples to ./out with no arguments, one row per capture', async () => {
    const first = runWorker([]);
    expect(first.stderr).toContain('3 files exported, 0 failed');
    expect(first.code).toBe(0);
    // Captures by the sample README: whirlwind 1 response; cc-2020-34 excerpt 16 responses; warcio example 1 response + 1 revisit.
    const counts = await rowsByFile(join(workFolder, 'out'));
    expect(Object.fromEntries(counts)).toEqual({
      'commoncrawl/whirlwind.warc.gz': 1,
      'resiliparse/cc-2020-34-excerpt.warc.gz': 16,
      'warcio/example.warc.gz': 2,
    });
  });

  it('does not redo finished work when run again', () => {
    const second = runWorker([]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(
      /^run run-[0-9a-f]+ finished at \S+Z with 3 files: 3 exported, 0 failed; nothing left to do$/m,
    );
  });

  it('writes the same Parquet bytes with decode and encode on the event loop (--threads 0) as on the thread pool', () => {
    const inline = runWorker(['--threads', '0', '--output', 'out-inline']);
    expect(inline.code).toBe(0);
    for (const name of ['commoncrawl/whirlwind', 'resiliparse/cc-2020-34-excerpt', 'warcio/example']) {
      const key = `crawl=unknown/subset=unknown/${name}.parquet`;
      expect(
        readFileSync(join(workFolder, 'out-inline', key)).equals(readFileSync(join(workFolder, 'out', key))),
        key,
      ).toBe(true);
    }
  });

  it('reports the run from its ledger with `status`', () => {
    // No run named: every run of the ledger beside ./out, here the samples' run.
    const listing = runWorker(['status', '--json']);
    expect(listing.code).toBe(0);
    const { runs } = JSON.parse(listing.stdout) as {
      runs: { runId: string; input: string; done: number; failed: number }[];
    };
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ input: resolve(import.meta.dirname, '../../samples'), done: 3, failed: 0 });
    const status = runWorker(['status', '--json', '--run-id', runs[0]!.runId]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ done: 3, failed: 0, remaining: 0, rowsDone: 19 });
    // The worker's last report: stopped, no current file; its totals; the current-file fields documented in docs/operations.md.
    const [worker] = (JSON.parse(status.stdout) as { workers: Record<string, unknown>[] }).workers;
    expect(worker).toMatchObject({
      status: 'stopped',
      currentInput: null,
      currentBytes: 0,
      currentSizeBytes: null,
      bytesPerSecond: null,
      currentFileEtaMs: null,
    });
    expect(worker?.bytes).toBeGreaterThan(0);
  });

  it('finishes with exit 3 and lists the inputs that failed for good, exporting the good ones', () => {
    const input = join(workFolder, 'mixed');
    mkdirSync(input, { recursive: true });
    writeFileSync(
      join(input, 'garbage.warc.gz'),
      Buffer.from('this is not a WARC file at all, nor gzip\n'.repeat(100)),
    );
    writeFileSync(join(input, 'empty.warc'), Buffer.alloc(0));
    copyFileSync(
      resolve(import.meta.dirname, '../../samples/commoncrawl/whirlwind.warc.gz'),
      join(input, 'good.warc.gz'),
    );
    const result = runWorker(['--input', input, '--output', 'out-mixed', '--metrics', 'none']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('1 file exported, 2 failed');
    expect(result.stderr).toMatch(/failed: .*garbage\.warc\.gz: .*not a WARC file/);
    expect(result.stderr).toMatch(/failed: .*empty\.warc: .*empty file/);
  });

  it('exits 2 with one line for bad configuration', () => {
    for (const [args, environment, says] of [
      [['--bogus'], {}, '--bogus'],
      [['--metrics', 'carrier-pigeon'], {}, '--metrics must be one of none, stdout, cloudwatch'],
      [[], { LEASE_SECONDS: 'soon' }, '--lease-seconds must be an integer'],
      [['--shard', '3/2'], {}, 'shard index must be in [0, 1]'],
      [[], { JOB_ATTEMPTS: '0' }, '--job-attempts must be an integer ≥ 1'],
      [['--source-requests-per-second', '0'], {}, '--source-requests-per-second must be a positive number or none'],
      [[], { SOURCE_REQUESTS_PER_SECOND: 'fast' }, '--source-requests-per-second must be a positive number or none'],
    ] as const) {
      const result = runWorker([...args], { ...environment });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(says);
    }
  });

  it('shows every option with its environment variable in --help', () => {
    const help = runWorker(['--help']);
    expect(help.code).toBe(0);
    for (const word of [
      '--input',
      'INPUT',
      '--ledger',
      'LEDGER_URL',
      '--run-id',
      'RUN_ID',
      '--lease-seconds',
      'LEASE_SECONDS',
      '--drain-timeout',
      '--metrics',
      'LOG_LEVEL',
    ]) {
      expect(help.stdout).toContain(word);
    }
  });
});
