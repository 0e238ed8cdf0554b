import type { CaptureRow } from './capture-row.ts';
import type { ByteRange } from './source.ts';

/**
 * What an index row says of its capture beyond where it lies. CommonCrawl's columnar index
 * holds the languages and charset its metadata record gave, and that record follows the
 * response, outside the picked range; a row read from the range takes these where its own
 * record says nothing.
 */
export type IndexedColumns = Partial<
  Pick<CaptureRow, 'content_languages' | 'content_charset' | 'content_mime_detected' | 'content_digest'>
>;

/** A range an index picked, with the columns its row held (absent when it held none of them). */
export interface PickedRange extends ByteRange {
  readonly indexed?: IndexedColumns;
}

/** One WARC input and where its output goes; the key depends only on the input. */
export interface InputRef {
  /** Where to read it: a local path, `https://…` URL or `s3://bucket/key`. */
  readonly uri: string;
  /** Size in bytes when known from a listing; the source is asked otherwise, when a worker claims it. */
  readonly sizeBytes?: number;
  /** `warc_filename`: path relative to the input root (for CommonCrawl `crawl-data/…`, from above `crawl-data/`). */
  readonly filename: string;
  readonly crawl: string | null;
  readonly subset: string | null;
  readonly segment: string | null;
  /**
   * The byte ranges an index picked (`--input index:…`): only these records are read, each
   * range one record. Sorted by offset, each once, none overlapping (request-plan.ts); absent
   * for a whole-file input. The ranges (not their indexed columns) are part of the job's
   * identity and of its output key.
   */
  readonly picks?: readonly PickedRange[];
  /**
   * The indexed columns of the one picked range being read, set by the subset's decoder for
   * the row builder (picked-range-decoder.ts); never on an enqueued input.
   */
  readonly indexed?: IndexedColumns;
}

/** A job the ledger leased to this worker. */
export interface ClaimedJob {
  readonly jobId: string;
  readonly input: InputRef;
  readonly sizeBytes: number;
  /** The ledger's attempt number: fences every later write for this lease. */
  readonly attempt: number;
  /** Object key of the output, below the output root. */
  readonly outputKey: string;
}

/**
 * A job as the ledger hands it out. Its size is null when the input was enqueued without one
 * (a `warc.paths` manifest lists paths only): the worker that claims it asks the source, once
 * a claim, so a fleet asks once a file instead of every worker once a file at start.
 */
export interface LeasedJob extends Omit<ClaimedJob, 'sizeBytes'> {
  readonly sizeBytes: number | null;
}

/** A lease as the ledger knows it: a job, who holds it and with which attempt. */
export interface Lease {
  readonly jobId: string;
  readonly attempt: number;
}
