/**
 * The subset decoder (adapters/warc/picked-range-decoder.ts) on real files: a CommonCrawl
 * excerpt (one gzip member a record) and a plain WARC. Picking every other capture by the
 * offsets and lengths the whole-file decoder gives, and handing the picked bytes in chunks cut
 * anywhere, gives exactly those captures' rows, offsets the file's, with the metadata record's
 * columns null (it is not in a picked range), or the index row's where the index holds them,
 * seen by the row filter, the record's own values winning. A range into the middle of a record is one bad
 * record, `pick_not_a_record`, and the other ranges still give their rows; a subset none of
 * whose ranges starts a record fails as a file of bad records does.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef, PickedRange } from '../../core/input-ref.ts';
import type { ByteRange } from '../../core/source.ts';
import { PickedRangeDecoder } from '../../adapters/warc/picked-range-decoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

function inputOf(name: string, picks?: readonly ByteRange[]): InputRef {
  return { uri: name, filename: name, crawl: null, subset: null, segment: null, ...(picks && { picks }) };
}

function wholeRows(name: string, bytes: Uint8Array): CaptureRow[] {
  return new WarcDecoder().open(inputOf(name)).push(bytes, true).rows;
}

function pickedBytes(file: Uint8Array, picks: readonly ByteRange[]): Uint8Array {
  return Buffer.concat(picks.map((pick) => file.subarray(pick.offsetBytes, pick.offsetBytes + pick.lengthBytes)));
}

/** Pushes `bytes` cut at `cuts` (fractions of its length), the last push final. */
function decodeInChunks(input: InputRef, bytes: Uint8Array, cuts: readonly number[]) {
  const decoder = new PickedRangeDecoder(new WarcDecoder()).open(input);
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.length)))].sort((a, b) => a - b);
  const bounds = [0, ...points, bytes.length];
  const rows: CaptureRow[] = [];
  const bad: Record<string, number> = {};
  for (let index = 1; index < bounds.length; index += 1) {
    const decoded = decoder.push(bytes.subarray(bounds[index - 1], bounds[index]), index === bounds.length - 1);
    rows.push(...decoded.rows);
    for (const [code, count] of Object.entries(decoded.counters.badByReason))
      bad[code] = (bad[code] ?? 0) + (count ?? 0);
  }
  return { rows, bad };
}

/** A row without the columns a subset cannot know (the metadata record's). */
function withoutMetadata(row: CaptureRow): Partial<CaptureRow> {
  const { content_languages: _languages, content_charset: _charset, ...rest } = row;
  return rest;
}

/** Two plain WARC files of one capture each, one after the other: a plain WARC of two captures. */
const plainWarc = Buffer.concat(
  ['warcio-js/redirect.warc', 'warcio/example-iana.org-chunked.warc'].map((name) =>
    readFileSync(join(sharedFixtureRoot, name)),
  ),
);
const files: [string, Uint8Array][] = [
  [
    'resiliparse/cc-2020-34-excerpt.warc.gz',
    new Uint8Array(readFileSync(join(sharedFixtureRoot, 'resiliparse/cc-2020-34-excerpt.warc.gz'))),
  ],
  ['two plain captures.warc', new Uint8Array(plainWarc)],
];

for (const [name, file] of files) {
  describe(`picked ranges of ${name}`, () => {
    const whole = wholeRows(name, file);
    const chosen = whole.filter((_, index) => index % 2 === 0);
    const picks = chosen.map((row) => ({ offsetBytes: row.warc_record_offset, lengthBytes: row.warc_record_length }));

    it('give exactly the picked captures, however the bytes are cut', () => {
      expect(chosen.length).toBeGreaterThan(0);
      fc.assert(
        fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (cuts) => {
          const { rows, bad } = decodeInChunks(inputOf(name, picks), pickedBytes(file, picks), cuts);
          expect(rows.map(withoutMetadata)).toEqual(chosen.map(withoutMetadata));
          expect(bad).toEqual({});
        }),
        { numRuns: 25 },
      );
    });

    it("take the index's languages and charset where the record has none, before the row filter, its own values winning", () => {
      // The index's values are the whole file's (its metadata records'): the rows are the whole file's rows.
      const indexedPicks: PickedRange[] = chosen.map((row) => ({
        offsetBytes: row.warc_record_offset,
        lengthBytes: row.warc_record_length,
        indexed: {
          content_languages: row.content_languages ?? 'zxx',
          content_charset: row.content_charset ?? 'UTF-8',
          content_mime_detected: 'application/x-index-says',
          content_digest: 'INDEXSAYS',
        },
      }));
      const filled = chosen.map((row) => ({
        ...row,
        content_languages: row.content_languages ?? 'zxx',
        content_charset: row.content_charset ?? 'UTF-8',
        content_mime_detected: row.content_mime_detected ?? 'application/x-index-says',
        content_digest: row.content_digest ?? 'INDEXSAYS',
      }));
      const { rows } = decodeInChunks(inputOf(name, indexedPicks), pickedBytes(file, indexedPicks), [0.5]);
      expect(rows).toEqual(filled);
      const language = filled[0]?.content_languages;
      const keep = (row: CaptureRow): boolean => row.content_languages === language;
      const decoder = new PickedRangeDecoder(new WarcDecoder({ keep })).open(inputOf(name, indexedPicks));
      const kept = decoder.push(pickedBytes(file, indexedPicks), true);
      expect(kept.rows).toEqual(filled.filter(keep));
      expect(kept.counters.skippedByReason?.filtered_out ?? 0).toBe(filled.length - kept.rows.length);
    });

    it('count a range into the middle of a record as one bad record, and read the others', () => {
      const all = whole.map((row) => ({ offsetBytes: row.warc_record_offset, lengthBytes: row.warc_record_length }));
      const [first, ...rest] = all;
      if (first === undefined || rest.length === 0) throw new Error('the file has fewer than two captures');
      const shifted = { offsetBytes: first.offsetBytes + 7, lengthBytes: first.lengthBytes - 7 };
      const ranges = [shifted, ...rest];
      const { rows, bad } = decodeInChunks(inputOf(name, ranges), pickedBytes(file, ranges), []);
      expect(bad).toEqual({ pick_not_a_record: 1 });
      expect(rows.map(withoutMetadata)).toEqual(whole.slice(1).map(withoutMetadata));
    });

    it('fail a subset none of whose ranges starts a record', () => {
      const ranges = picks.slice(0, 1).map((pick) => ({ offsetBytes: pick.offsetBytes + 7, lengthBytes: 20 }));
      expect(() => decodeInChunks(inputOf(name, ranges), pickedBytes(file, ranges), [])).toThrow(FailureError);
    });
  });
}
