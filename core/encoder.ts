import type { CaptureRow } from './capture-row.ts';

/**
 * Turns the rows of one job into the bytes of one output object, row group by row group, so
 * parts can upload before the object ends. Each call hands back the pieces it wrote (pages,
 * headers, metadata) as they are, not joined: joining them was a copy of the whole output and
 * fresh memory for it (docs/figures.md, "Content export"). The concatenation of every piece
 * returned, in order, is the whole object. A piece is the caller's: the encoder never writes
 * into it again.
 */
export interface JobEncoder {
  /** Encodes one row group (or more) and returns the pieces it added to the object, in order. */
  writeRowGroup(rows: readonly CaptureRow[]): Promise<readonly Uint8Array[]>;
  /** Writes the footer and returns the object's last pieces. */
  finish(): Promise<readonly Uint8Array[]>;
}

/**
 * Row groups encoded apart from their object, so several threads can encode the rows of one
 * job at once: offsets in `footerEntries` count from `bytes`' first byte, and `Encoder.footer`
 * moves them to where the bytes land in the object. Both are plain bytes, so the whole value
 * crosses threads by structured clone.
 */
export interface DetachedRowGroups {
  /** The row groups' bytes, to be placed in the object as they are. */
  readonly bytes: Uint8Array;
  /** What the footer needs of these row groups; opaque to everyone but the encoder that made it. */
  readonly footerEntries: Uint8Array;
  readonly rowCount: number;
}

/** Where one call's `DetachedRowGroups` landed in the object. */
export interface PlacedRowGroups {
  readonly footerEntries: Uint8Array;
  /** The position of the group's first byte in the object (after `Encoder.head`). */
  readonly offsetBytes: number;
}

export interface Encoder {
  /** File name extension of the objects it writes, e.g. `.parquet`. */
  readonly extension: string;
  open(): JobEncoder;
  /**
   * Encodes rows into one or more row groups standing alone (split as `writeRowGroup` splits
   * them). No rows give empty bytes and no footer entries.
   */
  encodeDetached(rows: readonly CaptureRow[]): Promise<DetachedRowGroups>;
  /** The object's first bytes (Parquet's magic `PAR1`). */
  readonly head: Uint8Array;
  /**
   * The object's last bytes: the footer of the given row groups, in the object's order, each
   * starting at its `offsetBytes`. Typically the object is `head`, every call's `bytes` in row
   * order, then this footer. Throws if a placement starts inside `head` or the group before it.
   */
  footer(groups: readonly PlacedRowGroups[]): Promise<Uint8Array>;
}
