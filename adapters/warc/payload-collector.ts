import { at } from '../../core/checked-access.ts';

/**
 * The bytes of a capture's HTTP body (or a resource record's block) as the parser meets them,
 * copied out of the piece they came in so that a held payload never pins a whole chunk, and held
 * only up to a bound: past it the bytes are counted, not kept. A piece of its own (a member's
 * inflated output, `Segment.owned`) of which the payload is at least half is kept as a view
 * instead: in a file of one member a record that is every capture, and the view pins at most
 * twice its bytes. The copy was 3.5 % of the content export's CPU thread (docs/figures.md).
 */
export interface RawPayload {
  /** The first `heldBytesMax` bytes of the body, as sent. */
  readonly bytes: Buffer;
  /** Bytes of the body in the record, held or not. */
  readonly totalBytes: number;
}

/** A payload is kept as a view of its piece when it is at least 1/viewShareMin of it. */
const viewShareMin = 2;

export class PayloadCollector {
  private pieces: Buffer[] = [];
  private held = 0;
  private total = 0;

  constructor(private readonly heldBytesMax: number) {}

  add(bytes: Buffer, start: number, end: number, owned = false): void {
    this.total += end - start;
    const room = this.heldBytesMax - this.held;
    if (room <= 0) return;
    const taken = Math.min(room, end - start);
    const view = bytes.subarray(start, start + taken);
    this.pieces.push(owned && taken * viewShareMin >= bytes.length ? view : Buffer.from(view));
    this.held += taken;
  }

  take(): RawPayload {
    const bytes = this.pieces.length === 1 ? at(this.pieces, 0) : Buffer.concat(this.pieces, this.held);
    this.pieces = [];
    return { bytes, totalBytes: this.total };
  }
}
