import type { Segment } from './warc-record-parser.ts';

/**
 * What the decoder asks of a record parser, whatever the archive format: bytes fed in order
 * (plain, or inflated from gzip members), records and damage handed to its sink.
 */
export interface RecordParser {
  /** Records whose header was read so far. */
  readonly recordCount: number;
  feed(segment: Segment): void;
  /**
   * Ends the input; true when a record was cut off. `endedInsideMember` says whether the last
   * gzip member was cut too: where a member is a record, a whole one ends its record.
   */
  finish(endedInsideMember: boolean): boolean;
  /** Forgets the record being read after damage outside the parser (a corrupt gzip member). */
  reset(): void;
}
