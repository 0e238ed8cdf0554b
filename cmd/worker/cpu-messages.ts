import type { CodecOptions, DetachedRequest, DetachedResult } from './cpu-stages.ts';
import type { CaptureFilterSpec } from '../../adapters/filter/capture-filter.ts';
import type { Failure } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { RecordCounters } from '../../core/record-counters.ts';

/**
 * Messages between the runtime and a CPU thread. A job's decoder, its rows and its encoder
 * live in one thread from its first decode to its end, so rows never cross threads: only
 * chunk bytes go in (transferred, not copied) and encoded bytes come out. A detached decode
 * (core/split-decode.ts) reads a chunk and the next one, which stay the runtime's: they cross
 * as views of shared memory, and its rows come out encoded apart.
 */
export type CpuRequest =
  | {
      readonly op: 'decode';
      readonly requestId: number;
      readonly jobId: string;
      readonly input: InputRef;
      readonly chunk: Uint8Array;
      readonly final: boolean;
      readonly resumeAtBytes: number | null;
    }
  | {
      readonly op: 'decodeDetached';
      readonly requestId: number;
      readonly input: InputRef;
      readonly request: DetachedRequest;
    }
  | {
      readonly op: 'encode';
      readonly requestId: number;
      readonly jobId: string;
      readonly rows: number;
      readonly final: boolean;
      readonly detached: boolean;
    }
  | { readonly op: 'drop'; readonly jobId: string };

export type CpuReply =
  | {
      readonly requestId: number;
      readonly ok: true;
      readonly rows: number;
      readonly rowBytes: number;
      readonly counters: RecordCounters;
    }
  | ({ readonly requestId: number; readonly ok: true } & DetachedResult)
  | {
      readonly requestId: number;
      readonly ok: true;
      readonly encoded: Uint8Array;
      readonly footerEntries: Uint8Array | null;
    }
  | { readonly requestId: number; readonly ok: false; readonly failure: Failure };

/**
 * What a CPU thread is started with (`workerData`): how it opens its decoder and encoder, and
 * the run's row filter as checked data (the `--where` plan and the `--domains` path), which the
 * thread compiles and loads itself.
 */
export interface CpuThreadData {
  readonly codec: CodecOptions;
  readonly filter: CaptureFilterSpec | null;
}
