import type { ParquetEncoderCompression } from '../../adapters/parquet/parquet-encoder.ts';
import { at } from '../../core/checked-access.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { Decoder, JobDecoder } from '../../core/decoder.ts';
import type { Encoder, JobEncoder } from '../../core/encoder.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { RecordCounters } from '../../core/record-counters.ts';
import type { OutputOptions } from '../../adapters/warc/warc-decoder.ts';

/**
 * What every CPU slot's decoder and encoder are made with: plain data, so that it crosses to a
 * thread as its `workerData`.
 */
/** How every CPU slot opens its decoder and encoder: the schema, `--inflate` and `--compression`. */
export interface CodecOptions {
  readonly output: OutputOptions;
  /** Inflate every member whole, checking its CRC (`--inflate full`); the index schema may skip bodies otherwise. */
  readonly fullInflate: boolean;
  readonly compression: ParquetEncoderCompression;
}

export interface DecodeResult {
  readonly rows: number;
  readonly rowBytes: number;
  readonly counters: RecordCounters;
}

/**
 * Where decode and encode run: on the thread pool (cpu-pool.ts) in production, or on the
 * event loop (below) for one core. Either way a job's rows stay where they were decoded:
 * `cpuLane` is the thread the core pinned the job to (core/cpu-lanes.ts).
 */
export interface CpuStages {
  readonly size: number;
  decode(jobId: string, cpuLane: number, input: InputRef, chunk: Uint8Array, final: boolean): Promise<DecodeResult>;
  /** Encodes the next `rows` rows of the job; `final` also writes the footer. */
  encode(jobId: string, cpuLane: number, rows: number, final: boolean): Promise<Uint8Array>;
  drop(jobId: string): void;
  close(): Promise<void>;
}

interface JobCodec {
  decoder: JobDecoder | null;
  encoder: JobEncoder | null;
  rows: CaptureRow[];
}

/** Decode and encode on the event loop: one CPU slot, no thread hops. */
export class InProcessCpu implements CpuStages {
  readonly size = 1;
  private readonly jobs = new Map<string, JobCodec>();

  constructor(
    private readonly decoder: Decoder,
    private readonly encoder: Encoder,
  ) {}

  private jobOf(jobId: string): JobCodec {
    let job = this.jobs.get(jobId);
    if (job === undefined) {
      job = { decoder: null, encoder: null, rows: [] };
      this.jobs.set(jobId, job);
    }
    return job;
  }

  async decode(
    jobId: string,
    _cpuLane: number,
    input: InputRef,
    chunk: Uint8Array,
    final: boolean,
  ): Promise<DecodeResult> {
    const job = this.jobOf(jobId);
    job.decoder ??= this.decoder.open(input);
    const decoded = job.decoder.push(chunk, final);
    for (const row of decoded.rows) job.rows.push(row);
    return { rows: decoded.rows.length, rowBytes: decoded.rowBytes, counters: decoded.counters };
  }

  async encode(jobId: string, _cpuLane: number, rows: number, final: boolean): Promise<Uint8Array> {
    const job = this.jobOf(jobId);
    job.encoder ??= this.encoder.open();
    const taken = job.rows.slice(0, rows);
    job.rows = job.rows.slice(rows);
    const pieces: Uint8Array[] = [];
    if (taken.length > 0) pieces.push(await job.encoder.writeRowGroup(taken));
    if (final) {
      pieces.push(await job.encoder.finish());
      this.jobs.delete(jobId);
    }
    return pieces.length === 1 ? at(pieces, 0) : Buffer.concat(pieces);
  }

  drop(jobId: string): void {
    this.jobs.delete(jobId);
  }

  async close(): Promise<void> {
    this.jobs.clear();
  }
}
