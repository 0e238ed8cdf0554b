/**
 * The real binary on a folder that holds ARC files beside a WARC file, as a mirror of
 * CommonCrawl's crawls before 2013 would: every `.arc.gz` and `.arc` is exported with a row per
 * HTTP capture (DuckDB reads them back, columns and all), and a damaged ARC is exported with
 * its damage counted, not lost and not crashing the run.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsByFile } from '../support/parquet-rows.ts';
import { localWorkerOptions, runWorkerCommandSync } from '../support/worker-process.ts';
import { payloadDigest, sampleCaptures, writeArc } from '../fixtures-gen/heritrix-like-arc.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-arc-'));
afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

describe('node cmd/worker on ARC files', () => {
  it("exports .arc.gz and .arc files beside a .warc.gz, and counts a damaged ARC's damage", async () => {
    const input = join(workFolder, 'input');
    mkdirSync(join(input, '2008'), { recursive: true });
    const captures = sampleCaptures().filter((capture) => capture.url.startsWith('http'));
    const gzipped = writeArc(captures, { name: 'IAH-20080430204825-00000-example.arc', gzip: true });
    writeFileSync(join(input, '2008/IAH-20080430204825-00000-example.arc.gz'), gzipped.bytes);
    writeFileSync(
      join(input, '2008/plain-example.arc'),
      writeArc(captures, { name: 'plain-example.arc', gzip: false }).bytes,
    );
    const damaged = Buffer.from(gzipped.bytes);
    damaged[gzipped.places[3]!.offset + 24]! ^= 0xff;
    writeFileSync(join(input, '2008/damaged-example.arc.gz'), damaged);
    copyFileSync(
      resolve(import.meta.dirname, '../../samples/commoncrawl/whirlwind.warc.gz'),
      join(input, 'whirlwind.warc.gz'),
    );

    const result = runWorkerCommandSync(
      ['--input', input, '--output', 'out', '--metrics', 'none'],
      localWorkerOptions(workFolder),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('4 files exported, 0 failed');
    expect(result.stderr).toMatch(/exported with bad records: .*damaged-example\.arc\.gz: corrupt_gzip_member 1/);

    const out = join(workFolder, 'out');
    expect(Object.fromEntries(await rowsByFile(out))).toEqual({
      '2008/IAH-20080430204825-00000-example.arc.gz': captures.length,
      '2008/plain-example.arc': captures.length,
      '2008/damaged-example.arc.gz': captures.length - 1,
      'whirlwind.warc.gz': 1,
    });
    const rows =
      await query(`SELECT url, epoch_ms(fetch_time) AS fetch_ms, fetch_status, content_mime_type, content_digest,
      warc_record_offset, warc_record_length FROM read_parquet('${out}/**/*.parquet')
      WHERE warc_filename = '2008/IAH-20080430204825-00000-example.arc.gz' ORDER BY warc_record_offset`);
    expect(rows.map((row) => ({ ...row, fetch_ms: Number(row.fetch_ms) }))).toEqual(
      captures.map((capture, index) => {
        const d = capture.date;
        return {
          url: capture.url.includes('?') ? capture.url.replaceAll(' ', '+') : capture.url.replaceAll(' ', '%20'),
          fetch_ms: Date.UTC(
            +d.slice(0, 4),
            +d.slice(4, 6) - 1,
            +d.slice(6, 8),
            +d.slice(8, 10),
            +d.slice(10, 12),
            +d.slice(12, 14),
          ),
          fetch_status: Number(/^HTTP\/1\.1 (\d{3})/.exec(capture.block.toString('latin1', 0, 40))![1]),
          content_mime_type: /Content-Type: ([^;\r\n]+)/.exec(capture.block.toString('latin1'))![1],
          content_digest: payloadDigest(capture.block),
          warc_record_offset: BigInt(gzipped.places[index + 1]!.offset),
          warc_record_length: BigInt(gzipped.places[index + 1]!.length),
        };
      }),
    );
  });
});
