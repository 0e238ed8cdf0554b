import { at } from '../../core/checked-access.ts';

/**
 * The bytes of a capture's HTTP body (or a resource record's block) as the parser meets them,
 * copied out of the inflated piece so that a held payload never pins a whole chunk, and held
 * only up to a bound: past it the bytes are counted, not kept.
 */
export interface RawPayload {
  /** The first `heldBytesMax` bytes of the body, as sent. */
  readonly bytes: Buffer;
  /** Bytes of the body in the record, held or not. */
  readonly totalBytes: number;
}

export class PayloadCollector {
  private pieces: Buffer[] = [];
  private held = 0;
  private total = 0;

  constructor(private readonly heldBytesMax: number) {}

  add(bytes: Buffer, start: number, end: number): void {
    this.total += end - start;
    const room = this.heldBytesMax - this.held;
    if (room <= 0) return;
    const taken = Math.min(room, end - start);
    this.pieces.push(Buffer.from(bytes.subarray(start, start + taken)));
    this.held += taken;
  }

  take(): RawPayload {
    const bytes = this.pieces.length === 1 ? at(this.pieces, 0) : Buffer.concat(this.pieces, this.held);
    this.pieces = [];
    return { bytes, totalBytes: this.total };
  }
}
