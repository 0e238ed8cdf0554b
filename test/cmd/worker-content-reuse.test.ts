/**
 * Chunk memory reused end to end (cmd/worker/chunk-pool.ts): the binary exports the content
 * schema of an uncompressed `.warc` (read in place, never inflated: the rows' payloads, the
 * lines and records cut by a chunk's end come from the chunk's own bytes) in 1 MiB chunks at
 * the smallest memory budget, where a chunk is fetched only once the one before it is
 * decoded, into its memory. A WARC header line straddles every chunk boundary (short `request`
 * records place them), so a decoder that kept a view of a cut line read the next chunk's
 * bytes there. Every row equals the decoder's row for the whole file pushed at once, in memory
 * never reused, and the rows are as many as warcio's reading finds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { ContentRow } from '../../core/capture-row.ts';
import { minimumBudgetMb } from '../../cmd/worker/memory-plan.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { duckdbRows } from '../support/parquet-rows.ts';
import { countRowRecords } from '../support/warcio-record-count.ts';
import { runWorkerCommand } from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-content-reuse-'));
const options = { cwd: workFolder, env: { PATH: process.env.PATH ?? '', HOME: workFolder } };
const contentMaxKb = 512;
const mebibyte = 1024 * 1024;

/** A `request` record (no row) of exactly `bytes` bytes, at least `fillerBytesMin`. */
function filler(bytes: number): Buffer {
  const head = (length: number): string =>
    `WARC/1.0\r\nWARC-Type: request\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000000>\r\nContent-Length: ${String(length).padStart(8, '0')}\r\n\r\n`;
  const blockBytes = bytes - head(0).length - 4;
  return Buffer.concat([Buffer.from(head(blockBytes)), Buffer.alloc(blockBytes, 0x20), Buffer.from('\r\n\r\n')]);
}
const fillerBytesMin = 200;
/**
 * Where a record starts before the `index`th boundary: its `WARC/1.0` line (10 bytes) ends
 * before it, its `WARC-Type` line (21) is cut by it, at a place that differs from one boundary
 * to the next, so that a view of the cut line over the next chunk's bytes reads other text.
 */
function startBeforeBoundary(index: number): number {
  return 12 + 4 * (index % 5);
}

/**
 * The records of a plain WARC, with fillers put in so that a record starts just before every
 * MiB (`startBeforeBoundary`): its second header line is cut by each 1 MiB chunk's end.
 */
function straddlingEveryChunk(plain: Buffer): Buffer {
  const starts: number[] = [];
  for (let at = plain.indexOf('WARC/1.0\r\n'); at !== -1; at = plain.indexOf('WARC/1.0\r\n', at + 1)) starts.push(at);
  const pieces: Buffer[] = [];
  let written = 0;
  let boundary = mebibyte;
  starts.forEach((start, index) => {
    const record = plain.subarray(start, starts[index + 1] ?? plain.length);
    const placed = boundary - startBeforeBoundary(boundary / mebibyte);
    const room = placed - written;
    if (written + record.length > placed && room >= fillerBytesMin) {
      pieces.push(filler(room));
      written += room;
    }
    if (written + record.length > boundary) boundary += mebibyte;
    pieces.push(record);
    written += record.length;
  });
  return Buffer.concat(pieces);
}

afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

/** A row's columns that come from the chunk's bytes, as text. */
function columns(row: { url: unknown; offset: unknown; headers: unknown; content: Uint8Array }): string {
  return JSON.stringify([
    String(row.url),
    Number(row.offset),
    String(row.headers),
    Buffer.from(row.content).toString('hex'),
  ]);
}

describe('content export from reused chunk memory', () => {
  it('gives the rows of the file decoded in memory never reused', async () => {
    const gzipped = join(workFolder, 'cc.warc.gz');
    writeCommonCrawlLikeWarc(gzipped, 2_500_000, 47);
    const plain = straddlingEveryChunk(zlib.gunzipSync(readFileSync(gzipped)));
    const input = join(workFolder, 'in');
    mkdirSync(input);
    writeFileSync(join(input, 'cc.warc'), plain);
    expect(plain.length).toBeGreaterThan(8 * mebibyte);
    const boundaries = Math.floor(plain.length / mebibyte);
    const straddled = Array.from(
      { length: boundaries },
      (_, index) => (index + 1) * mebibyte - startBeforeBoundary(index + 1),
    ).filter((start) => plain.subarray(start, start + 10).toString() === 'WARC/1.0\r\n');
    expect(straddled.length).toBeGreaterThanOrEqual(boundaries - 1);

    const output = join(workFolder, 'out');
    const budget = String(minimumBudgetMb(1, 1, 'content'));
    const args = ['--input', input, '--output', output, '--threads', '1', '--chunk-mb', '1', '--schema', 'content'];
    const settings = ['--memory-budget-mb', budget, '--content-max-kb', String(contentMaxKb), '--metrics', 'none'];
    const exit = await runWorkerCommand([...args, ...settings], options, 300_000);
    expect(exit.code, exit.stderr).toBe(0);
    const exported = await duckdbRows(
      `SELECT url, warc_record_offset AS offset, http_headers AS headers, hex(content) AS content
       FROM read_parquet('${output}/**/*.parquet') ORDER BY warc_record_offset`,
    );

    const output0 = { schema: 'content' as const, contentBytesMax: contentMaxKb * 1024 };
    const file = { uri: 'cc.warc', filename: 'cc.warc', crawl: null, subset: null, segment: null };
    const decoded = new WarcDecoder({ output: output0 }).open(file).push(Uint8Array.from(plain), true)
      .rows as ContentRow[];
    const expected = decoded.map((row) =>
      columns({ url: row.url, offset: row.warc_record_offset, headers: row.http_headers, content: row.content }),
    );
    const got = exported.map((row) =>
      columns({
        url: row.url,
        offset: row.offset,
        headers: row.headers,
        content: Buffer.from(String(row.content), 'hex'),
      }),
    );
    expect(got.length).toBe(await countRowRecords(plain));
    expect(got).toEqual(expected);
  }, 400_000);
});
