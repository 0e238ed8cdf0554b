/**
 * Reads exactly the wanted bytes of a response body, with an idle timeout: the bytes from
 * `skipBytes` on (a server that ignored Range sends the whole file), at most `lengthBytes`,
 * then the rest of the body is cancelled so nothing past the bound is read.
 */
import { FailureError, remoteFault } from '../../core/failure.ts';
import type { ReadMemory } from '../../core/source.ts';

export interface BodyWindow {
  readonly skipBytes: number;
  readonly lengthBytes: number;
  /** Reject the read when no byte arrives for this long. */
  readonly idleTimeoutMs: number;
  readonly onIdle: () => void;
  /** Where the window's bytes go (a chunk's reused memory); a fresh buffer otherwise. */
  readonly memory?: ReadMemory;
}

/** The body stream itself failed (the connection dropped, an idle timeout aborted it): its cause says how. */
export class BodyReadError extends Error {
  constructor(cause: unknown) {
    super('reading the response body failed', { cause });
    this.name = 'BodyReadError';
  }
}

type BodyReader = ReadableStreamDefaultReader<Uint8Array>;

/** The body's next chunk; a failure of the stream comes back as a BodyReadError, apart from any bug here. */
async function nextChunk(reader: BodyReader): ReturnType<BodyReader['read']> {
  try {
    return await reader.read();
  } catch (error) {
    throw new BodyReadError(error);
  }
}

export async function readBodyWindow(body: ReadableStream<Uint8Array>, window: BodyWindow): Promise<Uint8Array> {
  const reader = body.getReader();
  const result = window.memory?.(window.lengthBytes) ?? new Uint8Array(window.lengthBytes);
  let position = 0;
  let filled = 0;
  let timer = setTimeout(window.onIdle, window.idleTimeoutMs);
  try {
    // Each pass consumes one chunk of a finite body; the loop ends at the window's end.
    while (filled < window.lengthBytes) {
      const { done, value } = await nextChunk(reader);
      if (done) break;
      clearTimeout(timer);
      timer = setTimeout(window.onIdle, window.idleTimeoutMs);
      const start = Math.max(0, window.skipBytes - position);
      const take = Math.min(value.length - start, window.lengthBytes - filled);
      if (start < value.length && take > 0) {
        // Buffer#copy is a memcpy; TypedArray#set into shared memory measured 10x slower.
        Buffer.from(value.buffer, value.byteOffset + start, take).copy(result, filled);
        filled += take;
      }
      position += value.length;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return filled === result.length ? result : result.subarray(0, filled);
}

export function shortBody(url: string, gotBytes: number, expectedBytes: number): FailureError {
  return new FailureError(remoteFault(`GET ${url} ended after ${gotBytes} of ${expectedBytes} bytes`));
}
