import type { CaptureRow } from '../../core/capture-row.ts';
import type { JobDecoder } from '../../core/decoder.ts';
import type { JobEncoder } from '../../core/encoder.ts';
import type { ClaimedJob } from '../../core/input-ref.ts';
import type { PartReceipt, UploadHandle } from '../../core/sink.ts';
import { EncodedOutput } from './encoded-output.ts';

/**
 * The bytes and per-job state the driver holds for one job: the core holds only their sizes.
 * Everything here is dropped when the core says `dropJob` or the job commits.
 */
export class JobData {
  readonly chunks = new Map<number, Uint8Array>();
  /** Rows decoded and not yet encoded, in order. */
  rows: CaptureRow[] = [];
  decoder: JobDecoder | null = null;
  encoder: JobEncoder | null = null;
  readonly output = new EncodedOutput();
  readonly partBytes = new Map<number, Uint8Array>();
  readonly receipts = new Map<number, PartReceipt>();
  upload: Promise<UploadHandle> | null = null;
  readonly abort = new AbortController();

  constructor(readonly claimed: ClaimedJob) {}

  /** Rows for the next row group: the first `count` rows gathered. */
  takeRows(count: number): CaptureRow[] {
    const taken = this.rows.slice(0, count);
    this.rows = this.rows.slice(count);
    return taken;
  }
}
