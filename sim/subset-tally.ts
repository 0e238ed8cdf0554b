/**
 * What a simulated subset run asked of the source: the picks of each job, each distinct
 * request the core planned for it (a chunk index and its range, the same for every attempt,
 * as the plan depends only on the picks and the limits), and every request sent, retries and
 * refused ones included. The simulated source reads a request's picks here to decode them.
 */
import type { ByteRange } from '../core/source.ts';
import { picksWithin } from './subset-picks.ts';

export interface SubsetTotals {
  readonly captures: number;
  /** Distinct requests the core planned (each chunk of each job once). */
  readonly requests: number;
  /** Requests sent, with every retry of a failed or throttled one. */
  readonly requestsSent: number;
  readonly bytesPicked: number;
  /** Bytes of the distinct requests: the picks and the gaps bridged between them. */
  readonly bytesFetched: number;
}

/** What a subset's work is counted in: picks decoded, requests answered or bytes fetched. */
export type SubsetWorkUnit = 'picks' | 'requests' | 'bytes';

export class SubsetTally {
  private readonly requestsByJob = new Map<string, Map<number, ByteRange>>();
  /** When each request's picks were decoded, how many, and the request's bytes: one entry a decode, in time order. */
  private readonly decodedAtMs: number[] = [];
  private readonly decodedPicks: number[] = [];
  private readonly decodedBytes: number[] = [];
  requestsSent = 0;

  constructor(readonly picksByJob: ReadonlyMap<string, readonly ByteRange[]>) {}

  /**
   * A request sent for chunk `chunkIndex` of a job. Returns false when the chunk was asked
   * before with another range: the core's plan of a job changed between attempts.
   */
  onRequest(jobId: string, chunkIndex: number, range: ByteRange): boolean {
    this.requestsSent += 1;
    let requests = this.requestsByJob.get(jobId);
    if (requests === undefined) {
      requests = new Map();
      this.requestsByJob.set(jobId, requests);
    }
    const known = requests.get(chunkIndex);
    if (known === undefined) requests.set(chunkIndex, range);
    return known === undefined || (known.offsetBytes === range.offsetBytes && known.lengthBytes === range.lengthBytes);
  }

  /** The picks a chunk's request carries: how many and their bytes; none for a chunk never asked. */
  picksOf(jobId: string, chunkIndex: number): { count: number; bytes: number } {
    const range = this.requestsByJob.get(jobId)?.get(chunkIndex);
    const picks = this.picksByJob.get(jobId);
    if (range === undefined || picks === undefined) return { count: 0, bytes: 0 };
    return picksWithin(picks, range);
  }

  /** A request's picks decoded at `nowMs` (the simulation's time only moves forward), and the request's bytes. */
  onDecoded(nowMs: number, picks: number, requestBytes: number): void {
    this.decodedAtMs.push(nowMs);
    this.decodedPicks.push(picks);
    this.decodedBytes.push(requestBytes);
  }

  private workOf(unit: SubsetWorkUnit, index: number): number {
    if (unit === 'requests') return 1;
    return (unit === 'picks' ? this.decodedPicks[index] : this.decodedBytes[index]) ?? 0;
  }

  /** Work decoded from `fromMs` (inclusive) to `toMs` (exclusive), a retried decode counted again. */
  decodedBetween(unit: SubsetWorkUnit, fromMs: number, toMs: number): number {
    let work = 0;
    for (let index = 0; index < this.decodedAtMs.length; index += 1) {
      const atMs = this.decodedAtMs[index] ?? 0;
      if (atMs >= fromMs && atMs < toMs) work += this.workOf(unit, index);
    }
    return work;
  }

  /** When the decodes had done `share` of all the work they did; 0 for none. */
  decodedShareAtMs(unit: SubsetWorkUnit, share: number): number {
    let total = 0;
    for (let index = 0; index < this.decodedAtMs.length; index += 1) total += this.workOf(unit, index);
    let done = 0;
    for (let index = 0; index < this.decodedAtMs.length; index += 1) {
      done += this.workOf(unit, index);
      if (done >= share * total) return this.decodedAtMs[index] ?? 0;
    }
    return 0;
  }

  /** The request's range of a chunk; undefined for a chunk never asked. */
  requestOf(jobId: string, chunkIndex: number): ByteRange | undefined {
    return this.requestsByJob.get(jobId)?.get(chunkIndex);
  }

  /** Distinct requests of one job so far. */
  requestsOf(jobId: string): number {
    return this.requestsByJob.get(jobId)?.size ?? 0;
  }

  totals(): SubsetTotals {
    let captures = 0;
    let bytesPicked = 0;
    for (const picks of this.picksByJob.values()) {
      captures += picks.length;
      for (const pick of picks) bytesPicked += pick.lengthBytes;
    }
    let requests = 0;
    let bytesFetched = 0;
    for (const ranges of this.requestsByJob.values()) {
      requests += ranges.size;
      for (const range of ranges.values()) bytesFetched += range.lengthBytes;
    }
    return { captures, requests, requestsSent: this.requestsSent, bytesPicked, bytesFetched };
  }
}
