/**
 * The CPU stages of a simulated worker: the planner's cost model (sim/models.ts) instead of the
 * real decoder and encoder. Each task takes virtual time, as a thread would take real time,
 * and produces what the runtime and the core need: row counts and sizes from a decode, bytes
 * from an encode. Why not the real codecs: their time is real, not virtual, so the makespan
 * would not be the model's; and a run of the fleet would decode gigabytes. What the whole-worker
 * simulation tests is the runtime's command handling and the core, which see only counts and
 * bytes; the codecs are tested against real files on their own (test/adapters/).
 *
 * The encoded bytes describe themselves, so the checkers can read a published object back:
 * every row group is a header `|rows=N|` (`|rows=NF|` for the last) padded with dots to the
 * model's Parquet size. An object whose rows do not add up to its input's is torn, doubled or
 * out of order.
 */
import type {
  CpuStages,
  DecodeResult,
  DetachedRequest,
  DetachedResult,
  EncodedPiece,
} from '../../cmd/worker/cpu-stages.ts';
import type { ResumePoint } from '../../core/decoder.ts';
import type { PlacedRowGroups } from '../../core/encoder.ts';
import { FailureError, ourFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { SeededRandom } from '../../core/seeded-random.ts';
import { ratesOf, spanDecodeOf, type Models } from '../models.ts';
import { exponential } from '../random-streams.ts';
import type { InstanceClock } from './instance-clock.ts';

/** Bytes of a Parquet footer added by the last encode; the planner's instance model adds the same. */
export const footerBytes = 16 * 1024;

/** Rows an input of `sizeBytes` gives under the model: what every object must hold. */
export function rowsOfInput(sizeBytes: number, models: Models): number {
  return Math.floor(sizeBytes * models.data.rowsPerInputByte);
}

/** The rows an object says it holds, or why it is not a whole object. */
export function rowsInObject(bytes: Uint8Array): number | string {
  const text = new TextDecoder().decode(bytes);
  let rows = 0;
  let finals = 0;
  let lastEnd = 0;
  for (const match of text.matchAll(/\|rows=(\d+)(F?)\|/g)) {
    if (finals > 0) return 'a row group after the footer';
    rows += Number(match[1]);
    if (match[2] === 'F') finals += 1;
    lastEnd = (match.index ?? 0) + match[0].length;
  }
  if (finals !== 1) return `${finals} footers`;
  if (/[^.]/.test(text.slice(lastEnd))) return 'bytes after the footer that are not padding';
  return rows;
}

interface JobCodec {
  decodedBytes: number;
  rowsBuffered: number;
}

export class ModelCpu implements CpuStages {
  /** Its decodes read nothing of the bytes: no copy into shared memory. */
  readonly sharesChunks = false;
  private readonly jobs = new Map<string, JobCodec>();
  private readonly encoder = new TextEncoder();

  constructor(
    readonly size: number,
    private readonly clock: InstanceClock,
    private readonly models: Models,
    private readonly random: SeededRandom,
  ) {}

  private jobOf(jobId: string): JobCodec {
    let job = this.jobs.get(jobId);
    if (job === undefined) {
      job = { decodedBytes: 0, rowsBuffered: 0 };
      this.jobs.set(jobId, job);
    }
    return job;
  }

  /** The mean time one core takes to encode `rows`, at the rate of the schema in use. */
  private encodeMs(rows: number): number {
    return (rows / ratesOf(this.models).encodeRowsPerSecondPerCore) * 1000;
  }

  private serviceMs(meanMs: number): number {
    return this.models.cpu.serviceTime === 'exponential' ? exponential(this.random, meanMs) : meanMs;
  }

  async decode(
    jobId: string,
    _cpuLane: number,
    _input: InputRef,
    chunk: Uint8Array,
    _final: boolean,
    resumeAt: ResumePoint | null = null,
  ): Promise<DecodeResult> {
    const job = this.jobOf(jobId);
    if (resumeAt !== null) job.decodedBytes = resumeAt.atBytes;
    const startBytes = job.decodedBytes;
    const endBytes = startBytes + chunk.length;
    job.decodedBytes = endBytes;
    const { rows, rowBytes, decodeMs } = spanDecodeOf(this.models, startBytes, endBytes);
    await this.clock.sleep(this.serviceMs(decodeMs));
    job.rowsBuffered += rows;
    return { rows, rowBytes, counters: { byType: { response: rows }, badByReason: {} } };
  }

  /**
   * A detached decode (core/split-decode.ts) of a file whose records never straddle a chunk's
   * end: it starts at the chunk's start (or where it is told) and ends at its end, its rows
   * those of its bytes, as a decode in order would count them, encoded in the same task.
   */
  async decodeDetached(_cpuLane: number, _input: InputRef, request: DetachedRequest): Promise<DetachedResult> {
    const startBytes = request.startBytes ?? request.chunkOffset;
    const endBytes = request.chunkOffset + request.chunk.length;
    const { rows, rowBytes, decodeMs } = spanDecodeOf(this.models, startBytes, endBytes);
    await this.clock.sleep(this.serviceMs(decodeMs + this.encodeMs(rows)));
    const counters = { byType: { response: rows }, badByReason: {} };
    const { bytes, footerEntries } = this.rowGroupApart(rows);
    return {
      rows,
      rowBytes,
      counters,
      startBytes,
      endBytes,
      splittable: true,
      needsMore: false,
      bytes,
      footerEntries,
      headBytes: 0,
    };
  }

  /** The footer of row groups encoded apart: the last row group's header with no rows. */
  async footer(_groups: readonly PlacedRowGroups[]): Promise<Uint8Array> {
    return this.rowGroup(0, true);
  }

  /** Rows encoded apart (split decoding): a row group and its footer entry, its row count; the runtime writes the footer. */
  private rowGroupApart(rows: number): { readonly bytes: Uint8Array; readonly footerEntries: Uint8Array } {
    return { bytes: this.rowGroup(rows, false), footerEntries: this.encoder.encode(String(rows)) };
  }

  private rowGroup(rows: number, final: boolean): Uint8Array {
    const header = this.encoder.encode(`|rows=${rows}${final ? 'F' : ''}|`);
    const sizeBytes = Math.round(rows * ratesOf(this.models).parquetBytesPerRow) + (final ? footerBytes : 0);
    const bytes = new Uint8Array(Math.max(header.length, sizeBytes)).fill(0x2e);
    bytes.set(header, 0);
    return bytes;
  }

  async encode(
    jobId: string,
    _cpuLane: number,
    rows: number,
    final: boolean,
    detached: boolean,
  ): Promise<EncodedPiece> {
    const job = this.jobOf(jobId);
    // The real encoders take rows their decoder produced; asking for more is a bug in the caller.
    if (rows > job.rowsBuffered)
      throw new FailureError(ourFault(`encode of ${rows} rows of ${jobId}, ${job.rowsBuffered} decoded`));
    const taken = rows;
    job.rowsBuffered -= taken;
    await this.clock.sleep(this.serviceMs(this.encodeMs(taken)));
    if (final) this.jobs.delete(jobId);
    if (detached) {
      const { bytes, footerEntries } = this.rowGroupApart(taken);
      return { pieces: [bytes], footerEntries };
    }
    return { pieces: [this.rowGroup(taken, final)], footerEntries: null };
  }

  drop(jobId: string): void {
    this.jobs.delete(jobId);
  }

  async close(): Promise<void> {
    this.jobs.clear();
  }
}
