import type { Failure } from './failure.ts';
import type { LeasedJob } from './input-ref.ts';
import type { RecordCounters } from './record-counters.ts';

/**
 * Facts the driver feeds the core: what happened since the last step. Every task the core
 * dispatched gets exactly one answer, a completion or `taskFailed`, even if its job has ended
 * since (the answer then only frees the memory the task held).
 */
export type Input =
  /** Jobs claimed, in the ledger's order; one without a size is sized by a `sizeInput` task first. */
  | { readonly kind: 'jobsClaimed'; readonly jobs: readonly LeasedJob[]; readonly exhausted: boolean }
  | { readonly kind: 'claimFailed'; readonly failure: Failure }
  | { readonly kind: 'inputSized'; readonly taskId: number; readonly bytes: number }
  | { readonly kind: 'chunkFetched'; readonly taskId: number; readonly bytes: number }
  | {
      readonly kind: 'chunkDecoded';
      readonly taskId: number;
      readonly rows: number;
      readonly rowBytes: number;
      readonly counters: RecordCounters;
    }
  /**
   * A `decodeDetached` answer: the input offsets where its first record starts and just past
   * its last; rows, their estimated size, and the bytes their row groups take once placed (the
   * object's head included for chunk 0); `splittable`: every record read was one gzip member,
   * back to back, with no damage; `needsMore`: its last record does not end within the next
   * chunk.
   */
  | {
      readonly kind: 'detachedDecoded';
      readonly taskId: number;
      readonly startBytes: number;
      readonly endBytes: number;
      readonly rows: number;
      readonly rowBytes: number;
      readonly encodedBytes: number;
      readonly counters: RecordCounters;
      readonly splittable: boolean;
      readonly needsMore: boolean;
    }
  | { readonly kind: 'rowGroupEncoded'; readonly taskId: number; readonly bytes: number }
  | { readonly kind: 'uploadStarted'; readonly taskId: number }
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
