/**
 * Bounded retries for listings. Reading chunks is a core task, retried by the core with
 * backoff; listing inputs happens once at start-up, outside the core, so a 503 on a manifest
 * is retried here: exponential backoff, a few attempts, then the failure as it came.
 */
import { FailureError } from '../../core/failure.ts';
import { sleep } from './token-bucket.ts';

export interface ListingRetry {
  readonly attemptsMax: number;
  readonly firstDelayMs: number;
}

export const defaultListingRetry: ListingRetry = { attemptsMax: 5, firstDelayMs: 1_000 };

export async function withListingRetry<T>(
  retry: ListingRetry,
  call: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const retryable = error instanceof FailureError && error.failure.retryable;
      if (!retryable || attempt >= retry.attemptsMax) throw error;
      // Full jitter keeps many workers that started together from retrying in step.
      await sleep(Math.random() * retry.firstDelayMs * 2 ** (attempt - 1), signal);
    }
  }
}
