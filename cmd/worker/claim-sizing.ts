/**
 * Sizes the jobs of a claim that the ledger holds without a size (a manifest lists paths
 * only), before the core sees them. A HEAD goes to the same remote as a chunk's GET, so it
 * is retried by the same rules as a chunk fetch (core/retry-policy.ts): up to
 * `throttledAttemptsMax` throttled answers and `taskAttemptsMax` other retryable failures,
 * 0.25–30 s apart. With the few retries of a listing instead, a 503 burst of three seconds
 * failed the claimed job, which the ledger then held back for a minute, while every chunk of
 * the jobs already running rode the same burst out.
 *
 * Two bounds the chunk rules do not need: the core has not seen these jobs, so nothing
 * renews their leases, and retries stop while the claim's lease can still be trusted
 * (`leaseMs − leaseSafetyMs` after the claim was sent); and a shutdown stops them at once.
 */
import { ourFault, type Failure } from '../../core/failure.ts';
import type { ClaimedJob, LeasedJob } from '../../core/input-ref.ts';
import type { UnsizedJob } from '../../core/inputs.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import { decideRetry, type TaskAttempts } from '../../core/retry-policy.ts';
import type { SeededRandom } from '../../core/seeded-random.ts';
import type { Source } from '../../core/source.ts';
import { sleep } from '../../adapters/source/token-bucket.ts';
import { failureOf } from './task-failure.ts';

export interface ClaimSizingOptions {
  readonly source: Source;
  readonly limits: WorkerLimits;
  /** Jitter of the retry delays. */
  readonly random: SeededRandom;
  /** The caller's clock, in ms; `trustedUntilMs` is on it. */
  readonly nowMs: () => number;
  /** When the claim's lease stops being trusted: no retry is started that would end after it. */
  readonly trustedUntilMs: number;
  /** Aborted on shutdown: a lookup under way is cancelled and no retry follows. */
  readonly signal: AbortSignal;
}

export interface SizedClaim {
  readonly jobs: ClaimedJob[];
  readonly unsized: UnsizedJob[];
}

/** Sizes every job of the claim at once (a claim is a few jobs); keeps the ledger's order, in which the core starts them. */
export async function sizeClaim(leased: readonly LeasedJob[], options: ClaimSizingOptions): Promise<SizedClaim> {
  const looked = await Promise.all(
    leased.map(async (job): Promise<ClaimedJob | UnsizedJob> => {
      if (job.sizeBytes !== null) return { ...job, sizeBytes: job.sizeBytes };
      const sized = await sizeWithRetries(job, options);
      return typeof sized === 'number' ? { ...job, sizeBytes: sized } : { job, failure: sized };
    }),
  );
  return {
    jobs: looked.filter((entry): entry is ClaimedJob => !('failure' in entry)),
    unsized: looked.filter((entry): entry is UnsizedJob => 'failure' in entry),
  };
}

/** The input's size, or the failure that ended the lookups; the loop is bounded by decideRetry's attempt limits. */
async function sizeWithRetries(job: LeasedJob, options: ClaimSizingOptions): Promise<number | Failure> {
  const attempts: TaskAttempts = { failures: 0, throttles: 0 };
  for (;;) {
    if (options.signal.aborted) return cancelled();
    let failure: Failure;
    try {
      return await options.source.sizeOf(job.input, options.signal);
    } catch (error) {
      failure = failureOf(error);
    }
    if (options.signal.aborted) return cancelled();
    const decision = decideRetry(options.limits, attempts, failure, options.random);
    if (decision.kind === 'give-up' || options.nowMs() + decision.delayMs >= options.trustedUntilMs) return failure;
    // The source adapters' sleep: it rejects as soon as the signal is aborted.
    const waited = await sleep(decision.delayMs, options.signal).then(
      () => true,
      () => false,
    );
    if (!waited) return cancelled();
  }
}

/** Not the input's fault nor the remote's: the core hands such a job back to the ledger uncharged while it drains. */
function cancelled(): Failure {
  return ourFault('sizing the input was cancelled: the worker is shutting down', true);
}
