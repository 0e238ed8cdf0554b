import type { LeasedJob } from '../../core/input-ref.ts';
import type { PartReceipt, UploadHandle } from '../../core/sink.ts';
import type { PlacedRowGroups } from '../../core/encoder.ts';
import type { DetachedResult } from './cpu-stages.ts';
import { EncodedOutput } from './encoded-output.ts';

/**
 * The bytes the driver holds for one job on the event loop (rows live with the CPU stages):
 * the core holds only their sizes.
 * Everything here is dropped when the core says `dropJob` or the job commits.
 */
export class JobData {
  readonly chunks = new Map<number, Uint8Array>();
  readonly output = new EncodedOutput();
  /** Detached decodes answered and not yet placed or dropped, by chunk (core/split-decode.ts). */
  readonly detached = new Map<number, DetachedResult>();
  /**
   * Detached decodes sent and not yet answered. One still running after its job fell back to
   * decoding in order may read the chunk a decode in order has done with, so while any runs, a
   * chunk decoded in order is not handed back for reuse.
   */
  detachedRunning = 0;
  /** Row groups encoded apart, where they lie in the object: the footer is built from them. */
  readonly placed: PlacedRowGroups[] = [];
  /** A part's pieces from its first upload attempt to its upload, so a retry sends the same bytes. */
  readonly partBytes = new Map<number, readonly Uint8Array[]>();
  readonly receipts = new Map<number, PartReceipt>();
  upload: Promise<UploadHandle> | null = null;
  readonly abort = new AbortController();

  /** The job as claimed; its size, when the ledger had none, only the core learns (`sizeInput`). */
  constructor(readonly claimed: LeasedJob) {}
}
