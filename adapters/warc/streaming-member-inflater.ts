import zlib from 'node:zlib';
import pako from 'pako';

/** What feeding one piece of a member's deflate data gives. */
export type StreamStep =
  | { readonly kind: 'more'; readonly outputs: Buffer[] }
  /** The deflate data ended; `unconsumed` bytes of the piece follow it (the trailer first). */
  | { readonly kind: 'ended'; readonly outputs: Buffer[]; readonly unconsumed: number }
  | { readonly kind: 'corrupt' };

/** Where output goes that cannot wait for the end of its piece. */
export type SpillOutputs = (outputs: Buffer[]) => void;

/** pako keeps its stream state here; the typings leave it out. */
interface PakoStream {
  avail_in: number;
}

const zSyncFlush = 2;

/**
 * Inflates one gzip member piece by piece, for a member too large to hold in memory whole (a
 * whole-file gzip). The port's `push` is synchronous, and node's zlib streams are not, so this
 * uses pako's streaming `Inflate` (warcio's own inflater; slower than zlib, but only members
 * past 64 MiB take this path, and CommonCrawl writes none). Memory stays at one piece, pako's
 * 64 KiB window and output buffers, and at most `outputBytesMax` of inflated output: past it
 * the output so far is spilled to the caller during the push, not held to its end.
 */
export class StreamingMemberInflater {
  private readonly inflater = new pako.Inflate({ raw: true, chunkSize: 64 * 1024 });
  private outputs: Buffer[] = [];
  private heldBytes = 0;
  private spill: SpillOutputs | null = null;
  private checksum = 0;
  private outputBytes = 0;

  constructor(private readonly outputBytesMax: number) {
    this.inflater.onData = (chunk) => {
      const data = chunk as Uint8Array;
      const output = Buffer.from(data.buffer, data.byteOffset, data.length);
      this.checksum = zlib.crc32(output, this.checksum);
      this.outputBytes += output.length;
      this.outputs.push(output);
      this.heldBytes += output.length;
      if (this.heldBytes >= this.outputBytesMax && this.spill !== null) this.spill(this.takeOutputs());
    };
    // pako's own onEnd records the status in `err`; this one must too, and keeps no chunks.
    this.inflater.onEnd = (status) => {
      this.inflater.err = status as pako.ReturnCodes;
    };
  }

  /** `spill` receives output in order whenever `outputBytesMax` of it is held during this push. */
  push(piece: Buffer, spill: SpillOutputs): StreamStep {
    this.takeOutputs();
    this.spill = spill;
    try {
      // A sync flush hands over all output for the piece, so each piece's records can be read now.
      this.inflater.push(piece, zSyncFlush);
    } finally {
      this.spill = null;
    }
    const outputs = this.takeOutputs();
    if (this.inflater.err !== 0) return { kind: 'corrupt' };
    const ended = (this.inflater as unknown as { ended: boolean }).ended;
    if (!ended) return { kind: 'more', outputs };
    const stream = (this.inflater as unknown as { strm: PakoStream }).strm;
    return { kind: 'ended', outputs, unconsumed: stream.avail_in };
  }

  /** Whether an 8-byte gzip trailer matches what was inflated. */
  trailerMatches(trailer: Buffer, index: number): boolean {
    return (
      trailer.readUInt32LE(index) === this.checksum && trailer.readUInt32LE(index + 4) === this.outputBytes % 2 ** 32
    );
  }

  private takeOutputs(): Buffer[] {
    const outputs = this.outputs;
    this.outputs = [];
    this.heldBytes = 0;
    return outputs;
  }
}
