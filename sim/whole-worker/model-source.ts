import { FailureError, assert, inputFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange, Source } from '../../core/source.ts';

/**
 * A remote of inputs known by name and size only: a read answers the range's length in zeros
 * (the model CPU counts bytes, it does not parse them), so a simulated crawl of gigabytes holds
 * one chunk's worth of memory. Time, faults and throttling are added at the port boundary
 * (port-boundary.ts); this answers at once, with the Source contract's ranges.
 */
export class ModelSource implements Source {
  private readonly sizes: ReadonlyMap<string, number>;
  private zeroed = new Uint8Array(0);

  constructor(private readonly inputs: readonly InputRef[]) {
    const sizes = new Map<string, number>();
    for (const input of inputs) {
      assert(input.sizeBytes !== null && input.sizeBytes !== undefined, `input ${input.uri} has no size`);
      sizes.set(input.uri, input.sizeBytes);
    }
    this.sizes = sizes;
  }

  static inputsOf(sizes: readonly number[]): InputRef[] {
    return sizes.map((sizeBytes, index) => {
      const filename = `file-${String(index).padStart(5, '0')}.warc.gz`;
      return { uri: `sim://${filename}`, sizeBytes, filename, crawl: null, subset: null, segment: null };
    });
  }

  async *list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    signal?.throwIfAborted();
    for (const input of this.inputs) if (input.uri.startsWith(spec)) yield input;
  }

  async sizeOf(input: InputRef, signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    return this.sizeOfUri(input.uri);
  }

  async read(input: InputRef, range: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const sizeBytes = this.sizeOfUri(input.uri);
    const endBytes = Math.min(sizeBytes, range.offsetBytes + range.lengthBytes);
    return this.zeros(Math.max(0, endBytes - range.offsetBytes));
  }

  /**
   * Views of one zeroed buffer, not a copy per read: a simulated crawl reads gigabytes, and
   * zeroing each chunk was most of a calm run's time. Nothing writes them: the runtime hands
   * them to the model CPU, which counts their length.
   */
  private zeros(lengthBytes: number): Uint8Array {
    if (this.zeroed.length < lengthBytes) this.zeroed = new Uint8Array(lengthBytes);
    return this.zeroed.subarray(0, lengthBytes);
  }

  private sizeOfUri(uri: string): number {
    const sizeBytes = this.sizes.get(uri);
    if (sizeBytes === undefined) throw new FailureError(inputFault(`no such input: ${uri}`));
    return sizeBytes;
  }
}
