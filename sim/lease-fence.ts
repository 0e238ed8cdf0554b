import type { Lease } from '../core/input-ref.ts';

/**
 * The part of a job record that leases and their fence read and write. The fleet's
 * `SimulatedLedger` and the port-shaped `SimulatedLedgerPort` both keep their jobs in this
 * shape, so the rule that decides who may write a job is written once.
 */
export interface LeasedState {
  status: string;
  /** Claims so far: the current lease's attempt number, which fences every later write. */
  attempts: number;
  leaseExpiresAtMs: number;
}

/** The fence: the job is leased, with this attempt, and the lease has not run out. */
export function holdsLease(job: LeasedState | undefined, lease: Lease, nowMs: number): boolean {
  return job !== undefined && job.status === 'leased' && job.attempts === lease.attempt && job.leaseExpiresAtMs > nowMs;
}

/** Whether the lease of `attempt` ran out at `nowMs` and nobody renewed, released or ended it. */
export function leaseRanOut(job: LeasedState, attempt: number, nowMs: number): boolean {
  return job.status === 'leased' && job.attempts === attempt && job.leaseExpiresAtMs <= nowMs;
}

/** Hands the job out: a new attempt number, so writes under any earlier lease are refused. */
export function grantLease(job: LeasedState, nowMs: number, leaseMs: number): void {
  job.status = 'leased';
  job.attempts += 1;
  job.leaseExpiresAtMs = nowMs + leaseMs;
}

export function renewLease(job: LeasedState, nowMs: number, leaseMs: number): void {
  job.leaseExpiresAtMs = nowMs + leaseMs;
}
