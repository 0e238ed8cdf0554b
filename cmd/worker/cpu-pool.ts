/**
 * The CPU stages' threads: one `worker_threads` thread per core, thread i being the core's
 * CPU lane i. A job stays on the lane the core pinned it to from its first decode to its
 * footer, because its decoder (a record may straddle chunks), its gathered rows and its
 * encoder are state that cannot move; the core sends a lane one task at a time
 * (core/cpu-lanes.ts). A thread that dies fails the tasks it held and the jobs pinned to it
 * (their state is gone) and is replaced in its lane.
 */
import { Worker } from 'node:worker_threads';
import type { CaptureFilterSpec } from '../../adapters/filter/capture-filter.ts';
import type { ResumePoint } from '../../core/decoder.ts';
import { FailureError, ourFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { CpuReply, CpuRequest, CpuThreadData } from './cpu-messages.ts';
import type {
  CodecOptions,
  CpuStages,
  DecodeResult,
  DetachedRequest,
  DetachedResult,
  EncodedPiece,
} from './cpu-stages.ts';
import type { Encoder, PlacedRowGroups } from '../../core/encoder.ts';
import { currentLaunch } from './launch.ts';
import { ownedBytes } from './transferable-pieces.ts';

interface Pending {
  readonly resolve: (reply: CpuReply) => void;
  readonly reject: (error: unknown) => void;
}

interface CpuThread {
  worker: Worker;
  readonly pending: Map<number, Pending>;
  readonly jobs: Set<string>;
}

/**
 * A thread's young generation, in MiB. Its objects (rows, inflated records) live briefly, and
 * V8's default only made each thread's heap larger (measured over two threads on 600 MB:
 * 500–535 MB peak RSS at 8 against 572–579 MB, wall time within 3%).
 */
const threadYoungGenerationMb = 8;

export class CpuPool implements CpuStages {
  readonly sharesChunks = true;
  private readonly threads: CpuThread[] = [];
  /** The thread each job's state lives in, to forget it there when the job is dropped. */
  private readonly pinned = new Map<string, CpuThread>();
  /** Jobs whose thread died: their decoder state is gone, so every later task of theirs fails. */
  private readonly orphaned = new Set<string>();
  private nextRequestId = 1;
  private closed = false;
  /**
   * Imported after the threads are started, so that the encoder's packages (parquetjs, about
   * 90 ms of CPU) load on the event loop while the threads load theirs, not before the threads
   * start; and not at all by a run that stops before it starts them.
   */
  private readonly footerEncoder: Promise<Encoder>;

  /** `codec`: the schema every thread decodes and encodes; `filter`: each builds the run's row filter from it (cpu-thread.ts). */
  constructor(
    readonly size: number,
    private readonly codec: CodecOptions,
    private readonly filter: CaptureFilterSpec | null = null,
  ) {
    for (let index = 0; index < size; index++) this.threads.push(this.spawn());
    this.footerEncoder = import('../../adapters/parquet/parquet-encoder.ts').then(({ createParquetEncoder }) =>
      createParquetEncoder({ schema: codec.output.schema, compression: codec.compression }),
    );
    // A failed import fails the first footer; until then it is no unhandled rejection.
    this.footerEncoder.catch(() => undefined);
  }

  async decode(
    jobId: string,
    cpuLane: number,
    input: InputRef,
    chunk: Uint8Array,
    final: boolean,
    resumeAt: ResumePoint | null,
  ): Promise<DecodeResult> {
    // A view of shared memory crosses as it is (the runtime's chunk pool keeps it); other bytes are transferred.
    const shared = chunk.buffer instanceof SharedArrayBuffer;
    const bytes = shared ? chunk : ownedBytes(chunk);
    const reply = await this.request(
      jobId,
      cpuLane,
      (requestId) => ({ op: 'decode', requestId, jobId, input, chunk: bytes, final, resumeAt }),
      shared ? [] : [bytes.buffer as ArrayBuffer],
    );
    if (!('rowBytes' in reply)) throw new FailureError(ourFault('CPU thread answered a decode with no rows'));
    return reply;
  }

  /**
   * A detached decode on the thread of `cpuLane`, which pins nothing: its state goes and comes
   * with it. The chunks cross uncopied when they are views of shared memory (the runtime keeps
   * a split job's chunks so), else structured clone copies them: 64 MiB at 32 MiB chunks.
   */
  async decodeDetached(cpuLane: number, input: InputRef, request: DetachedRequest): Promise<DetachedResult> {
    const thread = this.threads[cpuLane];
    if (thread === undefined)
      throw new FailureError(ourFault(`CPU lane ${cpuLane} is not one of the ${this.threads.length} threads`));
    const requestId = this.nextRequestId++;
    const reply = await new Promise<CpuReply>((resolve, reject) => {
      thread.pending.set(requestId, { resolve, reject });
      const message: CpuRequest = { op: 'decodeDetached', requestId, input, request };
      thread.worker.postMessage(message);
    });
    if (!reply.ok) throw new FailureError(reply.failure);
    if (!('headBytes' in reply)) throw new FailureError(ourFault('CPU thread answered a detached decode with no rows'));
    return reply;
  }

  /** Encodes the next `rows` rows of the job; `final` also writes the footer (unless `detached`) and unpins it. */
  async encode(jobId: string, cpuLane: number, rows: number, final: boolean, detached: boolean): Promise<EncodedPiece> {
    const reply = await this.request(
      jobId,
      cpuLane,
      (requestId) => ({ op: 'encode', requestId, jobId, rows, final, detached }),
      [],
    );
    if (!('encoded' in reply)) throw new FailureError(ourFault('CPU thread answered an encode with no bytes'));
    if (final) this.unpin(jobId);
    return { pieces: reply.encoded, footerEntries: reply.footerEntries };
  }

  /** A footer is a few KB of metadata: built here, on the event loop, from the groups' entries. */
  footer(groups: readonly PlacedRowGroups[]): Promise<Uint8Array> {
    return this.footerEncoder.then((encoder) => encoder.footer(groups));
  }

  /** Forgets a job's decoder, rows and encoder in its thread. */
  drop(jobId: string): void {
    const thread = this.pinned.get(jobId);
    this.orphaned.delete(jobId);
    if (thread === undefined) return;
    const message: CpuRequest = { op: 'drop', jobId };
    thread.worker.postMessage(message);
    this.unpin(jobId);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private request(
    jobId: string,
    cpuLane: number,
    make: (requestId: number) => CpuRequest,
    transfer: ArrayBuffer[],
  ): Promise<CpuReply & { ok: true }> {
    if (this.orphaned.has(jobId))
      return Promise.reject(
        new FailureError(ourFault(`the CPU thread of job ${jobId} died; its decoder state is lost`)),
      );
    const thread = this.threadFor(jobId, cpuLane);
    const requestId = this.nextRequestId++;
    return new Promise<CpuReply>((resolve, reject) => {
      thread.pending.set(requestId, { resolve, reject });
      thread.worker.postMessage(make(requestId), transfer);
    }).then((reply) => {
      if (!reply.ok) throw new FailureError(reply.failure);
      return reply;
    });
  }

  private threadFor(jobId: string, cpuLane: number): CpuThread {
    const thread = this.threads[cpuLane];
    if (thread === undefined)
      throw new FailureError(ourFault(`CPU lane ${cpuLane} is not one of the ${this.threads.length} threads`));
    const pinned = this.pinned.get(jobId);
    if (pinned !== undefined && pinned !== thread)
      throw new FailureError(ourFault(`job ${jobId} moved CPU lanes; its decoder state is on another thread`));
    thread.jobs.add(jobId);
    this.pinned.set(jobId, thread);
    return thread;
  }

  private unpin(jobId: string): void {
    this.pinned.get(jobId)?.jobs.delete(jobId);
    this.pinned.delete(jobId);
  }

  private spawn(): CpuThread {
    const thread: CpuThread = {
      // The build's thread when the worker runs from its build, else the sources' (launch.ts).
      worker: new Worker(currentLaunch().cpuThreadEntry, {
        resourceLimits: { maxYoungGenerationSizeMb: threadYoungGenerationMb },
        workerData: { codec: this.codec, filter: this.filter } satisfies CpuThreadData,
      }),
      pending: new Map(),
      jobs: new Set(),
    };
    thread.worker.on('message', (reply: CpuReply) => {
      const pending = thread.pending.get(reply.requestId);
      thread.pending.delete(reply.requestId);
      pending?.resolve(reply);
    });
    thread.worker.on('error', (error) => this.onThreadDeath(thread, error));
    thread.worker.on('exit', (code) => {
      if (!this.closed) this.onThreadDeath(thread, new Error(`CPU thread exited with code ${code}`));
    });
    return thread;
  }

  private onThreadDeath(thread: CpuThread, error: unknown): void {
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    const failure = new FailureError(
      ourFault(`CPU thread died: ${error instanceof Error ? error.message : String(error)}`),
    );
    for (const pending of thread.pending.values()) pending.reject(failure);
    thread.pending.clear();
    for (const jobId of thread.jobs) {
      this.pinned.delete(jobId);
      this.orphaned.add(jobId);
    }
    void thread.worker.terminate();
    if (!this.closed) this.threads[index] = this.spawn();
    else this.threads.splice(index, 1);
  }
}
