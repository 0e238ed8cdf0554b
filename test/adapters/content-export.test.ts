/**
 * The content schema from WARC bytes to Parquet read back by DuckDB: the columns per record
 * type (a response's payload, a resource's block, a revisit's nothing and its WARC-Refers-To),
 * `content_truncated` saying `length` past `--content-max-kb` and keeping a crawler's own
 * reason, warnings counted by code; the same rows whole and fed in small chunks (a payload
 * straddling chunks); the index schema unchanged; content row groups cut by payload bytes; and
 * hyparquet (the reader the worker's own index files go through) reading every compression.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, describe, expect, it } from 'vitest';
import { captureColumns, type ContentRow, type ExportRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { createParquetEncoder, rowGroupsByPayload } from '../../adapters/parquet/parquet-encoder.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { expectDecoderCodes } from '../support/reason-codes.ts';
import { caseRecordId, encodedPayloadWarc, responseMember, seededPage } from '../fixtures-gen/encoded-payload-warc.ts';
import { pywbRevisit, writerRecord } from '../fixtures-gen/real-writer-warc.ts';
import { httpResponse, writeArc } from '../fixtures-gen/heritrix-like-arc.ts';

const input: InputRef = { uri: 'test', filename: 'test.warc.gz', crawl: null, subset: null, segment: null };
const folder = mkdtempSync(join(tmpdir(), 'content-export-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function decode(bytes: Uint8Array, contentBytesMax = 1 << 20, pieceBytes = bytes.length) {
  const decoder = new WarcJobDecoder(input, { output: { schema: 'content', contentBytesMax } });
  const rows: ContentRow[] = [];
  const warnings: Record<string, number> = {};
  for (let offset = 0; offset < bytes.length || offset === 0; offset += pieceBytes) {
    const final = offset + pieceBytes >= bytes.length;
    const decoded = decoder.push(bytes.subarray(offset, offset + pieceBytes), final);
    expectDecoderCodes(decoded.counters);
    rows.push(...(decoded.rows as ContentRow[]));
    for (const [code, times] of Object.entries(decoded.counters.warningByReason ?? {}))
      warnings[code] = (warnings[code] ?? 0) + (times ?? 0);
    if (final) break;
  }
  return { rows, warnings };
}

function resource(url: string, block: string): Buffer {
  return writerRecord({
    type: 'resource',
    url,
    id: '<urn:uuid:00000000-0000-4000-8000-00000000beef>',
    headers: ['Content-Type: text/plain'],
    block,
  });
}

describe('content columns per record type', () => {
  it('a response gives its payload, a resource its block, a revisit nothing but what it refers to', () => {
    const page = seededPage(7, 3000);
    const bytes = Buffer.concat([
      responseMember('https://example.com/a', caseRecordId(1), ['Content-Encoding: gzip'], zlib.gzipSync(page)),
      zlib.gzipSync(resource('https://example.com/notes.txt', 'plain resource block')),
      zlib.gzipSync(pywbRevisit('https://example.com/a')),
    ]);
    const { rows } = decode(bytes);
    const [response, stored, revisit] = rows;
    expect(Buffer.from(response?.content ?? []).equals(page)).toBe(true);
    expect(response?.content_length).toBe(page.length);
    expect(response?.warc_record_id).toBe(caseRecordId(1));
    expect(JSON.parse(response?.http_headers ?? '{}')['set-cookie']).toEqual(['a=1; Path=/', 'b=2, c=3']);
    expect(Buffer.from(stored?.content ?? []).toString()).toBe('plain resource block');
    expect(stored?.http_headers).toBeNull();
    expect(revisit?.content.length).toBe(0);
    expect(revisit?.content_length).toBeNull();
    expect(revisit?.fetch_status).toBeNull();
  });

  it('says length past --content-max-kb and keeps a crawler’s own truncation reason', () => {
    const page = seededPage(8, 50_000);
    const truncatedByCrawler = responseMember('https://example.com/t', caseRecordId(2), [], page);
    const withHeader = zlib.gzipSync(
      Buffer.from(
        zlib
          .gunzipSync(truncatedByCrawler)
          .toString('latin1')
          .replace('WARC-Type: response', 'WARC-Type: response\r\nWARC-Truncated: time'),
        'latin1',
      ),
    );
    const bytes = Buffer.concat([responseMember('https://example.com/l', caseRecordId(3), [], page), withHeader]);
    const { rows } = decode(bytes, 10_000);
    expect(rows.map((row) => row.content_truncated)).toEqual(['length', 'time']);
    expect(rows.map((row) => row.content.length)).toEqual([10_000, 10_000]);
    expect(rows.map((row) => row.content_length)).toEqual([page.length, page.length]);
  });

  it('gives the same rows whole and fed in small chunks, and counts the broken cases', () => {
    const { bytes } = encodedPayloadWarc(8_000);
    const whole = decode(bytes);
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 20_000 }), (pieceBytes) => {
        const pieces = decode(bytes, 1 << 20, pieceBytes);
        expect(pieces.rows.length).toBe(whole.rows.length);
        pieces.rows.forEach((row, index) => expect(row).toEqual(whole.rows[index]));
        expect(pieces.warnings).toEqual(whole.warnings);
      }),
      { numRuns: 8 },
    );
    expect(whole.warnings).toEqual({
      undecodable_content_encoding: 3,
      broken_chunked_transfer_coding: 1,
    });
  });

  it('gives an ARC capture its payload, decoded, and its headers', () => {
    const page = seededPage(9, 5000);
    const captures = [
      {
        url: 'http://a.example/',
        date: '20080430204826',
        contentType: 'text/html',
        block: httpResponse('200 OK', ['Content-Type: text/html'], page),
      },
      {
        url: 'http://b.example/',
        date: '20080430204827',
        contentType: 'text/html',
        block: httpResponse('200 OK', ['Content-Type: text/html', 'Content-Encoding: gzip'], zlib.gzipSync(page)),
      },
    ];
    for (const gzip of [true, false]) {
      const { rows } = decode(writeArc(captures, { name: 'content.arc', gzip }).bytes);
      expect(rows.length).toBe(2);
      for (const row of rows) {
        expect(Buffer.from(row.content).equals(page), `${row.url}, gzip ${gzip}`).toBe(true);
        expect(row.content_length).toBe(page.length);
        expect(JSON.parse(row.http_headers ?? '{}')['content-type']).toBe('text/html');
      }
    }
  });

  it('never throws on damaged input but to refuse a file with no row, and counts only codes', () => {
    const { bytes } = encodedPayloadWarc(3_000);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.nat({ max: bytes.length }),
        (flips, cut) => {
          const damaged = Buffer.from(bytes.subarray(0, Math.max(1, cut)));
          for (const [at, value] of flips) if (at < damaged.length) damaged[at] = value;
          try {
            decode(damaged, 2_000, 997);
          } catch (error) {
            expect(error).toBeInstanceOf(FailureError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves the index schema’s rows without content columns', () => {
    const { bytes } = encodedPayloadWarc(1000);
    const rows = new WarcJobDecoder(input).push(bytes, true).rows;
    for (const row of rows) expect(Object.keys(row)).toEqual([...captureColumns]);
  });
});

describe('content rows in Parquet', () => {
  it('DuckDB reads back every column, payload bytes exact, in row groups of bounded payload', async () => {
    const members = Array.from({ length: 12 }, (_, index) =>
      responseMember(`https://example.com/p${index}`, caseRecordId(index), [], seededPage(index, 60_000)),
    );
    const { rows } = decode(Buffer.concat(members), 100_000);
    const encoder = createParquetEncoder({ schema: 'content', rowGroupPayloadBytes: 320_000 }).open();
    const path = join(folder, 'content.parquet');
    writeFileSync(path, Buffer.concat([...(await encoder.writeRowGroup(rows)), ...(await encoder.finish())]));
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    const read = await connection.runAndReadAll(
      `SELECT warc_record_id, content, content_length FROM read_parquet('${path}') ORDER BY warc_record_offset`,
    );
    const back = read.getRowObjects();
    expect(back.length).toBe(rows.length);
    back.forEach((row, index) => {
      const content = row.content as { bytes: Uint8Array };
      expect(Buffer.from(content.bytes).equals(Buffer.from(rows[index]?.content ?? []))).toBe(true);
      expect(Number(row.content_length)).toBe(rows[index]?.content_length);
    });
    const groups = await connection.runAndReadAll(
      `SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata('${path}')`,
    );
    // 12 payloads of 60 KB in groups of at most 320 KB: five per group, three groups.
    expect(groups.getRowObjects()[0]?.n).toBe(3);
    connection.closeSync();
  });

  it("hands over pieces it never writes into again: a call's pieces are unchanged after later calls", async () => {
    const members = Array.from({ length: 8 }, (_, index) =>
      responseMember(`https://example.com/q${index}`, caseRecordId(index), [], seededPage(index + 20, 30_000)),
    );
    const { rows } = decode(Buffer.concat(members), 100_000);
    for (const compression of ['SNAPPY', 'UNCOMPRESSED'] as const) {
      const encoder = createParquetEncoder({ schema: 'content', compression, rowGroupPayloadBytes: 50_000 }).open();
      const first = await encoder.writeRowGroup(rows.slice(0, 4));
      const copied = first.map((piece) => Buffer.from(piece));
      // The page buffer the encoder reuses between pages is written again by these calls.
      const later = [...(await encoder.writeRowGroup(rows.slice(4))), ...(await encoder.finish())];
      expect(first.length).toBeGreaterThan(1);
      first.forEach((piece, index) => expect(Buffer.from(piece).equals(copied[index] as Buffer)).toBe(true));
      const file = Buffer.concat([...first, ...later]);
      const back = await parquetReadObjects({
        file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength),
        compressors,
        utf8: true,
      });
      expect(back.map((row) => Buffer.from(row['content'] as Uint8Array).length)).toEqual(
        rows.map((row) => row.content?.length),
      );
    }
  });

  it('hyparquet reads back every compression, payloads and strings exact, nulls null', async () => {
    const members = Array.from({ length: 6 }, (_, index) =>
      responseMember(`https://example.com/p${index}`, caseRecordId(index), [], seededPage(index, 10_000)),
    );
    const { rows } = decode(Buffer.concat([...members, zlib.gzipSync(pywbRevisit('https://example.com/r'))]));
    for (const compression of ['SNAPPY', 'GZIP', 'BROTLI', 'UNCOMPRESSED'] as const) {
      const encoder = createParquetEncoder({ schema: 'content', compression, rowGroupPayloadBytes: 25_000 }).open();
      const file = Buffer.concat([...(await encoder.writeRowGroup(rows)), ...(await encoder.finish())]);
      const back = await parquetReadObjects({
        file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength),
        compressors,
        utf8: true,
      });
      expect(back.length).toBe(rows.length);
      back.forEach((row, index) => {
        const expected = rows[index];
        expect(Buffer.from(row['content'] as Uint8Array).equals(Buffer.from(expected?.content ?? []))).toBe(true);
        expect(row['url']).toBe(expected?.url);
        expect(row['http_headers'] ?? null).toBe(expected?.http_headers ?? null);
        expect(row['warc_refers_to'] ?? null).toBe(expected?.warc_refers_to ?? null);
        expect(Number(row['warc_record_offset'])).toBe(expected?.warc_record_offset);
      });
    }
  });

  it('cuts runs of rows at the payload bound, a row past it alone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 150 }),
        (sizes, bound) => {
          const rows = sizes.map((size) => ({ content: new Uint8Array(size) }) as unknown as ExportRow);
          const groups = rowGroupsByPayload(rows, bound);
          expect(groups.flat()).toEqual(rows);
          for (const group of groups) {
            const bytes = group.reduce((sum, row) => sum + (row.content?.length ?? 0), 0);
            expect(group.length === 1 || bytes <= bound).toBe(true);
          }
        },
      ),
    );
  });
});
