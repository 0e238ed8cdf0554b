import type { WorkerLimits } from './limits.ts';
import { nextUnit, type SeededRandom } from './seeded-random.ts';

/**
 * Delay before retry number `retry` (1 for the first retry): exponential backoff with
 * "equal jitter" — half the window fixed, half random — so retries of tasks that failed
 * together spread out, yet no retry comes sooner than half its window.
 */
export function retryDelayMs(limits: WorkerLimits, retry: number, random: SeededRandom): number {
  const exponent = Math.min(retry - 1, 30);
  const window = Math.min(limits.retryCapMs, limits.retryBaseMs * 2 ** exponent);
  return Math.ceil(window / 2 + nextUnit(random) * (window / 2));
}

/** What to do with a task that failed: try again later, or end its job. */
export type RetryDecision = { readonly kind: 'retry'; readonly delayMs: number } | { readonly kind: 'give-up' };

export interface TaskAttempts {
  /** Failures so far that were not throttling. */
  failures: number;
  /** Throttled failures so far. */
  throttles: number;
}

/** Counts the failure in `attempts` and decides; throttles have their own, higher bound. */
export function decideRetry(
  limits: WorkerLimits,
  attempts: TaskAttempts,
  failure: { retryable: boolean; throttled: boolean },
  random: SeededRandom,
): RetryDecision {
  if (!failure.retryable && !failure.throttled) return { kind: 'give-up' };
  if (failure.throttled) {
    attempts.throttles += 1;
    if (attempts.throttles >= limits.throttledAttemptsMax) return { kind: 'give-up' };
    return { kind: 'retry', delayMs: retryDelayMs(limits, attempts.throttles, random) };
  }
  attempts.failures += 1;
  if (attempts.failures >= limits.taskAttemptsMax) return { kind: 'give-up' };
  return { kind: 'retry', delayMs: retryDelayMs(limits, attempts.failures, random) };
}
