import { assert } from '../../core/failure.ts';

interface Segment {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * The encoded bytes of one output object between the encoder and the uploads, as the pieces
 * the encoder handed over (segments). The core cuts them into parts by offset; a part is taken
 * once, on its first upload attempt, as views of the segments it covers, and kept with the
 * part until it is uploaded (a retry sends the same bytes). Nothing is copied: copying each part
 * out was 0.5 CPU-s and fresh memory for every byte of a 144 MB export (docs/figures.md,
 * "Content export"). No one writes into a segment after it is appended, so a view stays what it
 * was. Segments are dropped here as soon as every byte in them has been taken into a part; a
 * part's views keep their buffers alive until it is uploaded, at most one segment more than
 * its own bytes at each of its ends.
 */
export class EncodedOutput {
  private readonly segments: Segment[] = [];
  private length = 0;
  /** End of the prefix of the object already taken into parts. */
  private takenUpTo = 0;
  /** Taken ranges past `takenUpTo`, start → end, when parts are taken out of order. */
  private readonly takenAhead = new Map<number, number>();

  get lengthBytes(): number {
    return this.length;
  }

  append(pieces: readonly Uint8Array[]): void {
    for (const bytes of pieces) {
      if (bytes.length === 0) continue;
      this.segments.push({ offset: this.length, bytes });
      this.length += bytes.length;
    }
  }

  /** Bytes [offset, offset + lengthBytes) as views of the segments, in order; frees what no later part needs. */
  take(offset: number, lengthBytes: number): readonly Uint8Array[] {
    const end = offset + lengthBytes;
    assert(
      offset >= this.takenUpTo && end <= this.length,
      `part [${offset}, +${lengthBytes}) is outside the encoded bytes`,
    );
    const views: Uint8Array[] = [];
    for (let index = this.firstSegmentEndingAfter(offset); index < this.segments.length; index += 1) {
      const segment = this.segments[index] as Segment;
      if (segment.offset >= end) break;
      const start = Math.max(offset, segment.offset) - segment.offset;
      const stop = Math.min(end, segment.offset + segment.bytes.length) - segment.offset;
      views.push(segment.bytes.subarray(start, stop));
    }
    this.markTaken(offset, end);
    return views;
  }

  /** Binary search: a job's output has thousands of segments (a few a column chunk). */
  private firstSegmentEndingAfter(offset: number): number {
    let low = 0;
    let high = this.segments.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const segment = this.segments[middle] as Segment;
      if (segment.offset + segment.bytes.length <= offset) low = middle + 1;
      else high = middle;
    }
    return low;
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
    let freed = 0;
    while (freed < this.segments.length) {
      const segment = this.segments[freed] as Segment;
      if (segment.offset + segment.bytes.length > this.takenUpTo) break;
      freed += 1;
    }
    // One splice, not a shift a segment: a part frees hundreds of them.
    if (freed > 0) this.segments.splice(0, freed);
  }
}
