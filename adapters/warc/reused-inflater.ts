import zlib from 'node:zlib';

/** What one inflation of raw deflate data gives. */
export type Inflation =
  /** `consumed` bytes of the input were deflate data; `ended` when the deflate data ended there. */
  | { readonly kind: 'output'; readonly output: Buffer; readonly consumed: number; readonly ended: boolean }
  /** `finish` was asked and the input ended before the deflate data did. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'corrupt' };

/** The native zlib handle under node's zlib objects, as node's own `processChunkSync` drives it. */
export interface NativeStream {
  _handle: NativeHandle;
  _writeState: Uint32Array;
  close(): void;
}

interface NativeHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inputOffset: number,
    inputLength: number,
    output: Buffer,
    outputOffset: number,
    outputLength: number,
  ): void;
  reset(): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

/** Output buffer for what does not fit the arena; output past it goes to further buffers of this size. */
const scratchBytes = 256 * 1024;
/**
 * Inflated output is written straight into an arena and handed out as views of it, instead of
 * being inflated into a scratch buffer and copied into one of its own size (`Buffer.from`, then
 * `Buffer.concat` past 256 KiB). A profile of the content export put those two copies at 1.7 s
 * of a CPU thread's ~10 s on 100 MB (`fromArrayLike` 1.03 s, `concat` 0.65 s): each wrote every
 * payload into memory never touched before. An arena is never reused: a full one is left to the
 * garbage collector once no view of it lives (a content row's payload holds one until its row
 * group is encoded), so a view can never be overwritten. 4 MiB holds about 25 CommonCrawl pages
 * (150 KB inflated on average) or 4,000 heads of the index schema.
 */
const arenaBytes = 4 * 1024 * 1024;
/** A new arena is started when less than this is left: at most this much of each goes unused. */
const arenaFreeBytesMin = 64 * 1024;
/** Views start at multiples of this, as separate buffers would. */
const arenaAlignBytes = 8;

/**
 * One zlib raw inflater reused for every member a thread reads. `zlib.inflateRawSync` makes a
 * new native handle each call, about 18-21 µs (the decode bench's run: as much as inflating a
 * whole 1 KiB member), and a chunk-sized output buffer; this keeps one handle, resets it
 * between members, and inflates into an arena whose views it hands out (above). It drives the
 * handle as node's own `processChunkSync` does (`writeSync` and the `[availOut, availIn]`
 * state array), which node has kept since v10; `decode.ts` measures it against `inflateRawSync`.
 */
export class ReusedInflater {
  private stream: NativeStream;
  private handle: NativeHandle;
  private state: Uint32Array;
  private error: string | null = null;
  private readonly scratch = Buffer.allocUnsafe(scratchBytes);
  private arena = Buffer.allocUnsafe(arenaBytes);
  private arenaOffset = 0;

  constructor() {
    this.stream = this.open();
    this.handle = this.stream._handle;
    this.state = this.stream._writeState;
  }

  /**
   * Inflates `input` from the start of a deflate stream. Without `finish` a cut input gives
   * what it decodes to (a sync flush); with it, a cut input is `incomplete`.
   */
  inflate(input: Buffer, finish: boolean, outputBytesMax: number): Inflation {
    this.error = null;
    const flush = finish ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH;
    if (this.arena.length - this.arenaOffset < arenaFreeBytesMin) this.newArena();
    // One byte past the bound, so that output over it shows as more than the bound.
    const room = Math.min(this.arena.length - this.arenaOffset, outputBytesMax + 1);
    this.handle.writeSync(flush, input, 0, input.length, this.arena, this.arenaOffset, room);
    if (this.error !== null) return this.failed(this.error);
    const [availOut = 0, availIn = 0] = this.state;
    const produced = room - availOut;
    if (produced > outputBytesMax) return this.failed('too-large');
    const first = this.arena.subarray(this.arenaOffset, this.arenaOffset + produced);
    if (availOut === 0) return this.inflateRest(input, input.length - availIn, availIn, flush, first, outputBytesMax);
    this.handle.reset();
    this.take(produced);
    const consumed = input.length - availIn;
    return { kind: 'output', output: first, consumed, ended: consumed < input.length || finish };
  }

  /**
   * Output larger than the arena's room: the rest goes through the scratch buffer and the whole
   * output is joined into a buffer of its own (the arena's part is left unused, not handed out).
   */
  private inflateRest(
    input: Buffer,
    consumedSoFar: number,
    availInSoFar: number,
    flush: number,
    first: Buffer,
    outputBytesMax: number,
  ): Inflation {
    const pieces: Buffer[] = [first];
    let outputBytes = first.length;
    let inputOffset = consumedSoFar;
    let availIn = availInSoFar;
    // Each turn fills one output buffer: bounded by `outputBytesMax`.
    for (let turn = 0; turn <= Math.ceil(outputBytesMax / scratchBytes) + 1; turn++) {
      this.handle.writeSync(flush, input, inputOffset, availIn, this.scratch, 0, scratchBytes);
      if (this.error !== null) return this.failed(this.error);
      const [availOut = 0, availInAfter = 0] = this.state;
      const produced = scratchBytes - availOut;
      outputBytes += produced;
      if (outputBytes > outputBytesMax) return this.failed('too-large');
      if (produced > 0) pieces.push(Buffer.from(this.scratch.subarray(0, produced)));
      inputOffset += availIn - availInAfter;
      availIn = availInAfter;
      if (availOut !== 0) break;
    }
    this.handle.reset();
    const output = Buffer.concat(pieces, outputBytes);
    return {
      kind: 'output',
      output,
      consumed: inputOffset,
      ended: inputOffset < input.length || flush === zlib.constants.Z_FINISH,
    };
  }

  /** Keeps the arena's next `bytes` for the view just handed out. */
  private take(bytes: number): void {
    this.arenaOffset = Math.ceil((this.arenaOffset + bytes) / arenaAlignBytes) * arenaAlignBytes;
  }

  private newArena(): void {
    this.arena = Buffer.allocUnsafe(arenaBytes);
    this.arenaOffset = 0;
  }

  private failed(reason: string): Inflation {
    // After an error the handle is left as zlib left it: a fresh one serves the next member.
    this.stream.close();
    this.stream = this.open();
    this.handle = this.stream._handle;
    this.state = this.stream._writeState;
    if (reason === 'too-large') return { kind: 'too-large' };
    if (reason === 'Z_BUF_ERROR') return { kind: 'incomplete' };
    return { kind: 'corrupt' };
  }

  private open(): NativeStream {
    const stream = zlib.createInflateRaw({ chunkSize: scratchBytes }) as unknown as NativeStream;
    stream._handle.onerror = (_message, _errno, code) => {
      this.error = code ?? 'Z_DATA_ERROR';
    };
    return stream;
  }
}

/** The thread's one inflater: a decoder's push is synchronous, so its members never interleave. */
export const threadInflater = new ReusedInflater();
