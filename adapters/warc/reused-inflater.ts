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
interface NativeStream {
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

/** Output buffer reused between calls; output past it goes to further buffers of this size. */
const scratchBytes = 256 * 1024;

/**
 * One zlib raw inflater reused for every member a thread reads. `zlib.inflateRawSync` makes a
 * new native handle each call, about 18-21 µs (the decode bench's run: as much as inflating a
 * whole 1 KiB member), and a chunk-sized output buffer; this keeps one handle, resets it
 * between members, and copies each output into a buffer of its exact size. It drives the
 * handle as node's own `processChunkSync` does (`writeSync` and the `[availOut, availIn]`
 * state array), which node has kept since v10; `decode.ts` measures it against `inflateRawSync`.
 */
export class ReusedInflater {
  private stream: NativeStream;
  private handle: NativeHandle;
  private state: Uint32Array;
  private error: string | null = null;
  private readonly scratch = Buffer.allocUnsafe(scratchBytes);

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
    const pieces: Buffer[] = [];
    let outputBytes = 0;
    let inputOffset = 0;
    let availIn = input.length;
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
    const output = pieces.length === 1 && pieces[0] !== undefined ? pieces[0] : Buffer.concat(pieces, outputBytes);
    return { kind: 'output', output, consumed: inputOffset, ended: inputOffset < input.length || finish };
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
