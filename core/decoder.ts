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

export interface Decoder {
  /**
   * `resumeAtBytes`: the decoder starts at that input offset, a record boundary, with the
   * records before it read elsewhere (split decoding that fell back, core/split-decode.ts): it
   * reads offsets from there, and the rules on the whole file are not its to apply.
   */
  open(input: InputRef, resumeAtBytes?: number): JobDecoder;
}
