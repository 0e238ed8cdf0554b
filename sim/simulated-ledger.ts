import { at, entryOf } from '../core/checked-access.ts';
import { BinaryHeap } from '../core/binary-heap.ts';
import type { Failure } from '../core/failure.ts';
import type { ClaimedJob, Lease } from '../core/input-ref.ts';
import { grantLease, holdsLease, leaseRanOut, renewLease, type LeasedState } from './lease-fence.ts';

export type JobStatus = 'pending' | 'leased' | 'done' | 'dead';

/** The ledger's record of one job. */
export interface LedgerJob extends LeasedState {
  readonly jobId: string;
  readonly sizeBytes: number;
  status: JobStatus;
  /** Claims so far; the current lease's attempt number. */
  attempts: number;
  holder: number;
  leaseExpiresAtMs: number;
  firstClaimAtMs: number;
  endedAtMs: number;
  /** Fenced completions accepted; more than one is a safety violation. */
  completions: number;
  lastFailure: string | null;
}

interface Expiry {
  readonly atMs: number;
  readonly jobId: string;
  readonly attempt: number;
}

/**
 * The ledger all simulated instances share, with the semantics the PostgreSQL ledger has
 * (its lease fence is the one `SimulatedLedgerPort` uses, from lease-fence.ts):
 * claims hand out pending jobs with a lease (attempt number, expiry), heartbeats renew, every
 * write after the claim is fenced by the attempt, expired leases are reclaimed, failed jobs
 * come back after a delay up to `jobAttemptsMax` claims and are dead after that.
 * Every queue here is bounded by the job count times the attempt limit.
 */
export class SimulatedLedger {
  readonly jobs: LedgerJob[];
  private readonly byId = new Map<string, LedgerJob>();
  /** Claimable jobs in order; `pendingHead` is the next to hand out. */
  private readonly pendingQueue: LedgerJob[] = [];
  private pendingHead = 0;
  private readonly delayed = new BinaryHeap<{ atMs: number; seq: number; job: LedgerJob }>((a, b) =>
    a.atMs !== b.atMs ? a.atMs < b.atMs : a.seq < b.seq,
  );
  private readonly expiries = new BinaryHeap<Expiry>((a, b) => a.atMs < b.atMs);
  private delayedSeq = 0;
  leased = 0;
  ended = 0;
  reclaimed = 0;

  constructor(
    sizesBytes: readonly number[],
    private readonly options: { readonly jobAttemptsMax: number; readonly jobRetryDelayMs: number },
  ) {
    this.jobs = sizesBytes.map((sizeBytes, index) => ({
      jobId: `job-${index}`,
      sizeBytes,
      status: 'pending' as JobStatus,
      attempts: 0,
      holder: -1,
      leaseExpiresAtMs: 0,
      firstClaimAtMs: -1,
      endedAtMs: -1,
      completions: 0,
      lastFailure: null,
    }));
    for (const job of this.jobs) {
      this.byId.set(job.jobId, job);
      this.pendingQueue.push(job);
    }
  }

  get allEnded(): boolean {
    return this.ended === this.jobs.length;
  }

  claim(holder: number, count: number, nowMs: number, leaseMs: number): { jobs: ClaimedJob[]; exhausted: boolean } {
    this.advance(nowMs);
    const claimed: ClaimedJob[] = [];
    while (claimed.length < count && this.pendingHead < this.pendingQueue.length) {
      const job = at(this.pendingQueue, this.pendingHead++);
      if (job.status !== 'pending') continue;
      grantLease(job, nowMs, leaseMs);
      job.holder = holder;
      if (job.firstClaimAtMs < 0) job.firstClaimAtMs = nowMs;
      this.leased += 1;
      this.expiries.push({ atMs: job.leaseExpiresAtMs, jobId: job.jobId, attempt: job.attempts });
      claimed.push(claimedJob(job));
    }
    this.compactPending();
    const exhausted =
      claimed.length === 0 &&
      this.pendingHead >= this.pendingQueue.length &&
      this.delayed.size === 0 &&
      this.leased === 0;
    return { jobs: claimed, exhausted };
  }

  /** Whether `lease` is the live lease of its job at `nowMs`. */
  holds(lease: Lease, nowMs: number): boolean {
    this.advance(nowMs);
    return holdsLease(this.byId.get(lease.jobId), lease, nowMs);
  }

  heartbeat(leases: readonly Lease[], nowMs: number, leaseMs: number): { renewed: string[]; lost: string[] } {
    const renewed: string[] = [];
    const lost: string[] = [];
    for (const lease of leases) {
      if (!this.holds(lease, nowMs)) {
        lost.push(lease.jobId);
        continue;
      }
      const job = entryOf(this.byId, lease.jobId, 'job');
      renewLease(job, nowMs, leaseMs);
      this.expiries.push({ atMs: job.leaseExpiresAtMs, jobId: job.jobId, attempt: job.attempts });
      renewed.push(lease.jobId);
    }
    return { renewed, lost };
  }

  /** Whether the job is done, by this very attempt. */
  completedBy(lease: Lease): boolean {
    const job = this.byId.get(lease.jobId);
    return job !== undefined && job.status === 'done' && job.attempts === lease.attempt;
  }

  /**
   * The fenced completion: false when the lease is no longer held (the caller lost it).
   * Idempotent for the attempt that completed the job, as the real ledgers: its retry (the
   * first answer was lost) is answered true and counts no second completion.
   */
  complete(lease: Lease, nowMs: number): boolean {
    if (this.completedBy(lease)) return true;
    if (!this.holds(lease, nowMs)) return false;
    const job = entryOf(this.byId, lease.jobId, 'job');
    job.completions += 1;
    this.endJob(job, 'done', nowMs);
    return true;
  }

  fail(lease: Lease, failure: Failure, nowMs: number): boolean {
    if (!this.holds(lease, nowMs)) return false;
    const job = entryOf(this.byId, lease.jobId, 'job');
    job.lastFailure = failure.reason;
    if (!failure.retryable || job.attempts >= this.options.jobAttemptsMax) {
      this.endJob(job, 'dead', nowMs);
      return true;
    }
    this.leased -= 1;
    job.status = 'pending';
    this.delayed.push({ atMs: nowMs + this.options.jobRetryDelayMs, seq: this.delayedSeq++, job });
    return true;
  }

  release(lease: Lease, nowMs: number): boolean {
    if (!this.holds(lease, nowMs)) return false;
    const job = entryOf(this.byId, lease.jobId, 'job');
    this.leased -= 1;
    job.status = 'pending';
    this.pendingQueue.push(job);
    return true;
  }

  /** Moves due retries to the queue and reclaims expired leases (lazily, on every call). */
  private advance(nowMs: number): void {
    for (let top = this.delayed.peek(); top !== undefined && top.atMs <= nowMs; top = this.delayed.peek()) {
      this.delayed.pop();
      this.pendingQueue.push(top.job);
    }
    for (let top = this.expiries.peek(); top !== undefined && top.atMs <= nowMs; top = this.expiries.peek()) {
      this.expiries.pop();
      const job = entryOf(this.byId, top.jobId, 'job');
      // Stale entries (renewed since, or a later attempt) are skipped.
      if (!leaseRanOut(job, top.attempt, nowMs)) continue;
      this.reclaimed += 1;
      if (job.attempts >= this.options.jobAttemptsMax) {
        job.lastFailure = 'lease expired on its last attempt';
        this.endJob(job, 'dead', nowMs);
      } else {
        this.leased -= 1;
        job.status = 'pending';
        this.pendingQueue.push(job);
      }
    }
  }

  /** Ends a leased job for good. */
  private endJob(job: LedgerJob, status: 'done' | 'dead', nowMs: number): void {
    job.status = status;
    job.endedAtMs = nowMs;
    this.leased -= 1;
    this.ended += 1;
  }

  /** Drops handed-out entries from the front now and then, so the queue stays O(pending). */
  private compactPending(): void {
    if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pendingQueue.length) {
      this.pendingQueue.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }
}

function claimedJob(job: LedgerJob): ClaimedJob {
  const name = `${job.jobId}.warc.gz`;
  return {
    jobId: job.jobId,
    input: {
      uri: `s3://commoncrawl/simulated/${name}`,
      sizeBytes: job.sizeBytes,
      filename: name,
      crawl: 'CC-MAIN-SIM',
      subset: 'warc',
      segment: null,
    },
    sizeBytes: job.sizeBytes,
    attempt: job.attempts,
    outputKey: `crawl=CC-MAIN-SIM/subset=warc/${job.jobId}.parquet`,
  };
}
