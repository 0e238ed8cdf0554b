/**
 * The row filter reaches the CPU threads: a thread started with a checked `--where` decodes
 * only the rows it keeps, counted `filtered_out`, as the event loop's stages do; a thread whose
 * domains file is gone since the run checked it fails each task with that reason, and is not
 * restarted in a loop.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWhere } from '../../adapters/filter/where-parser.ts';
import { createParquetEncoder, parquetCompressionDefault } from '../../adapters/parquet/parquet-encoder.ts';
import { indexOutput, WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { CpuPool } from '../../cmd/worker/cpu-pool.ts';
import { InProcessCpu } from '../../cmd/worker/cpu-stages.ts';
import { captureFilterOf } from '../../adapters/filter/capture-filter.ts';
import { sharedFixture } from '../support/shared-fixtures.ts';

const file = sharedFixture('resiliparse/cc-2020-34-excerpt.warc.gz');
const input: InputRef = { uri: file, filename: 'excerpt.warc.gz', crawl: null, subset: null, segment: null };
const indexCodec = { output: indexOutput, fullInflate: false, compression: parquetCompressionDefault };
const pools: CpuPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('a CPU thread given the run filter', () => {
  it('keeps the rows the event loop keeps with the same filter', async () => {
    const spec = { where: await parseWhere("content_charset = 'UTF-8'"), domainsPath: null };
    const pool = new CpuPool(1, indexCodec, spec);
    pools.push(pool);
    const keep = await captureFilterOf(spec);
    const local = new InProcessCpu(new WarcDecoder(keep === null ? {} : { keep }), createParquetEncoder());
    const everything = await new InProcessCpu(new WarcDecoder(), createParquetEncoder()).decode(
      'all',
      0,
      input,
      readFileSync(file),
      true,
      null,
    );
    const expected = await local.decode('job', 0, input, readFileSync(file), true, null);
    const threaded = await pool.decode('job', 0, input, readFileSync(file), true, null);
    expect(threaded.rows).toBe(expected.rows);
    expect(threaded.rows).toBeGreaterThan(0);
    expect(threaded.rows).toBeLessThan(everything.rows);
    expect(threaded.counters.skippedByReason).toEqual({ filtered_out: everything.rows - threaded.rows });
  });

  it('fails its tasks, not itself, when the domains file is gone', async () => {
    const pool = new CpuPool(1, indexCodec, {
      where: null,
      domainsPath: resolve(import.meta.dirname, 'no-such-domains.txt'),
    });
    pools.push(pool);
    for (const jobId of ['a', 'b'])
      await expect(pool.decode(jobId, 0, input, readFileSync(file), true, null)).rejects.toThrow(
        /--domains .*no-such-domains\.txt: no such file/,
      );
  });
});
