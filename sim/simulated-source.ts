import { entryOf } from '../core/checked-access.ts';
import { FailureError, assert, inputFault } from '../core/failure.ts';
import type { InputRef } from '../core/input-ref.ts';
import type { ByteRange, ReadMemory, Source } from '../core/source.ts';

/** The input names a listing yields, as the local and S3 sources filter them. */
const warcName = /\.warc(\.gz)?$/;

export interface SimulatedSourceOptions {
  /** The remote's files by path; held as given, so callers must not change them afterwards. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Time the latency is spent on; required when `latencyMs` is above zero. */
  readonly clock?: { sleep(milliseconds: number): Promise<void> };
  /** Virtual time every request (list, sizeOf, read) waits before it answers. */
  readonly latencyMs?: number;
}

/**
 * A remote store held in memory: paths with bytes, listed by prefix, sized and read by range
 * with the Source contract's rules (exactly the range, fewer bytes only at the end, none past
 * it; a missing input is the input's fault). URIs are `sim://<path>`.
 */
export class SimulatedSource implements Source {
  private readonly files: ReadonlyMap<string, Uint8Array>;
  private readonly clock: { sleep(milliseconds: number): Promise<void> } | undefined;
  private readonly latencyMs: number;

  constructor(options: SimulatedSourceOptions) {
    this.files = options.files;
    this.clock = options.clock;
    this.latencyMs = options.latencyMs ?? 0;
    assert(this.latencyMs >= 0, `latency is zero or more milliseconds, got ${this.latencyMs}`);
    assert(
      this.latencyMs === 0 || this.clock !== undefined,
      'a simulated source with latency needs a clock to spend it on',
    );
  }

  static uriOf(path: string): string {
    return `sim://${path}`;
  }

  /** The WARC files whose path starts with `spec`, in path order (a stable order, as S3 lists). */
  async *list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    await this.respond(signal);
    const paths = [...this.files.keys()].filter((path) => path.startsWith(spec) && warcName.test(path)).sort();
    for (const path of paths) {
      yield inputOf(path, entryOf(this.files, path, 'file').length);
    }
  }

  async sizeOf(input: InputRef, signal?: AbortSignal): Promise<number> {
    await this.respond(signal);
    return this.bytesOf(input).length;
  }

  async read(input: InputRef, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array> {
    assert(
      Number.isSafeInteger(range.offsetBytes) && range.offsetBytes >= 0,
      `a read starts at a byte offset, got ${range.offsetBytes}`,
    );
    assert(
      Number.isSafeInteger(range.lengthBytes) && range.lengthBytes >= 0,
      `a read has a length, got ${range.lengthBytes}`,
    );
    await this.respond(signal);
    const bytes = this.bytesOf(input);
    const wanted = bytes.subarray(range.offsetBytes, range.offsetBytes + range.lengthBytes);
    // A copy, as a network read would give: the caller may keep or change it.
    if (memory === undefined) return wanted.slice();
    const into = memory(range.lengthBytes);
    into.set(wanted);
    return wanted.length === into.length ? into : into.subarray(0, wanted.length);
  }

  /** Spends the request's latency, then answers unless the caller gave up meanwhile. */
  private async respond(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.latencyMs > 0) await this.clock?.sleep(this.latencyMs);
    signal?.throwIfAborted();
  }

  private bytesOf(input: InputRef): Uint8Array {
    const path = input.uri.startsWith('sim://') ? input.uri.slice('sim://'.length) : input.uri;
    const bytes = this.files.get(path);
    if (bytes === undefined) throw new FailureError(inputFault(`no such input: ${input.uri}`));
    return bytes;
  }
}

function inputOf(path: string, sizeBytes: number): InputRef {
  return { uri: SimulatedSource.uriOf(path), sizeBytes, filename: path, crawl: null, subset: null, segment: null };
}
