/**
 * `--inflate head-only|full` (INFLATE, YAML `inflate`): the option's precedence and default;
 * the binary, on one CPU thread, exports the same Parquet rows from real CommonCrawl records
 * head-only (the default) and with `--inflate full`, so the option reaches the CPU threads'
 * decoders and changes nothing in the output; and a value that is neither is exit 2 with one line.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { loadWorkerConfig } from '../../cmd/worker/worker-config.ts';
import { duckdbRows } from '../support/parquet-rows.ts';
import {
  localWorkerOptions,
  oneThreadNoMetrics,
  runWorkerCommand,
  type WorkerExit,
} from '../support/worker-process.ts';

const fixtures = resolve(sharedFixtureRoot);
const workFolder = mkdtempSync(join(tmpdir(), 'worker-inflate-'));

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

function runWorker(args: string[]): Promise<WorkerExit> {
  return runWorkerCommand([...args, ...oneThreadNoMetrics], localWorkerOptions(workFolder));
}

function rowsOf(folder: string): Promise<Record<string, unknown>[]> {
  return duckdbRows(
    `SELECT * EXCLUDE (filename) FROM read_parquet('${folder}/**/*.parquet', filename = true, hive_partitioning = false) ORDER BY filename, warc_record_offset`,
  );
}

describe('--inflate', () => {
  it('takes the flag, then INFLATE, then the YAML key inflate, else head-only', () => {
    const yaml = join(workFolder, 'inflate.yaml');
    writeFileSync(yaml, 'inflate: full\n');
    const inflateOf = (args: string[], extra: Record<string, string>) => loadWorkerConfig(args, extra).inflate;
    expect(inflateOf([], {})).toBe('head-only');
    expect(inflateOf(['--config', yaml], {})).toBe('full');
    expect(inflateOf(['--config', yaml], { INFLATE: 'head-only' })).toBe('head-only');
    expect(inflateOf(['--inflate', 'full'], { INFLATE: 'head-only' })).toBe('full');
  });

  it('exports the same rows head-only and in full from real CommonCrawl records', async () => {
    const input = join(workFolder, 'input');
    mkdirSync(input);
    copyFileSync(join(fixtures, 'resiliparse/cc-2020-34-excerpt.warc.gz'), join(input, 'excerpt.warc.gz'));
    copyFileSync(join(fixtures, 'commoncrawl/whirlwind.warc.gz'), join(input, 'whirlwind.warc.gz'));
    const headOnly = await runWorker(['--input', input, '--output', join(workFolder, 'head-only')]);
    const full = await runWorker(['--input', input, '--output', join(workFolder, 'full'), '--inflate', 'full']);
    expect([headOnly.code, full.code]).toEqual([0, 0]);
    const headOnlyRows = await rowsOf(join(workFolder, 'head-only'));
    expect(headOnlyRows.length).toBe(17);
    expect(headOnlyRows).toEqual(await rowsOf(join(workFolder, 'full')));
    expect(readdirSync(join(workFolder, 'full')).length).toBeGreaterThan(0);
  });

  it('exits 2 with one line for a value that is neither', async () => {
    const run = await runWorker(['--input', fixtures, '--output', join(workFolder, 'x'), '--inflate', 'partial']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('--inflate must be one of head-only, full, got "partial"');
  });
});
