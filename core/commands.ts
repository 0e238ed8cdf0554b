import type { ResumePoint } from './decoder.ts';
import type { Failure } from './failure.ts';
import type { InputRef, Lease } from './input-ref.ts';
import type { MetricsSnapshot } from './metrics-snapshot.ts';
import type { RecordCounters } from './record-counters.ts';

/** How a job left this worker. */
export type JobOutcome = 'committed' | 'failed' | 'released' | 'lost';

/** What a job did, for the ledger's record and the run's summary. */
export interface JobSummary {
  readonly jobId: string;
  readonly inputBytes: number;
  readonly rows: number;
  readonly outputBytes: number;
  readonly parts: number;
  readonly counters: RecordCounters;
}

/**
 * Requests the core makes of its driver. Task commands carry a `taskId` that the answer
 * (see inputs.ts) names. The driver holds the data; the core holds sizes and order.
 */
export type Command =
  | { readonly kind: 'claimJobs'; readonly count: number }
  /**
   * Learn the size of a job claimed without one (a manifest lists paths only): one HEAD of the
   * input, a request to the source like a chunk's GET and dispatched under the same caps and
   * limit; answer `inputSized`.
   */
  | { readonly kind: 'sizeInput'; readonly taskId: number; readonly jobId: string; readonly input: InputRef }
  | {
      readonly kind: 'fetchChunk';
      readonly taskId: number;
      readonly jobId: string;
      readonly input: InputRef;
      readonly chunkIndex: number;
      readonly offsetBytes: number;
      readonly lengthBytes: number;
    }
  /**
   * Decode chunk `chunkIndex` (fetched earlier) with the job's decoder; chunks come in order.
   * `cpuLane` is the CPU thread the job is pinned to (see cpu-lanes.ts). `resumeAt`, on the
   * first decode of a job that fell back from split decoding (split-decode.ts), is where its
   * decoder starts and what the records before it, exported already, held; null otherwise.
   */
  | {
      readonly kind: 'decodeChunk';
      readonly taskId: number;
      readonly jobId: string;
      readonly cpuLane: number;
      readonly chunkIndex: number;
      readonly final: boolean;
      readonly resumeAt: ResumePoint | null;
    }
  /**
   * Decode chunk `chunkIndex` apart from the job's other chunks (split-decode.ts), on
   * `cpuLane`, and encode its rows into row groups standing alone; answer `detachedDecoded`.
   * The decode reads chunk `chunkIndex` and, for its last record, chunk `chunkIndex + 1` (not
   * when `final`). It starts at `startBytes`, an input offset, or, when null, at the first
   * verified record boundary at or after the chunk's start, and reads every record that starts
   * before the chunk's end. The driver keeps the encoded bytes until `placeDetached` says
   * where they go.
   */
  | {
      readonly kind: 'decodeDetached';
      readonly taskId: number;
      readonly jobId: string;
      readonly cpuLane: number;
      readonly chunkIndex: number;
      readonly startBytes: number | null;
      readonly final: boolean;
      /** Chunk `chunkIndex + 1` is the file's last: nothing follows its bytes. */
      readonly nextFinal: boolean;
    }
  /**
   * The detached decode of chunk `chunkIndex` was accepted (`place`: its encoded bytes go at
   * the object's end now, and its row groups into the footer) or rejected (dropped). No answer.
   */
  | { readonly kind: 'placeDetached'; readonly jobId: string; readonly chunkIndex: number; readonly place: boolean }
  /**
   * Encode the next `rows` rows the job's decoder produced as row group `rowGroupIndex`, on
   * the job's CPU lane; `final` also writes the footer (rows may then be 0). `detached`: the
   * object began with detached decodes' row groups (split-decode.ts), so these rows are
   * encoded apart too and the footer is built from every row group placed.
   */
  | {
      readonly kind: 'encodeRowGroup';
      readonly taskId: number;
      readonly jobId: string;
      readonly cpuLane: number;
      readonly rowGroupIndex: number;
      readonly rows: number;
      readonly final: boolean;
      readonly detached: boolean;
    }
  /**
   * Start the job's upload on the sink (S3's CreateMultipartUpload), a request to the sink
   * like a part's and dispatched under the same caps and limit; answer `uploadStarted`. Sent
   * once a job, before its parts, and only for an object of more than one part or a first part
   * of at least `partBytesMin`: a smaller single part is written whole at `completeObject`.
   */
  | { readonly kind: 'startUpload'; readonly taskId: number; readonly jobId: string; readonly outputKey: string }
  /** Upload bytes [offsetBytes, offsetBytes + lengthBytes) of the encoded object as part `partNumber` (from 1). */
  | {
      readonly kind: 'uploadPart';
      readonly taskId: number;
      readonly jobId: string;
      readonly outputKey: string;
      readonly partNumber: number;
      readonly offsetBytes: number;
      readonly lengthBytes: number;
      readonly final: boolean;
    }
  /**
   * First step of a commit: complete the job's object, making it visible, whole, under its
   * final key; answer `objectCompleted`. Nothing may abort the object after this.
   */
  | { readonly kind: 'completeObject'; readonly taskId: number; readonly jobId: string; readonly outputKey: string }
  /**
   * Second step, once the object is complete: record the job done in the ledger, fenced by
   * the lease; answer `jobCommitted`, or `leaseLost` and `taskFailed` when the ledger refuses.
   * The core retries it alone (see job-lifecycle.ts); the ledger's complete is idempotent for
   * the attempt that did it, so a retry after a write that landed unheard answers "done".
   */
  | {
      readonly kind: 'commitJob';
      readonly taskId: number;
      readonly lease: Lease;
      readonly outputKey: string;
      readonly summary: JobSummary;
    }
  /** Renew these leases; answer with `leasesRenewed` carrying `sentAtMs`, and `leaseLost` for each refused. */
  | { readonly kind: 'heartbeat'; readonly leases: readonly Lease[]; readonly sentAtMs: number }
  /** Free everything held for the job and abort its upload; answers of its tasks still in flight will come and are ignored. */
  | { readonly kind: 'dropJob'; readonly jobId: string; readonly reason: string }
  | { readonly kind: 'failJob'; readonly lease: Lease; readonly failure: Failure; readonly summary: JobSummary }
  | { readonly kind: 'releaseJob'; readonly lease: Lease }
  /** Report: the job ended here, once per claimed job. */
  | {
      readonly kind: 'jobEnded';
      readonly jobId: string;
      readonly uri: string;
      readonly outcome: JobOutcome;
      readonly summary: JobSummary;
      readonly failure?: Failure;
    }
  | { readonly kind: 'emitMetrics'; readonly snapshot: MetricsSnapshot }
  /** Nothing is left to do: the run is exhausted or the drain ended. Emitted once. */
  | { readonly kind: 'finished' };

export type CommandKind = Command['kind'];
export type CommandOf<K extends CommandKind> = Extract<Command, { kind: K }>;
