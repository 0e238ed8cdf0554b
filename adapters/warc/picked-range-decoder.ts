/**
 * The decoder of a subset (`--input index:…`): it reads the picked bytes the source hands on
 * (each request's picks, gaps dropped, in pick order: core/request-plan.ts), cuts them by the
 * picks' lengths, and reads each picked range alone as one record: one gzip member of a
 * CommonCrawl file, or one record of a plain WARC. Offsets in the rows are the file's.
 *
 * A range that does not start a record (an offset into the middle of one, a stale index) is a
 * bad record, `pick_not_a_record`, counted; the ranges after it are read all the same. A
 * CommonCrawl capture's metadata record (languages, charset) follows its response and lies
 * outside the index's range: a row takes those columns from the index row that picked it
 * when the index holds them (`PickedRange.indexed`), before the row filter sees it, and has
 * them null otherwise.
 */
import type { CaptureRow } from '../../core/capture-row.ts';
import type { DecodedChunk, Decoder, JobDecoder, ResumePoint } from '../../core/decoder.ts';
import { FailureError, inputFault } from '../../core/failure.ts';
import type { InputRef, PickedRange } from '../../core/input-ref.ts';
import { addRecordCounters, emptyRecordCounters, type RecordCounters } from '../../core/record-counters.ts';

/** Decodes whole files with `whole`, and the picked ranges of a subset one by one with it. */
export class PickedRangeDecoder implements Decoder {
  constructor(private readonly whole: Decoder) {}

  open(input: InputRef, resume?: ResumePoint): JobDecoder {
    return input.picks === undefined
      ? this.whole.open(input, resume)
      : new PickedRangesJobDecoder(input, input.picks, this.whole);
  }
}

const notARecord: RecordCounters = { ...emptyRecordCounters, badByReason: { pick_not_a_record: 1 } };

export class PickedRangesJobDecoder implements JobDecoder {
  /** Bytes of the pick being gathered; a request carries whole picks, so this is rarely used. */
  private carry: Uint8Array[] = [];
  private carryBytes = 0;
  private nextPick = 0;
  private rowsTotal = 0;
  private badPicks = 0;

  constructor(
    private readonly input: InputRef,
    private readonly picks: readonly PickedRange[],
    private readonly whole: Decoder,
  ) {}

  push(chunk: Uint8Array, final: boolean): DecodedChunk {
    const rows: CaptureRow[] = [];
    let rowBytes = 0;
    let counters = emptyRecordCounters;
    let at = 0;
    // Each turn ends one pick or uses up the chunk: at most picks + 1 turns.
    while (this.nextPick < this.picks.length) {
      const pick = this.picks[this.nextPick] ?? { offsetBytes: 0, lengthBytes: 0 };
      const wanted = pick.lengthBytes - this.carryBytes;
      const taken = chunk.subarray(at, at + wanted);
      at += taken.length;
      if (taken.length < wanted) {
        // Copied: a caller may reuse the chunk's memory once this push returns (test/adapters/decoder-chunk-reuse.test.ts).
        this.carry.push(Uint8Array.prototype.slice.call(taken));
        this.carryBytes += taken.length;
        break;
      }
      const bytes = this.carry.length === 0 ? taken : Buffer.concat([...this.carry, taken]);
      this.carry = [];
      this.carryBytes = 0;
      this.nextPick += 1;
      const decoded = this.decodePick(pick, bytes);
      for (const row of decoded.rows) rows.push(row);
      rowBytes += decoded.rowBytes;
      counters = addRecordCounters(counters, decoded.counters);
    }
    if (final) this.finish();
    return { rows, rowBytes, counters };
  }

  private decodePick(pick: PickedRange, bytes: Uint8Array): DecodedChunk {
    const input = pick.indexed === undefined ? this.input : { ...this.input, indexed: pick.indexed };
    try {
      const decoded = this.whole.open(input).push(bytes, true);
      for (const row of decoded.rows) row.warc_record_offset += pick.offsetBytes;
      this.rowsTotal += decoded.rows.length;
      return decoded;
    } catch (error) {
      // The whole-file decoder found no record in the range: it does not start one.
      if (!(error instanceof FailureError) || error.failure.fault !== 'input') throw error;
      this.badPicks += 1;
      return { rows: [], rowBytes: 0, counters: notARecord };
    }
  }

  /** As a whole file that gives no row while records were bad: a subset that lost every pick fails. */
  private finish(): void {
    if (this.nextPick < this.picks.length)
      throw new Error(`invariant broken: ${this.picks.length - this.nextPick} picks of ${this.input.uri} never came`);
    if (this.rowsTotal === 0 && this.badPicks > 0)
      throw new FailureError(
        inputFault(`${this.input.uri}: no row, none of the ${this.badPicks} picked ranges starts a record`),
      );
  }
}
