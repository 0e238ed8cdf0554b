import type { ParquetEncoderCompression } from '../../adapters/parquet/parquet-encoder.ts';
import { FailureError, ourFault } from '../../core/failure.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { Decoder, JobDecoder, ResumePoint } from '../../core/decoder.ts';
import type { Encoder, JobEncoder, PlacedRowGroups } from '../../core/encoder.ts';
import type { DetachedChunk, DetachedDecode } from '../../adapters/warc/detached-chunk-decoder.ts';
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
 * A detached decode's answer (core/inputs.ts `detachedDecoded`) with its rows encoded apart:
 * `bytes` go into the object as they are when the core places the chunk, the object's head
 * first for chunk 0 (`headBytes` long), and `footerEntries` into the footer.
 */
export interface DetachedResult extends DecodeResult {
  readonly startBytes: number;
  readonly endBytes: number;
  readonly splittable: boolean;
  readonly needsMore: boolean;
  readonly bytes: Uint8Array;
  readonly footerEntries: Uint8Array;
  readonly headBytes: number;
}

/** What a detached decode reads: the chunk, the next one, and where it starts. */
export interface DetachedRequest extends DetachedChunk {
  readonly chunkIndex: number;
}

/**
 * Encoded bytes, as the encoder's pieces in object order (not joined: see core/encoder.ts), and
 * for rows encoded apart (`detached`), what the footer needs of them.
 */
export interface EncodedPiece {
  readonly pieces: readonly Uint8Array[];
  readonly footerEntries: Uint8Array | null;
}

/**
 * Where decode and encode run: on the thread pool (cpu-pool.ts) in production, or on the
 * event loop (below) for one core. Either way a job's rows stay where they were decoded:
 * `cpuLane` is the thread the core pinned the job to (core/cpu-lanes.ts).
 */
export interface CpuStages {
  readonly size: number;
  /**
   * Its decodes run on other threads, so a split job's chunks, read by two decodes and again
   * after a false boundary, are best kept in shared memory (node-runtime.ts).
   */
  readonly sharesChunks: boolean;
  /** `resumeAt`: the job's first decode in order after split decoding fell back (core/split-decode.ts). */
  decode(
    jobId: string,
    cpuLane: number,
    input: InputRef,
    chunk: Uint8Array,
    final: boolean,
    resumeAt: ResumePoint | null,
  ): Promise<DecodeResult>;
  /** Decodes a chunk apart (core/split-decode.ts) on `cpuLane` and encodes its rows apart; no job state stays. */
  decodeDetached(cpuLane: number, input: InputRef, request: DetachedRequest): Promise<DetachedResult>;
  /**
   * Encodes the next `rows` rows of the job; `final` also writes the footer, unless `detached`:
   * those rows are encoded apart, and the caller writes the footer (`footer`).
   */
  encode(jobId: string, cpuLane: number, rows: number, final: boolean, detached: boolean): Promise<EncodedPiece>;
  /** The footer of an object whose row groups were encoded apart, placed where they are. */
  footer(groups: readonly PlacedRowGroups[]): Promise<Uint8Array>;
  drop(jobId: string): void;
  close(): Promise<void>;
}

interface JobCodec {
  decoder: JobDecoder | null;
  encoder: JobEncoder | null;
  rows: CaptureRow[];
}

/** Decodes a chunk apart with the run's decoder options (detached-chunk-decoder.ts). */
export type DetachedDecoder = (input: InputRef, request: DetachedChunk) => DetachedDecode;

/** Decode and encode on the event loop: one CPU slot, no thread hops. */
export class InProcessCpu implements CpuStages {
  readonly size = 1;
  readonly sharesChunks = false;
  private readonly jobs = new Map<string, JobCodec>();

  constructor(
    private readonly decoder: Decoder,
    private readonly encoder: Encoder,
    /** Null where split decoding is off (one CPU slot): a detached decode is then a bug. */
    private readonly detachedDecoder: DetachedDecoder | null = null,
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
    resumeAt: ResumePoint | null = null,
  ): Promise<DecodeResult> {
    const job = this.jobOf(jobId);
    job.decoder ??= this.decoder.open(input, resumeAt ?? undefined);
    const decoded = job.decoder.push(chunk, final);
    for (const row of decoded.rows) job.rows.push(row);
    return { rows: decoded.rows.length, rowBytes: decoded.rowBytes, counters: decoded.counters };
  }

  async decodeDetached(_cpuLane: number, input: InputRef, request: DetachedRequest): Promise<DetachedResult> {
    if (this.detachedDecoder === null)
      throw new FailureError(ourFault('a detached decode where split decoding is off'));
    const decoded = this.detachedDecoder(input, request);
    const encoded = await this.encoder.encodeDetached(decoded.rows);
    // The object's first bytes come with chunk 0, so that placing chunks in order builds it.
    const head = request.chunkIndex === 0 ? this.encoder.head : new Uint8Array(0);
    const bytes = head.length === 0 ? encoded.bytes : Buffer.concat([head, encoded.bytes]);
    const { rows, rowBytes, counters, startBytes, endBytes, splittable, needsMore } = decoded;
    const footerEntries = encoded.footerEntries;
    const result = { rowBytes, counters, startBytes, endBytes, splittable, needsMore, bytes, footerEntries };
    return { ...result, rows: rows.length, headBytes: head.length };
  }

  async encode(
    jobId: string,
    _cpuLane: number,
    rows: number,
    final: boolean,
    detached: boolean,
  ): Promise<EncodedPiece> {
    const job = this.jobOf(jobId);
    const taken = job.rows.slice(0, rows);
    job.rows = job.rows.slice(rows);
    if (detached) {
      const encoded = await this.encoder.encodeDetached(taken);
      if (final) this.jobs.delete(jobId);
      return { pieces: [encoded.bytes], footerEntries: encoded.footerEntries };
    }
    job.encoder ??= this.encoder.open();
    const pieces: Uint8Array[] = [];
    if (taken.length > 0) pieces.push(...(await job.encoder.writeRowGroup(taken)));
    if (final) {
      pieces.push(...(await job.encoder.finish()));
      this.jobs.delete(jobId);
    }
    return { pieces, footerEntries: null };
  }

  footer(groups: readonly PlacedRowGroups[]): Promise<Uint8Array> {
    return this.encoder.footer(groups);
  }

  drop(jobId: string): void {
    this.jobs.delete(jobId);
  }

  async close(): Promise<void> {
    this.jobs.clear();
  }
}
