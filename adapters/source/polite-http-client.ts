/**
 * The HTTP client for CommonCrawl and other HTTPS inputs. Polite: its own User-Agent, a
 * bounded request rate, timeouts for headers and for a stalled body. Never
 * returns wrong bytes: a 206 must name the asked start in Content-Range and deliver its
 * length; a 200 (a server that ignored Range) is sliced, within a bound on bytes skipped.
 *
 * Who retries: a connection dropped before or during a body is retried here, at once and a
 * bounded number of times (cheap, and common when a kept-alive socket was closed by the
 * server). A 503 or 429 is not: it is thrown as a throttled `FailureError`, so the core backs
 * off with jitter and counts it for the source's adaptive limit. Timeouts and 5xx are thrown
 * as retryable for the core's backoff too; looping here would hide them from it.
 *
 * Who paces: ranged reads and the HEADs that size claimed files are tasks of the core, which
 * starts them within the source's request rate (core/request-rate.ts) — pacing them here too
 * would hide that wait from the core and the simulator. This client's own token bucket paces
 * only what the core does not dispatch: manifest reads, at the same rate.
 */
import { FailureError, inputFault, ourFault, remoteFault } from '../../core/failure.ts';
import { defaultLimits, httpSourceRequestsPerSecond } from '../../core/limits.ts';
import type { ByteRange, ReadMemory } from '../../core/source.ts';
import { redact } from '../aws/redact.ts';
import { BodyReadError, readBodyWindow, shortBody } from './bounded-body.ts';
import { failureForStatus, networkFailure, parseContentRange, unsatisfiedRangeTotal } from './http-status.ts';
import { TokenBucket } from './token-bucket.ts';
import { userAgent } from './user-agent.ts';

export interface PoliteHttpClientOptions {
  readonly userAgent?: string;
  /**
   * Requests a second for the HEADs and manifest reads the core does not dispatch; null for
   * no pacing. Ranged reads are paced by the core.
   */
  readonly requestsPerSecond?: number | null;
  readonly burst?: number;
  readonly headersTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** A server that ignores Range sends from byte 0: skipping more than this fails the read. */
  readonly ignoredRangeSkipBytesMax?: number;
  /** Attempts when the connection drops, the first included. */
  readonly connectionAttempts?: number;
  /** Largest whole object `getWhole` reads (manifests). */
  readonly wholeBytesMax?: number;
}

/** A dropped connection or a body cut short: worth one more try at once. */
class DroppedConnectionError extends FailureError {}

interface Exchange {
  readonly response: Response;
  readonly abortForIdle: () => void;
  readonly timedOut: () => boolean;
}

/** What paces a client's own requests unless told otherwise: the HTTPS source's rate, a burst of a second of it. */
export const defaultRequestRate = {
  requestsPerSecond: httpSourceRequestsPerSecond,
  burst: httpSourceRequestsPerSecond * defaultLimits.remoteRequestBurstSeconds,
} as const;

export class PoliteHttpClient {
  private readonly bucket: TokenBucket | null;
  private readonly userAgent: string;
  private readonly headersTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly skipBytesMax: number;
  private readonly connectionAttempts: number;
  private readonly wholeBytesMax: number;

  constructor(options: PoliteHttpClientOptions = {}) {
    const requestsPerSecond =
      options.requestsPerSecond === undefined ? defaultRequestRate.requestsPerSecond : options.requestsPerSecond;
    this.bucket =
      requestsPerSecond === null
        ? null
        : new TokenBucket({ requestsPerSecond, burst: options.burst ?? Math.max(1, requestsPerSecond) });
    this.userAgent = options.userAgent ?? userAgent();
    this.headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.skipBytesMax = options.ignoredRangeSkipBytesMax ?? 64 * 1024 * 1024;
    this.connectionAttempts = options.connectionAttempts ?? 2;
    this.wholeBytesMax = options.wholeBytesMax ?? 64 * 1024 * 1024;
  }

  /** A ranged read: a task of the core, which paced it. */
  readRange(url: string, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array> {
    if (range.lengthBytes === 0) return Promise.resolve(new Uint8Array(0));
    return this.withConnectionRetry(() => this.readRangeOnce(url, range, signal, memory));
  }

  /** A HEAD: a task of the core, which paced it. */
  sizeOf(url: string, signal?: AbortSignal): Promise<number> {
    return this.withConnectionRetry(() => this.sizeOnce(url, signal));
  }

  async getWhole(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    await this.bucket?.take(signal);
    return this.withConnectionRetry(() => this.getWholeOnce(url, signal));
  }

  private async withConnectionRetry<T>(attempt: () => Promise<T>): Promise<T> {
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof DroppedConnectionError) || attemptNumber >= this.connectionAttempts) throw error;
      }
    }
  }

  private async send(
    url: string,
    method: 'GET' | 'HEAD',
    range: string | null,
    signal?: AbortSignal,
  ): Promise<Exchange> {
    const controller = new AbortController();
    let timedOut = false;
    const abortForTimeout = (): void => {
      timedOut = true;
      controller.abort();
    };
    const timer = setTimeout(abortForTimeout, this.headersTimeoutMs);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, 'accept-encoding': 'identity' };
    if (range !== null) headers.range = range;
    const signals = signal === undefined ? [controller.signal] : [controller.signal, signal];
    try {
      const response = await fetch(url, { method, headers, signal: AbortSignal.any(signals), redirect: 'follow' });
      return { response, abortForIdle: abortForTimeout, timedOut: () => timedOut };
    } catch (error) {
      throw this.transportFailure(error, url, timedOut, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private transportFailure(error: unknown, url: string, timedOut: boolean, signal?: AbortSignal): FailureError {
    const shown = redact(url);
    if (error instanceof FailureError) return error;
    if (timedOut) return new FailureError(remoteFault(`GET ${shown} timed out waiting for the server`));
    if (signal?.aborted === true) return new FailureError(ourFault(`GET ${shown} was cancelled`, true));
    return new DroppedConnectionError(networkFailure(error, shown));
  }

  private async readBody(
    exchange: Exchange,
    url: string,
    skipBytes: number,
    lengthBytes: number,
    signal?: AbortSignal,
    memory?: ReadMemory,
  ): Promise<Uint8Array> {
    const body = exchange.response.body;
    if (body === null) return new Uint8Array(0);
    const window = { skipBytes, lengthBytes, idleTimeoutMs: this.idleTimeoutMs, onIdle: exchange.abortForIdle };
    try {
      return await readBodyWindow(body, memory === undefined ? window : { ...window, memory });
    } catch (error) {
      // Only the stream's own failures are the connection's; a bug in reading the window is ours.
      if (!(error instanceof BodyReadError)) throw error;
      throw this.transportFailure(error.cause, url, exchange.timedOut(), signal);
    }
  }

  private async readRangeOnce(
    url: string,
    range: ByteRange,
    signal?: AbortSignal,
    memory?: ReadMemory,
  ): Promise<Uint8Array> {
    const lastByte = range.offsetBytes + range.lengthBytes - 1;
    const exchange = await this.send(url, 'GET', `bytes=${range.offsetBytes}-${lastByte}`, signal);
    const { response } = exchange;
    checkIdentityEncoding(response, url);
    if (response.status === 206) return this.readPartial(exchange, url, range, signal, memory);
    if (response.status === 200) return this.readIgnoringRange(exchange, url, range, signal, memory);
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 416) return new Uint8Array(0);
    throw new FailureError(failureForStatus(response.status, redact(url), response.headers.get('retry-after')));
  }

  private async readPartial(
    exchange: Exchange,
    url: string,
    range: ByteRange,
    signal?: AbortSignal,
    memory?: ReadMemory,
  ): Promise<Uint8Array> {
    const contentRange = parseContentRange(exchange.response.headers.get('content-range'));
    if (contentRange === null || contentRange.firstByte !== range.offsetBytes) {
      await exchange.response.body?.cancel().catch(() => undefined);
      const header = exchange.response.headers.get('content-range') ?? 'none';
      throw new FailureError(
        remoteFault(redact(`GET ${url} answered Content-Range ${header} for bytes from ${range.offsetBytes}`)),
      );
    }
    const servedBytes = contentRange.lastByte - contentRange.firstByte + 1;
    const atEnd = contentRange.totalBytes !== null && contentRange.lastByte === contentRange.totalBytes - 1;
    if (servedBytes < range.lengthBytes && !atEnd) {
      await exchange.response.body?.cancel().catch(() => undefined);
      throw new FailureError(
        remoteFault(redact(`GET ${url} served ${servedBytes} of ${range.lengthBytes} bytes before the end`)),
      );
    }
    const expected = Math.min(servedBytes, range.lengthBytes);
    const bytes = await this.readBody(exchange, url, 0, expected, signal, memory);
    if (bytes.length !== expected)
      throw new DroppedConnectionError(shortBody(redact(url), bytes.length, expected).failure);
    return bytes;
  }

  private async readIgnoringRange(
    exchange: Exchange,
    url: string,
    range: ByteRange,
    signal?: AbortSignal,
    memory?: ReadMemory,
  ): Promise<Uint8Array> {
    const totalBytes = contentLength(exchange.response);
    if (range.offsetBytes > this.skipBytesMax) {
      await exchange.response.body?.cancel().catch(() => undefined);
      const reason = `GET ${url} ignores Range; reading from byte ${range.offsetBytes} would skip more than ${this.skipBytesMax} bytes`;
      throw new FailureError(remoteFault(redact(reason), { retryable: false }));
    }
    const bytes = await this.readBody(exchange, url, range.offsetBytes, range.lengthBytes, signal, memory);
    if (totalBytes !== null) {
      const expected = Math.max(0, Math.min(range.lengthBytes, totalBytes - range.offsetBytes));
      if (bytes.length !== expected)
        throw new DroppedConnectionError(shortBody(redact(url), bytes.length, expected).failure);
    }
    return bytes;
  }

  private async sizeOnce(url: string, signal?: AbortSignal): Promise<number> {
    const head = await this.send(url, 'HEAD', null, signal);
    const headLength = contentLength(head.response);
    if (head.response.status === 200 && headLength !== null) return headLength;
    if (head.response.status !== 200 && head.response.status !== 405 && head.response.status !== 501) {
      throw new FailureError(
        failureForStatus(head.response.status, redact(url), head.response.headers.get('retry-after'), 'HEAD'),
      );
    }
    // No usable HEAD: ask for one byte and read the size from Content-Range.
    const probe = await this.send(url, 'GET', 'bytes=0-0', signal);
    await probe.response.body?.cancel().catch(() => undefined);
    const { status, headers } = probe.response;
    const total =
      status === 206
        ? (parseContentRange(headers.get('content-range'))?.totalBytes ?? null)
        : status === 200
          ? contentLength(probe.response)
          : status === 416
            ? unsatisfiedRangeTotal(headers.get('content-range'))
            : null;
    if (total !== null) return total;
    if (status === 206 || status === 200 || status === 416)
      throw new FailureError(remoteFault(redact(`GET ${url} does not say its size`)));
    throw new FailureError(failureForStatus(status, redact(url), headers.get('retry-after')));
  }

  private async getWholeOnce(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const exchange = await this.send(url, 'GET', null, signal);
    const { response } = exchange;
    checkIdentityEncoding(response, url);
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new FailureError(failureForStatus(response.status, redact(url), response.headers.get('retry-after')));
    }
    const declared = contentLength(response);
    if (declared !== null && declared > this.wholeBytesMax) {
      await response.body?.cancel().catch(() => undefined);
      throw new FailureError(inputFault(redact(`GET ${url} is ${declared} bytes, more than ${this.wholeBytesMax}`)));
    }
    const bytes = await this.readBody(exchange, url, 0, declared ?? this.wholeBytesMax + 1, signal);
    if (bytes.length > this.wholeBytesMax)
      throw new FailureError(inputFault(redact(`GET ${url} is more than ${this.wholeBytesMax} bytes`)));
    if (declared !== null && bytes.length !== declared)
      throw new DroppedConnectionError(shortBody(redact(url), bytes.length, declared).failure);
    return bytes;
  }
}

function contentLength(response: Response): number | null {
  const header = response.headers.get('content-length');
  return header !== null && /^\d+$/.test(header) ? Number(header) : null;
}

/** fetch inflates a Content-Encoding body, which would move every offset: refuse it. */
function checkIdentityEncoding(response: Response, url: string): void {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding !== 'identity') {
    throw new FailureError(
      remoteFault(redact(`GET ${url} answered with Content-Encoding ${encoding}`), { retryable: false }),
    );
  }
}
