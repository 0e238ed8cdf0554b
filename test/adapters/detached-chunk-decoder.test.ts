/**
 * Detached chunk decodes (adapters/warc/detached-chunk-decoder.ts) put together by the core's
 * rule (core/split-decode.ts: accept in order when offsets meet, decode again from the previous
 * end after a false boundary, fall back to the decoder in order otherwise) give the rows and
 * counts of the decoder in order, on CommonCrawl-like files and on a file whose payload holds a
 * stored `.warc.gz` record (a false boundary).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeDetachedChunk } from '../../adapters/warc/detached-chunk-decoder.ts';
import type { WarcJobDecoderOptions } from '../../adapters/warc/warc-decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { type AdversarialFile, fileBytes } from '../fixtures-gen/adversarial-warc.ts';
import { falseBoundaryWarc } from '../support/false-boundary-warc.ts';
import { chunksOf, decodeInOrder, decodeSplit, expectSameDecode, inputNamed } from '../support/split-harness.ts';

const input: InputRef = inputNamed('t.warc.gz');

const inOrder = (chunks: readonly Buffer[], options: WarcJobDecoderOptions) => decodeInOrder(input, chunks, options);
const split = (chunks: readonly Buffer[], options: WarcJobDecoderOptions) => decodeSplit(input, chunks, options);

function commonCrawlLike(bytes: number, seed: number): Buffer {
  const folder = mkdtempSync(join(tmpdir(), 'detached-'));
  const file = join(folder, 'cc.warc.gz');
  writeCommonCrawlLikeWarc(file, bytes, seed);
  return readFileSync(file);
}

function record(type: string, uri: string, block: Buffer): Buffer {
  const head =
    `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Date: 2024-05-18T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:${uri.length}-${block.length}>\r\n` +
    `WARC-Target-URI: ${uri}\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: ${block.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), block, Buffer.from('\r\n\r\n')]);
}

describe('detached chunk decodes under the split rule', () => {
  for (const fullInflate of [false, true]) {
    it(`give the rows and counts of the decoder in order (${fullInflate ? 'full' : 'head-only'} inflate)`, () => {
      const bytes = commonCrawlLike(3_000_000, 7);
      for (const chunkBytes of [200_000, 333_333, 1_000_000]) {
        const chunks = chunksOf(bytes, chunkBytes);
        const expected = inOrder(chunks, { fullInflate });
        const got = split(chunks, { fullInflate });
        expect(got.fellBackAt).toBeNull();
        expect(got.rows).toEqual(expected.rows);
        expect(got.counters).toEqual(expected.counters);
      }
    });
  }

  it('gives the content schema its rows too', () => {
    const bytes = commonCrawlLike(600_000, 11);
    const chunks = chunksOf(bytes, 150_000);
    const options: WarcJobDecoderOptions = { output: { schema: 'content', contentBytesMax: 64 * 1024 } };
    expect(split(chunks, options).rows).toEqual(inOrder(chunks, options).rows);
  });

  it('reads each record once where a payload holds a false boundary', () => {
    const bytes = falseBoundaryWarc(120);
    let redoneSomewhere = false;
    for (const chunkBytes of [1_000, 1_500, 2_000, 3_000]) {
      const chunks = chunksOf(bytes, chunkBytes);
      const expected = inOrder(chunks, {});
      const got = split(chunks, {});
      expect(got.rows).toEqual(expected.rows);
      expect(got.counters).toEqual(expected.counters);
      redoneSomewhere ||= got.redone > 0;
    }
    expect(redoneSomewhere).toBe(true);
  });

  it('answers not splittable for a whole-file gzip, and needsMore for a record longer than two chunks', () => {
    const whole = gzipSync(
      Buffer.concat([0, 1, 2, 3].map((index) => record('resource', `https://w/${index}`, Buffer.alloc(50_000, 97)))),
    );
    const chunks = chunksOf(whole, 200);
    const first = decodeDetachedChunk(
      input,
      {},
      {
        chunk: chunks[0] as Buffer,
        next: chunks[1] ?? null,
        nextFinal: chunks.length === 2,
        chunkOffset: 0,
        startBytes: 0,
      },
    );
    expect(first.needsMore || !first.splittable).toBe(true);
    expect(split(chunks, {}).rows).toEqual(inOrder(chunks, {}).rows);
  });

  it('joins a metadata record across a damaged record at a chunk end, as the decoder in order does', () => {
    // Found by detached-chunk-fuzz.test.ts: a response, a warcinfo whose member has a byte
    // flipped, then the response's metadata record. Chunk 0 ended its capture at the warcinfo,
    // without the metadata; the decoder in order joins them (a damaged record ends no capture).
    const stored = {
      extra: false,
      name: false,
      comment: false,
      headerCrc: false,
      level: 0,
      emptyBefore: false,
      joinsPrevious: false,
    } as const;
    const file: AdversarialFile = {
      records: [
        { type: 'response', uri: 3, payload: [{ kind: 'stored record', type: 'warcinfo', deflated: false }] },
        { type: 'warcinfo', uri: 0, payload: [] },
        { type: 'metadata', uri: 3, payload: [] },
      ],
      layout: { kind: 'members', styles: [stored] },
      naming: 'warc',
      damage: { kind: 'flip', perMille: 514 },
    };
    const chunks = chunksOf(fileBytes(file), 400);
    const expected = inOrder(chunks, {});
    expect(expected.rows.map((row) => row.content_charset)).toEqual(['UTF-8']);
    expectSameDecode(split(chunks, {}), expected, 'flipped warcinfo between a response and its metadata');
  });
});
