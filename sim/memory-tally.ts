import type { Command } from '../core/commands.ts';
import type { Input } from '../core/inputs.ts';

/** What the driver knows one job holds. */
interface JobTally {
  readonly chunkBytes: Map<number, number>;
  /** Encoded bytes of detached decodes answered and not yet placed or dropped, by chunk. */
  readonly detachedBytes: Map<number, number>;
  rowsBuffered: number;
  rowBytesBuffered: number;
  heldBytes: number;
  ended: boolean;
}

/** A task in flight and the bytes it pins: an ended job's bytes stay until its answer comes. */
interface TaskTally {
  readonly job: JobTally;
  readonly kind: 'fetch' | 'decode' | 'encode' | 'upload' | 'commit';
  readonly index: number;
  readonly bytes: number;
}

/**
 * The driver's own count of the bytes a worker holds, from the commands and answers it sees,
 * so the memory checker does not have to trust the core's arithmetic. The rules are the ones
 * core/capacity.ts documents: a chunk is held from its first fetch until it is decoded, rows
 * from their decode until the encode that takes them ends, encoded bytes until their part is
 * uploaded; an ended job frees all at once except what its tasks still in flight hold, which
 * their answers free. A split job's chunk (core/split-decode.ts) is held until it is placed,
 * and a detached decode's encoded bytes from its answer.
 */
export class MemoryTally {
  heldBytes = 0;
  private readonly jobs = new Map<string, JobTally>();
  private readonly tasks = new Map<number, TaskTally>();

  private job(jobId: string): JobTally {
    let job = this.jobs.get(jobId);
    if (job === undefined) {
      const detachedBytes = new Map<number, number>();
      job = { chunkBytes: new Map(), detachedBytes, rowsBuffered: 0, rowBytesBuffered: 0, heldBytes: 0, ended: false };
      this.jobs.set(jobId, job);
    }
    return job;
  }

  private hold(job: JobTally, bytes: number): void {
    job.heldBytes += bytes;
    this.heldBytes += bytes;
  }

  /** A command the core just gave, in order. */
  onCommand(command: Command): void {
    switch (command.kind) {
      case 'fetchChunk': {
        const job = this.job(command.jobId);
        if (!job.chunkBytes.has(command.chunkIndex)) {
          job.chunkBytes.set(command.chunkIndex, command.lengthBytes);
          this.hold(job, command.lengthBytes);
        }
        this.tasks.set(command.taskId, { job, kind: 'fetch', index: command.chunkIndex, bytes: command.lengthBytes });
        return;
      }
      case 'decodeChunk': {
        const job = this.job(command.jobId);
        this.tasks.set(command.taskId, {
          job,
          kind: 'decode',
          index: command.chunkIndex,
          bytes: job.chunkBytes.get(command.chunkIndex) ?? 0,
        });
        return;
      }
      case 'decodeDetached': {
        // Its chunks stay held until the chunk is placed (core/split-decode.ts): the task pins nothing more.
        const job = this.job(command.jobId);
        this.tasks.set(command.taskId, { job, kind: 'decode', index: command.chunkIndex, bytes: 0 });
        return;
      }
      case 'placeDetached':
        return this.onPlaced(command.jobId, command.chunkIndex, command.place);
      case 'encodeRowGroup': {
        // An encode takes every row gathered so far (core/dispatch.ts); a different count is a bug.
        const job = this.job(command.jobId);
        const bytes = command.rows === job.rowsBuffered ? job.rowBytesBuffered : Number.NaN;
        job.rowsBuffered = 0;
        job.rowBytesBuffered = 0;
        this.tasks.set(command.taskId, { job, kind: 'encode', index: command.rowGroupIndex, bytes });
        return;
      }
      case 'uploadPart':
        this.tasks.set(command.taskId, {
          job: this.job(command.jobId),
          kind: 'upload',
          index: command.partNumber,
          bytes: command.lengthBytes,
        });
        return;
      case 'completeObject':
        this.tasks.set(command.taskId, { job: this.job(command.jobId), kind: 'commit', index: 0, bytes: 0 });
        return;
      case 'commitJob':
        this.tasks.set(command.taskId, { job: this.job(command.lease.jobId), kind: 'commit', index: 1, bytes: 0 });
        return;
      case 'jobEnded':
        return this.onJobEnded(command.jobId);
      default:
        return;
    }
  }

  /** A placed chunk's bytes are free and its encoded bytes the object's; a dropped chunk's encoded bytes are free. */
  private onPlaced(jobId: string, chunkIndex: number, place: boolean): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    const encodedBytes = job.detachedBytes.get(chunkIndex) ?? 0;
    job.detachedBytes.delete(chunkIndex);
    if (!place) return this.hold(job, -encodedBytes);
    this.hold(job, -(job.chunkBytes.get(chunkIndex) ?? 0));
    job.chunkBytes.delete(chunkIndex);
  }

  private onJobEnded(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    this.jobs.delete(jobId);
    job.ended = true;
    let pinnedBytes = 0;
    for (const task of this.tasks.values()) if (task.job === job) pinnedBytes += task.bytes;
    this.heldBytes -= job.heldBytes - pinnedBytes;
    job.heldBytes = pinnedBytes;
  }

  /** An answer about to be given to the core. */
  onAnswer(input: Input): void {
    if (!('taskId' in input)) return;
    const task = this.tasks.get(input.taskId);
    if (task === undefined) return;
    this.tasks.delete(input.taskId);
    const job = task.job;
    if (job.ended) {
      this.hold(job, -task.bytes);
      return;
    }
    switch (input.kind) {
      case 'chunkDecoded':
        job.chunkBytes.delete(task.index);
        this.hold(job, input.rowBytes - task.bytes);
        job.rowsBuffered += input.rows;
        job.rowBytesBuffered += input.rowBytes;
        return;
      case 'detachedDecoded':
        job.detachedBytes.set(task.index, input.encodedBytes);
        this.hold(job, input.encodedBytes);
        return;
      case 'rowGroupEncoded':
        this.hold(job, input.bytes - task.bytes);
        return;
      case 'partUploaded':
        this.hold(job, -task.bytes);
        return;
      default:
        return;
    }
  }
}
