/**
 * Split decoding without the worker: detached chunk decodes (adapters/warc/detached-chunk-decoder.ts)
 * put together by the core's rule (core/split-decode.ts `acceptInOrder`), run in chunk order,
 * against the decoder in order on the same chunks. The rule's checks come in the core's order:
 * an answer that starts elsewhere than the accepted chunks' end (a false boundary) is decoded
 * again from it; then an answer that needs more or is not splittable sends the file back to
 * the decoder in order from that end; any other is accepted.
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { decodeDetachedChunk, type DetachedDecode } from '../../adapters/warc/detached-chunk-decoder.ts';
import { WarcDecoder, type WarcJobDecoderOptions } from '../../adapters/warc/warc-decoder.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { ResumePoint } from '../../core/decoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { addRecordCounters, emptyRecordCounters, type RecordCounters, totalCount } from '../../core/record-counters.ts';

/** What a file decoded to: its rows and counts, or the failure the decoder threw. */
export interface Decoded {
  readonly rows: CaptureRow[];
  readonly counters: RecordCounters;
  /** The decoder's failure for the whole file (not WARC, every record bad); null when none. */
  readonly failure: string | null;
  /** Chunks decoded again after a false boundary. */
  readonly redone: number;
  /** The chunk at which the file went back to the decoder in order; null when it did not. */
  readonly fellBackAt: number | null;
  /** Chunks accepted apart. */
  readonly accepted: number;
}

export function chunksOf(bytes: Buffer, chunkBytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkBytes)
    chunks.push(bytes.subarray(offset, offset + chunkBytes));
  return chunks;
}

/** A local input named as the worker names one: the name tells WET and WAT apart. */
export function inputNamed(filename: string): InputRef {
  return { uri: `file:///${filename}`, filename, crawl: null, subset: null, segment: null };
}

/** The decoder in order over `chunks`, from `resumeAt` (in chunk `resumeAt.chunk`) or from the start. */
export function decodeInOrder(
  input: InputRef,
  chunks: readonly Buffer[],
  options: WarcJobDecoderOptions,
  resumeAt: (ResumePoint & { readonly chunk: number }) | null = null,
): Decoded {
  const chunkBytes = chunks[0]?.length ?? 0;
  const from = resumeAt?.chunk ?? 0;
  const decoder = new WarcDecoder(options).open(input, resumeAt ?? undefined);
  const rows: CaptureRow[] = [];
  let counters = emptyRecordCounters;
  try {
    for (let index = from; index < chunks.length; index++) {
      const chunk = chunks[index] ?? Buffer.alloc(0);
      const skip = index === from && resumeAt !== null ? resumeAt.atBytes - index * chunkBytes : 0;
      const part = decoder.push(chunk.subarray(skip), index === chunks.length - 1);
      rows.push(...part.rows);
      counters = addRecordCounters(counters, part.counters);
    }
  } catch (error) {
    return {
      rows,
      counters,
      failure: error instanceof Error ? error.message : String(error),
      redone: 0,
      fellBackAt: null,
      accepted: 0,
    };
  }
  return { rows, counters, failure: null, redone: 0, fellBackAt: null, accepted: 0 };
}

/** The core's rule over detached decodes, in chunk order (the order answers are accepted in). */
export function decodeSplit(input: InputRef, chunks: readonly Buffer[], options: WarcJobDecoderOptions): Decoded {
  const chunkBytes = chunks[0]?.length ?? 0;
  const rows: CaptureRow[] = [];
  let counters = emptyRecordCounters;
  let acceptedEnd = 0;
  let redone = 0;
  for (let index = 0; index < chunks.length; index++) {
    const detached = (startBytes: number | null): DetachedDecode =>
      decodeDetachedChunk(input, options, {
        chunk: chunks[index] ?? Buffer.alloc(0),
        next: chunks[index + 1] ?? null,
        nextFinal: index + 1 === chunks.length - 1,
        chunkOffset: index * chunkBytes,
        startBytes,
      });
    let answer = detached(index === 0 ? 0 : null);
    if (answer.startBytes !== acceptedEnd) {
      redone += 1;
      answer = detached(acceptedEnd);
    }
    if (answer.needsMore || !answer.splittable || !judgedApart(index, answer)) {
      // As the core resumes it: with the accepted chunks' rows and counts, for the whole-file rules.
      const resumeAt =
        index === 0 ? null : { atBytes: acceptedEnd, chunk: index, rowsBefore: rows.length, countersBefore: counters };
      const rest = decodeInOrder(input, chunks, { ...options }, resumeAt);
      const all = { rows: [...rows, ...rest.rows], counters: addRecordCounters(counters, rest.counters) };
      return { ...all, failure: rest.failure, redone, fellBackAt: index, accepted: index };
    }
    rows.push(...answer.rows);
    counters = addRecordCounters(counters, answer.counters);
    acceptedEnd = answer.endBytes;
  }
  return { rows, counters, failure: null, redone, fellBackAt: null, accepted: chunks.length };
}

/** As core/split-decode.ts `judgedApart`: a chunk that read damage, or a chunk 0 that read no record, is decoded in order. */
function judgedApart(index: number, answer: DetachedDecode): boolean {
  if (totalCount(answer.counters.badByReason) > 0) return false;
  return index > 0 || totalCount(answer.counters.byType) > 0;
}

/**
 * The split decode gives what the decoder in order gives: the same rows in the same order, and
 * the same counts or the same failure. A file that fell back after accepted chunks fails as in
 * order, since the decoder resumed is given their rows and counts; a file split whole read no
 * damage and a record in chunk 0, so neither whole-file rule fails it, decoded in order or not.
 */
export function expectSameDecode(got: Decoded, expected: Decoded, label: string): void {
  expectSameRows(got.rows, expected.rows, label);
  expect(got.failure, `${label}: failure`).toBe(expected.failure);
  if (expected.failure === null) expect(got.counters, `${label}: counters`).toEqual(expected.counters);
}

/**
 * Rows compared with node's deep equality, and only the first row that differs through
 * `expect`: vitest's `toEqual` walks a content row's payload bytes one by one, which took
 * minutes over the fixtures where this takes seconds.
 */
function expectSameRows(got: readonly CaptureRow[], expected: readonly CaptureRow[], label: string): void {
  if (isDeepStrictEqual(got, expected)) return;
  const at = got.findIndex((row, index) => !isDeepStrictEqual(row, expected[index]));
  expect(got.length, `${label}: row count`).toBe(expected.length);
  expect(got[at], `${label}: row ${at}`).toEqual(expected[at]);
}
