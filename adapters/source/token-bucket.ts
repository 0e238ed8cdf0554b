/**
 * A token bucket that bounds the request rate to a remote (CommonCrawl asks clients to be
 * polite; it serves a few thousand requests a second across all users). Callers reserve a
 * slot and sleep until it; the reservations waiting at once are bounded.
 */
import { FailureError, ourFault } from '../../core/failure.ts';

export interface TokenBucketOptions {
  readonly requestsPerSecond: number;
  /** Requests allowed at once after a quiet spell. */
  readonly burst: number;
  /** Reservations that may wait at once; the core's concurrency limits keep this far lower. */
  readonly waitingMax?: number;
  readonly nowMs?: () => number;
}

export function sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
  if (delayMs <= 0) return Promise.resolve();
  return new Promise((resolvePromise, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolvePromise();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number;
  private waiting = 0;
  private readonly nowMs: () => number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.requestsPerSecond > 0) || !(options.burst >= 1)) {
      throw new Error(`invariant broken: token bucket needs a positive rate and a burst of at least 1`);
    }
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.tokens = options.burst;
    this.lastRefillMs = this.nowMs();
  }

  /** Waits until one request may start. */
  async take(signal?: AbortSignal): Promise<void> {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const waitingMax = this.options.waitingMax ?? 10_000;
    if (this.waiting >= waitingMax) {
      this.tokens += 1;
      throw new FailureError(ourFault(`more than ${waitingMax} requests waiting for the rate limit`, true));
    }
    const delayMs = (-this.tokens / this.options.requestsPerSecond) * 1000;
    this.waiting += 1;
    try {
      await sleep(delayMs, signal);
    } finally {
      this.waiting -= 1;
    }
  }

  private refill(): void {
    const now = this.nowMs();
    const earned = ((now - this.lastRefillMs) / 1000) * this.options.requestsPerSecond;
    this.tokens = Math.min(this.options.burst, this.tokens + earned);
    this.lastRefillMs = now;
  }
}
