/**
 * `--compression gzip|snappy|brotli|none` (COMPRESSION, YAML `compression`): the option's
 * precedence and default (gzip, as before the option); the binary, on one CPU thread, writes
 * every column chunk with the codec asked for, as DuckDB reads the files' metadata, and the
 * same rows whatever the codec; a value that is none of them is exit 2 with one line.
 */
import { duckdbRows } from '../support/parquet-rows.ts';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { loadWorkerConfig } from '../../cmd/worker/worker-config.ts';
import {
  localWorkerOptions,
  oneThreadNoMetrics,
  runWorkerCommand,
  type WorkerExit,
} from '../support/worker-process.ts';

const fixture = join(sharedFixtureRoot, 'resiliparse/cc-2020-34-excerpt.warc.gz');
const workFolder = mkdtempSync(join(tmpdir(), 'worker-compression-'));

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

function runWorker(args: string[]): Promise<WorkerExit> {
  return runWorkerCommand([...args, ...oneThreadNoMetrics], localWorkerOptions(workFolder));
}

describe('--compression', () => {
  it('takes the flag, then COMPRESSION, then the YAML key compression, else gzip', () => {
    const yaml = join(workFolder, 'compression.yaml');
    writeFileSync(yaml, 'compression: brotli\n');
    const codecOf = (args: string[], extra: Record<string, string>) => loadWorkerConfig(args, extra).compression;
    expect(codecOf([], {})).toBe('GZIP');
    expect(codecOf(['--config', yaml], {})).toBe('BROTLI');
    expect(codecOf(['--config', yaml], { COMPRESSION: 'none' })).toBe('UNCOMPRESSED');
    expect(codecOf(['--compression', 'snappy'], { COMPRESSION: 'none' })).toBe('SNAPPY');
  });

  it('writes every column chunk with the codec asked for, and the same rows with each', async () => {
    const input = join(workFolder, 'input');
    mkdirSync(input);
    copyFileSync(fixture, join(input, 'excerpt.warc.gz'));
    const rowsByCodec: Record<string, unknown>[][] = [];
    for (const [value, codec] of [
      ['snappy', 'SNAPPY'],
      ['brotli', 'BROTLI'],
      ['none', 'UNCOMPRESSED'],
      ['gzip', 'GZIP'],
    ] as const) {
      const output = join(workFolder, `out-${value}`);
      const run = await runWorker(['--input', input, '--output', output, '--compression', value]);
      expect(run.code, run.stderr).toBe(0);
      const files = `${output}/**/*.parquet`;
      const codecs = await duckdbRows(`SELECT DISTINCT compression FROM parquet_metadata('${files}')`);
      expect(codecs).toEqual([{ compression: codec }]);
      rowsByCodec.push(
        await duckdbRows(
          `SELECT * FROM read_parquet('${files}', hive_partitioning = false) ORDER BY warc_record_offset`,
        ),
      );
    }
    expect(rowsByCodec[0]?.length).toBe(16);
    for (const rows of rowsByCodec) expect(rows).toEqual(rowsByCodec[0]);
    // Four runs of the binary: 28 s on an idle machine, over a minute at a load of 20.
  }, 120_000);

  it('exits 2 with one line for a codec it does not offer', async () => {
    const run = await runWorker(['--input', fixture, '--output', join(workFolder, 'x'), '--compression', 'zstd']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('--compression must be one of gzip, snappy, brotli, none, got "zstd"');
  });
});
