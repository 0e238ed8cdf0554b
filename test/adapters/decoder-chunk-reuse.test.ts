/**
 * A decoder keeps nothing of a chunk once its push returns, so that a caller may read the next
 * chunk into the same memory (a pool of chunk buffers; the split path's shared chunks are
 * kept until placed). Every file here is decoded twice, in chunks
 * cut alike: once from fresh copies, once from one buffer that is overwritten after each push,
 * as a reused chunk is. A row, a carried line or a held record that still pointed into a chunk
 * would come out different. Plain WARC and ARC (read in place, never inflated), gzip members
 * straddling chunks, whole-file gzip, WET and WAT blocks, chunked transfer coding and a
 * subset's picked ranges; both schemas.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { OutputSchema } from '../../core/capture-row.ts';
import type { DecodedChunk } from '../../core/decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange } from '../../core/source.ts';
import { PickedRangeDecoder } from '../../adapters/warc/picked-range-decoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { sampleCaptures, writeArc } from '../fixtures-gen/heritrix-like-arc.ts';

interface Case {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly picks?: readonly ByteRange[];
}

function fixture(path: string): Buffer {
  return readFileSync(join(sharedFixtureRoot, path));
}

function inputOf(name: string, picks?: readonly ByteRange[]): InputRef {
  return { uri: name, filename: name, crawl: null, subset: null, segment: null, ...(picks && { picks }) };
}

/** The bytes overwriting a reused chunk: what a held view of it would read. */
const scribble = 0x41;

/** Decodes `bytes` in chunks of `chunkBytes`; with `reuse`, every chunk is pushed from one buffer overwritten after the push. */
function decode(
  input: InputRef,
  bytes: Uint8Array,
  chunkBytes: number,
  reuse: boolean,
  schema: OutputSchema,
  fullInflate: boolean,
): DecodedChunk[] {
  const output = { schema, contentBytesMax: 64 * 1024 };
  const decoder = new PickedRangeDecoder(new WarcDecoder({ output, fullInflate })).open(input);
  const memory = new Uint8Array(new SharedArrayBuffer(chunkBytes));
  const pushed: DecodedChunk[] = [];
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const piece = bytes.subarray(at, at + chunkBytes);
    const chunk = reuse ? memory.subarray(0, piece.length) : Uint8Array.from(piece);
    chunk.set(piece);
    pushed.push(decoder.push(chunk, at + chunkBytes >= bytes.length));
    if (reuse) memory.fill(scribble);
  }
  return pushed;
}

/** A subset of a plain WARC: every capture's own range, as an index names them. */
function pickedCase(name: string, file: Uint8Array): Case {
  const rows = new WarcDecoder().open(inputOf(name)).push(file, true).rows;
  const picks = rows.map((row) => ({ offsetBytes: row.warc_record_offset, lengthBytes: row.warc_record_length }));
  const bytes = Buffer.concat(
    picks.map((pick) => file.subarray(pick.offsetBytes, pick.offsetBytes + pick.lengthBytes)),
  );
  return { name, bytes, picks };
}

function cases(): Case[] {
  const excerpt = fixture('resiliparse/cc-2020-34-excerpt.warc.gz');
  const plainExcerpt = zlib.gunzipSync(excerpt);
  const whirlwind = fixture('commoncrawl/whirlwind.warc.gz');
  const arc = writeArc(sampleCaptures(), { name: 'sample.arc', gzip: false }).bytes;
  const arcGz = writeArc(sampleCaptures(), { name: 'sample.arc.gz', gzip: true }).bytes;
  return [
    { name: 'excerpt.warc', bytes: plainExcerpt },
    { name: 'excerpt.warc.gz', bytes: excerpt },
    { name: 'whole-file.warc.gz', bytes: zlib.gzipSync(zlib.gunzipSync(whirlwind)) },
    { name: 'example-iana.org-chunked.warc', bytes: fixture('warcio/example-iana.org-chunked.warc') },
    { name: 'example-bad-length.warc', bytes: fixture('warcio-js/example-bad-length.warc') },
    { name: 'fold.warc', bytes: fixture('jwarc/fold.warc') },
    { name: 'whirlwind.warc.wet.gz', bytes: fixture('commoncrawl/whirlwind.warc.wet.gz') },
    { name: 'whirlwind.warc.wat.gz', bytes: fixture('commoncrawl/whirlwind.warc.wat.gz') },
    { name: 'sample.arc', bytes: arc },
    { name: 'sample.arc.gz', bytes: arcGz },
    pickedCase('excerpt.warc', plainExcerpt),
  ];
}

/**
 * Each push's rows and counters as text, payloads in base64: deep equality of rows that hold
 * payloads took seconds a file.
 */
function texts(pushed: readonly DecodedChunk[]): string[] {
  const replacer = (_key: string, value: unknown): unknown =>
    value instanceof Uint8Array
      ? Buffer.from(value).toString('base64')
      : typeof value === 'bigint'
        ? String(value)
        : value;
  return pushed.flatMap((chunk) => [
    JSON.stringify(chunk.counters),
    ...chunk.rows.map((row) => JSON.stringify(row, replacer)),
  ]);
}

/** Cut sizes: odd ones, so that lines, headers, members and picks straddle chunks everywhere. */
const chunkSizes = [211, 4099, 65_537];

describe('a decoder keeps nothing of a chunk once its push returns', () => {
  const all = cases();
  // The content schema inflates every member whole whatever `--inflate` says.
  const configs = [
    { schema: 'index', fullInflate: false },
    { schema: 'index', fullInflate: true },
    { schema: 'content', fullInflate: true },
  ] as const;
  for (const { schema, fullInflate } of configs) {
    it(`gives the same rows from reused chunk memory as from fresh chunks (${schema}, inflate ${fullInflate ? 'full' : 'head-only'})`, () => {
      let rows = 0;
      for (const { name, bytes, picks } of all) {
        const input = inputOf(name, picks);
        for (const chunkBytes of chunkSizes) {
          const fresh = decode(input, bytes, chunkBytes, false, schema, fullInflate);
          const reused = decode(input, bytes, chunkBytes, true, schema, fullInflate);
          expect(texts(reused), `${name} in chunks of ${chunkBytes}`).toEqual(texts(fresh));
          rows += fresh.reduce((sum, pushed) => sum + pushed.rows.length, 0);
        }
      }
      expect(rows).toBeGreaterThan(100);
    });
  }
});
