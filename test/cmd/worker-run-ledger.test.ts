/**
 * What the binary says from the run's ledger: a run that holds failed jobs exits 3 and lists
 * them on every invocation, until `retry-failed` (an operator's command, never a worker's
 * own decision) puts them back and a run exports them; a re-run of a finished run says when
 * it finished and how to export again; `status` lists the runs a ledger holds when none is
 * named, refuses an unknown one (exit 2, one line) and shows each worker's bytes; an input
 * whose output another input of the run holds is refused and named with it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsByFile } from '../support/parquet-rows.ts';
import { localWorkerOptions, runWorkerCommandSync, type WorkerExit } from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-run-ledger-'));
const whirlwind = resolve(import.meta.dirname, '../../samples/commoncrawl/whirlwind.warc.gz');
const example = resolve(import.meta.dirname, '../../samples/warcio/example.warc.gz');

function runWorker(args: string[]): WorkerExit {
  return runWorkerCommandSync(args, localWorkerOptions(workFolder, {}, workFolder));
}

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

describe('a run with a failed input', () => {
  const input = join(workFolder, 'warcs');
  const broken = join(input, 'broken.warc.gz');
  const options = ['--input', input, '--output', 'out', '--metrics', 'none'];

  it('exits 3 and lists the failed input with its error, on the first run and on every one after', () => {
    mkdirSync(input, { recursive: true });
    copyFileSync(whirlwind, join(input, 'good.warc.gz'));
    writeFileSync(broken, Buffer.from('not a WARC file, not gzip either\n'.repeat(50)));
    const first = runWorker(options);
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toMatch(/^ {2}failed: \S+broken\.warc\.gz: .*not a WARC file/m);
    for (let again = 0; again < 2; again += 1) {
      const rerun = runWorker(options);
      expect(rerun.code, rerun.stderr).toBe(3);
      expect(rerun.stderr).toMatch(/^ {2}failed: \S+broken\.warc\.gz: .*not a WARC file/m);
      expect(rerun.stderr).toContain('retry-failed');
    }
  });

  it('has `status` show the failed job with its last error, and each worker with the bytes it read', () => {
    const status = runWorker(['status', ...options]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/failed: \S+broken\.warc\.gz: input: .*not a WARC file/);
    const json = JSON.parse(runWorker(['status', '--json', ...options]).stdout) as { workers: { bytes: number }[] };
    // The first run's one worker decoded every byte of the good file (the broken one failed at
    // its first chunk); the runs after it found nothing to do and started no worker.
    expect(json.workers.map((worker) => worker.bytes)).toEqual([statSync(join(input, 'good.warc.gz')).size]);
  });

  it('after the file is fixed, `retry-failed` puts it back and prints it; the next run exports it and exits 0', async () => {
    copyFileSync(example, broken);
    const retry = runWorker(['retry-failed', ...options]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/1 failed job put back to pending/);
    expect(retry.stdout).toMatch(/\S+broken\.warc\.gz \(was: input: .*not a WARC file/);
    // Nothing was exported by the command itself.
    expect((await rowsByFile(join(workFolder, 'out'))).has('broken.warc.gz')).toBe(false);
    const run = runWorker(options);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('1 file exported, 0 failed');
    expect((await rowsByFile(join(workFolder, 'out'))).get('broken.warc.gz')).toBe(2);
    const nothingLeft = runWorker(['retry-failed', ...options]);
    expect(nothingLeft.code).toBe(0);
    expect(nothingLeft.stdout).toContain('no failed job');
  });

  it('says on a re-run of a finished run when it finished, with how many files, and how to export again', () => {
    const rerun = runWorker(options);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(
      /^run run-[0-9a-f]+ finished at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z with 2 files: 2 exported, 0 failed/m,
    );
    expect(rerun.stderr).toContain('--run-id');
    expect(rerun.stderr).not.toContain('0 files exported');
  });
});

describe('status', () => {
  it('lists the runs the ledger holds when no run is named: id, input, output, counts, last activity', () => {
    const second = join(workFolder, 'second');
    mkdirSync(second, { recursive: true });
    copyFileSync(whirlwind, join(second, 'only.warc.gz'));
    expect(runWorker(['--input', second, '--output', 'listed', '--metrics', 'none']).code).toBe(0);
    expect(
      runWorker(['--input', second, '--output', 'listed', '--run-id', 'named-run', '--metrics', 'none']).code,
    ).toBe(0);
    const listing = runWorker(['status', '--output', 'listed']);
    expect(listing.code, listing.stderr).toBe(0);
    const lines = listing.stdout.trim().split('\n');
    const named = lines.find((line) => line.includes('named-run'));
    expect(named).toBeDefined();
    expect(named).toContain(second);
    expect(named).toContain(join(workFolder, 'listed'));
    expect(named).toMatch(/1 done, 0 pending, 0 failed/);
    expect(named).toMatch(/last activity \d{4}-\d\d-\d\dT/);
    expect(lines.filter((line) => /^ {2}\S+ /.test(line))).toHaveLength(2);
    const json = JSON.parse(runWorker(['status', '--json', '--output', 'listed']).stdout) as {
      runs: { runId: string; done: number }[];
    };
    expect(json.runs.map((run) => run.runId)).toContain('named-run');
  });

  it('refuses an unknown run with exit 2 and one line', () => {
    // The second names a run by an input that exists but was never exported to this output.
    for (const args of [
      ['--run-id', 'no-such-run', '--output', 'listed'],
      ['--input', join(workFolder, 'warcs'), '--output', 'listed'],
    ]) {
      const status = runWorker(['status', ...args]);
      expect(status.code).toBe(2);
      expect(status.stderr.trim().split('\n')).toHaveLength(1);
      expect(status.stderr).toMatch(/no run .* in the ledger/);
      expect(status.stdout).toBe('');
      const retry = runWorker(['retry-failed', ...args]);
      expect(retry.code).toBe(2);
      expect(retry.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('inputs that would share an output', () => {
  it('refuses the second input, naming both, exports the rest and exits 3', async () => {
    const input = join(workFolder, 'twins');
    // Two copies of one CommonCrawl mirror below one root: the same crawl, subset and file name
    // is the one way two listed inputs share an object, so the ledger must refuse the second.
    const layout = 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc';
    const name = 'CC-MAIN-20240517-00000.warc.gz';
    for (const copy of ['copy-a', 'copy-b']) {
      mkdirSync(join(input, copy, layout), { recursive: true });
      copyFileSync(whirlwind, join(input, copy, layout, name));
    }
    writeFileSync(join(input, 'x.warc'), gunzipSync(readFileSync(example)));
    const result = runWorker(['--input', input, '--output', 'out-twins', '--metrics', 'none']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain('2 files exported');
    const refused = result.stderr.split('\n').filter((line) => line.startsWith('  refused: '));
    expect(refused).toHaveLength(1);
    const escaped = (path: string): string => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const held = `crawl=CC-MAIN-2024-22/subset=warc/${name.replace('.warc.gz', '.parquet')}`;
    expect(refused[0]).toMatch(
      new RegExp(
        `refused: ${escaped(join(input, 'copy-b', layout, name))}: its output ${escaped(held)} ` +
          `is already the output of ${escaped(join(input, 'copy-a', layout, name))} in this run`,
      ),
    );
    expect((await rowsByFile(join(workFolder, 'out-twins'))).size).toBe(2);
  });
});
