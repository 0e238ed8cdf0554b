import type { CaptureRow } from './capture-row.ts';

/**
 * Turns the rows of one job into the bytes of one output object, row group by row group, so
 * parts can upload before the object ends. The concatenation of everything returned, in order,
 * is the whole object.
 */
export interface JobEncoder {
  /** Encodes one row group and returns the bytes it added to the object. */
  writeRowGroup(rows: readonly CaptureRow[]): Promise<Uint8Array>;
  /** Writes the footer and returns the last bytes of the object. */
  finish(): Promise<Uint8Array>;
}

export interface Encoder {
  /** File name extension of the objects it writes, e.g. `.parquet`. */
  readonly extension: string;
  open(): JobEncoder;
}
