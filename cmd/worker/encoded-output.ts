import { assert } from '../../core/failure.ts';

/**
 * The encoded bytes of one output object between the encoder and the uploads. The core cuts
 * them into parts by offset; a part's bytes are copied out once, on its first upload attempt,
 * and kept with the part until it is uploaded (a retry sends the same bytes). Segments are
 * freed as soon as every byte in them has been taken into a part.
 */
export class EncodedOutput {
  private readonly segments: { offset: number; bytes: Uint8Array }[] = [];
  private length = 0;
  /** End of the prefix of the object already taken into parts. */
  private takenUpTo = 0;
  /** Taken ranges past `takenUpTo`, start → end, when parts are taken out of order. */
  private readonly takenAhead = new Map<number, number>();

  get lengthBytes(): number {
    return this.length;
  }

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.segments.push({ offset: this.length, bytes });
    this.length += bytes.length;
  }

  /** Copies out bytes [offset, offset + lengthBytes) and frees what no later part needs. */
  take(offset: number, lengthBytes: number): Uint8Array {
    assert(
      offset >= this.takenUpTo && offset + lengthBytes <= this.length,
      `part [${offset}, +${lengthBytes}) is outside the encoded bytes`,
    );
    const part = new Uint8Array(lengthBytes);
    for (const segment of this.segments) {
      const start = Math.max(offset, segment.offset);
      const end = Math.min(offset + lengthBytes, segment.offset + segment.bytes.length);
      if (start < end) part.set(segment.bytes.subarray(start - segment.offset, end - segment.offset), start - offset);
    }
    this.markTaken(offset, offset + lengthBytes);
    return part;
  }

  private markTaken(start: number, end: number): void {
    this.takenAhead.set(start, end);
    // Bounded by the number of parts taken ahead: each pass consumes one entry.
    for (
      let next = this.takenAhead.get(this.takenUpTo);
      next !== undefined;
      next = this.takenAhead.get(this.takenUpTo)
    ) {
      this.takenAhead.delete(this.takenUpTo);
      this.takenUpTo = next;
    }
    while (this.segments.length > 0) {
      const first = this.segments[0] as { offset: number; bytes: Uint8Array };
      if (first.offset + first.bytes.length > this.takenUpTo) break;
      this.segments.shift();
    }
  }
}
