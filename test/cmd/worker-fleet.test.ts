/**
 * Three real workers sharing one PostgreSQL ledger finish a 30-file run with each file
 * exported exactly once: 30 objects, one row per capture, no (file, offset) twice, and the
 * ledger's stats agree. Needs the machine's PostgreSQL (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test); the run id keeps this run apart from others.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { duckdbRows } from '../support/parquet-rows.ts';
import {
  localWorkerOptions,
  oneThreadNoMetrics,
  runWorkerCommand,
  type WorkerExit,
} from '../support/worker-process.ts';

const samples = resolve(import.meta.dirname, '../../samples');
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const workFolder = mkdtempSync(join(tmpdir(), 'worker-fleet-'));

/** Ten copies of each sample under distinct names: 30 inputs, 19 captures per three. */
function makeInputs(folder: string): void {
  const kinds = [
    ['commoncrawl/whirlwind.warc.gz', 1],
    ['resiliparse/cc-2020-34-excerpt.warc.gz', 16],
    ['warcio/example.warc.gz', 2],
  ] as const;
  for (let copy = 0; copy < 10; copy++) {
    for (const [sample] of kinds) {
      const target = join(folder, `copy-${copy}`, sample);
      mkdirSync(join(target, '..'), { recursive: true });
      copyFileSync(join(samples, sample), target);
    }
  }
}

function runWorker(args: string[]): Promise<WorkerExit> {
  return runWorkerCommand(args, localWorkerOptions(workFolder));
}

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

describe('a fleet of workers on PostgreSQL', () => {
  it('exports each of 30 files exactly once across three workers', async () => {
    const input = join(workFolder, 'input');
    const output = join(workFolder, 'output');
    makeInputs(input);
    const runId = `fleet-test-${process.pid}-${Date.now()}`;
    const args = [
      '--input',
      input,
      '--output',
      output,
      '--ledger',
      databaseUrl,
      '--run-id',
      runId,
      ...oneThreadNoMetrics,
    ];
    const results = await Promise.all([runWorker(args), runWorker(args), runWorker(args)]);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const exported = results.map((result) => Number(/(\d+) files exported/.exec(result.stderr)?.[1]));
    expect(exported.reduce((sum, count) => sum + count, 0)).toBe(30);

    const counts = await duckdbRows(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT (warc_filename, warc_record_offset))::INTEGER AS distinct_captures,
              count(DISTINCT warc_filename)::INTEGER AS files FROM read_parquet('${output}/**/*.parquet')`,
    );
    expect(counts).toEqual([{ n: 190, distinct_captures: 190, files: 30 }]);

    const status = await runWorker([
      'status',
      '--json',
      '--ledger',
      databaseUrl,
      '--run-id',
      runId,
      '--output',
      output,
    ]);
    expect(JSON.parse(status.stdout)).toMatchObject({ done: 30, failed: 0, remaining: 0, rowsDone: 190 });
  });
});
