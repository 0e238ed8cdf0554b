/**
 * Where the row filter runs in the decoder: after a capture's metadata record is joined (so a
 * condition on content_languages or content_charset sees them), once a capture, and a capture
 * left out is counted as skipped `filtered_out`, never as damage; a file whose every capture is
 * left out is no failure.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { sharedFixture } from '../support/shared-fixtures.ts';

const file = sharedFixture('resiliparse/cc-2020-34-excerpt.warc.gz');
const input: InputRef = { uri: file, filename: 'cc-2020-34-excerpt.warc.gz', crawl: null, subset: null, segment: null };

function decode(keep?: (row: CaptureRow) => boolean) {
  const decoder = new WarcDecoder(keep === undefined ? {} : { keep }).open(input);
  return decoder.push(readFileSync(file), true);
}

describe('the decoder with a row filter', () => {
  it('asks it once a capture, with the metadata record joined', () => {
    const all = decode();
    // Languages and charsets come from the metadata record after each response (CommonCrawl's).
    const english = (row: CaptureRow) => row.content_languages?.split(',').includes('eng') === true;
    expect(all.rows.filter(english).length).toBeGreaterThan(0);
    expect(all.rows.filter(english).length).toBeLessThan(all.rows.length);
    const seen: CaptureRow[] = [];
    const kept = decode((row) => {
      seen.push(row);
      return english(row);
    });
    expect(seen).toEqual(all.rows);
    expect(kept.rows).toEqual(all.rows.filter(english));
    expect(kept.counters.skippedByReason).toEqual({ filtered_out: all.rows.length - kept.rows.length });
    expect(kept.counters.badByReason).toEqual(all.counters.badByReason);
    expect(kept.counters.byType).toEqual(all.counters.byType);
  });

  it('ends a file whose every capture is left out without failing it', () => {
    const none = decode(() => false);
    expect(none.rows).toEqual([]);
    expect(none.counters.skippedByReason?.filtered_out).toBe(decode().rows.length);
  });
});
