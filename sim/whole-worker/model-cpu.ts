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
import type { CpuStages, DecodeResult } from '../../cmd/worker/cpu-stages.ts';
import { FailureError, ourFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { SeededRandom } from '../../core/seeded-random.ts';
import type { Models } from '../models.ts';
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

  private serviceMs(meanMs: number): number {
    return this.models.cpu.serviceTime === 'exponential' ? exponential(this.random, meanMs) : meanMs;
  }

  async decode(
    jobId: string,
    _cpuLane: number,
    _input: InputRef,
    chunk: Uint8Array,
    _final: boolean,
  ): Promise<DecodeResult> {
    const job = this.jobOf(jobId);
    const data = this.models.data;
    const startBytes = job.decodedBytes;
    const endBytes = startBytes + chunk.length;
    job.decodedBytes = endBytes;
    // Cumulative rounding, so a job's chunks add up to its whole row count, as in the planner's model.
    const rows = Math.floor(endBytes * data.rowsPerInputByte) - Math.floor(startBytes * data.rowsPerInputByte);
    const rowBytes =
      Math.floor(endBytes * data.rowBytesPerInputByte) - Math.floor(startBytes * data.rowBytesPerInputByte);
    await this.clock.sleep(this.serviceMs((chunk.length / this.models.cpu.decodeBytesPerSecondPerCore) * 1000));
    job.rowsBuffered += rows;
    return { rows, rowBytes, counters: { byType: { response: rows }, badByReason: {} } };
  }

  async encode(jobId: string, _cpuLane: number, rows: number, final: boolean): Promise<Uint8Array> {
    const job = this.jobOf(jobId);
    // The real encoders take rows their decoder produced; asking for more is a bug in the caller.
    if (rows > job.rowsBuffered)
      throw new FailureError(ourFault(`encode of ${rows} rows of ${jobId}, ${job.rowsBuffered} decoded`));
    const taken = rows;
    job.rowsBuffered -= taken;
    await this.clock.sleep(this.serviceMs((taken / this.models.cpu.encodeRowsPerSecondPerCore) * 1000));
    if (final) this.jobs.delete(jobId);
    const header = this.encoder.encode(`|rows=${taken}${final ? 'F' : ''}|`);
    const sizeBytes = Math.round(taken * this.models.data.parquetBytesPerRow) + (final ? footerBytes : 0);
    const bytes = new Uint8Array(Math.max(header.length, sizeBytes)).fill(0x2e);
    bytes.set(header, 0);
    return bytes;
  }

  drop(jobId: string): void {
    this.jobs.delete(jobId);
  }

  async close(): Promise<void> {
    this.jobs.clear();
  }
}
