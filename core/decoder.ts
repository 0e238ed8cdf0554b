import type { CaptureRow } from './capture-row.ts';
import type { InputRef } from './input-ref.ts';
import type { RecordCounters } from './record-counters.ts';

/** What decoding one chunk yields: the rows of records completed so far, and counts. */
export interface DecodedChunk {
  readonly rows: CaptureRow[];
  /** Estimated in-memory size of the rows, for the memory budget. */
  readonly rowBytes: number;
  readonly counters: RecordCounters;
}

/**
 * Turns the chunks of one input, fed in order, into rows. Stateful: a record that straddles
 * two chunks is carried over. Bad records are counted in `counters.badByReason`, never thrown;
 * a file that is not WARC at all throws a `FailureError` with an input fault.
 */
export interface JobDecoder {
  push(chunk: Uint8Array, final: boolean): DecodedChunk;
}

/**
 * Where a decode in order starts after split decoding fell back (core/split-decode.ts): a
 * record boundary, and what the accepted chunks before it read. The rules on the whole file
 * (a file that gives no row because every record was bad fails) are judged on that and what
 * the decoder reads itself, so a file is judged alike however its chunks were decoded.
 */
export interface ResumePoint {
  /** Input offset the decoder starts at: the records before it are exported already. */
  readonly atBytes: number;
  /** Rows the records before it gave. */
  readonly rowsBefore: number;
  /** Their counts. */
  readonly countersBefore: RecordCounters;
}

export interface Decoder {
  /** `resume`: the decoder starts there, not at the file's start (see `ResumePoint`). */
  open(input: InputRef, resume?: ResumePoint): JobDecoder;
}
