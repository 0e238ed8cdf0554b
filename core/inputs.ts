import type { Failure } from './failure.ts';
import type { ClaimedJob, LeasedJob } from './input-ref.ts';
import type { RecordCounters } from './record-counters.ts';

/** A claimed job enqueued without a size, whose size the source would not give. */
export interface UnsizedJob {
  readonly job: LeasedJob;
  readonly failure: Failure;
}

/**
 * Facts the driver feeds the core: what happened since the last step. Every task the core
 * dispatched gets exactly one answer, a completion or `taskFailed`, even if its job has ended
 * since (the answer then only frees the memory the task held).
 */
export type Input =
  | {
      readonly kind: 'jobsClaimed';
      readonly jobs: readonly ClaimedJob[];
      readonly exhausted: boolean;
      /** Claimed jobs the driver could not learn the size of (the input is gone, the source refused): they fail at once. */
      readonly unsized?: readonly UnsizedJob[];
    }
  | { readonly kind: 'claimFailed'; readonly failure: Failure }
  | { readonly kind: 'chunkFetched'; readonly taskId: number; readonly bytes: number }
  | {
      readonly kind: 'chunkDecoded';
      readonly taskId: number;
      readonly rows: number;
      readonly rowBytes: number;
      readonly counters: RecordCounters;
    }
  | { readonly kind: 'rowGroupEncoded'; readonly taskId: number; readonly bytes: number }
  | { readonly kind: 'partUploaded'; readonly taskId: number }
  | { readonly kind: 'objectCompleted'; readonly taskId: number }
  | { readonly kind: 'jobCommitted'; readonly taskId: number }
  | { readonly kind: 'taskFailed'; readonly taskId: number; readonly failure: Failure }
  /** The ledger renewed these leases on a heartbeat sent at `sentAtMs`. */
  | { readonly kind: 'leasesRenewed'; readonly jobIds: readonly string[]; readonly sentAtMs: number }
  | { readonly kind: 'leaseLost'; readonly jobId: string }
  | { readonly kind: 'shutdownRequested' }
  | { readonly kind: 'timer' };

export type InputKind = Input['kind'];
export type InputOf<K extends InputKind> = Extract<Input, { kind: K }>;
