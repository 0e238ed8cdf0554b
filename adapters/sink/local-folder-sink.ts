/**
 * Output objects in a local folder. Parts arrive in parallel and in any order, so each is
 * written to its own hidden file beside the target (`.<name>.<uploadId>.part-<n>.tmp`); at
 * `complete` they are joined into `.<name>.<uploadId>.tmp`, fsynced, and renamed over the
 * target, then the folder is fsynced (or the commit fails): a reader sees the old file or the
 * whole new one, never half a file. `abort` deletes every temporary file of the upload.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { dirname, join } from 'node:path';
import { FailureError, assert, inputFault, ourFault, remoteFault, type Failure } from '../../core/failure.ts';
import type { PartReceipt, Sink, UploadHandle } from '../../core/sink.ts';
import { describeError } from '../aws/redact.ts';
import { classifyFileError } from '../source/local-errors.ts';

export interface LocalFolderSinkOptions {
  readonly root: string;
  /** Parts may be any size here; the S3 minimum is kept by default so both sinks agree. */
  readonly partBytesMin?: number;
}

const partsMax = 10_000;

/**
 * The join's read buffer, reused for every part of an object: reading each part whole took
 * fresh memory for every byte of the object (8 MiB a part), which this VM faults in at about
 * 150 ms of CPU per 32 MiB.
 */
const joinReadBytes = 1024 * 1024;

/**
 * A part's receipt tag: its length and CRC-32. It is read by this sink alone, at `complete`, to
 * find a part file changed after its upload; nothing else (the core, the ledgers) reads a
 * local tag. CRC-32 catches every change within 4 consecutive bytes and all but 1 in 2^32 of
 * the others, and a change of length shows in the length: enough against a bug or a stray
 * write, which is all the MD5 it replaces was for, at a seventh of the CPU (13 against 92 ms
 * for 64 MiB; MD5 of each part, twice, was 0.66 CPU-s of a 144 MB export).
 */
function partTag(checksum: number, lengthBytes: number): string {
  return `crc32-${checksum.toString(16).padStart(8, '0')}-${lengthBytes}`;
}

/** `.<name>.<uploadId>.part-<n>.tmp` and `.<name>.<uploadId>.tmp`, the upload id a UUID. */
const temporaryName = /^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(?:part-\d+\.)?tmp$/;

/** True for the name of a temporary file this sink writes (what `cleanup` may remove). */
export function isSinkTemporaryName(name: string): boolean {
  return temporaryName.test(name);
}

export class LocalFolderSink implements Sink {
  readonly partBytesMin: number;
  private readonly root: string;

  constructor(options: LocalFolderSinkOptions) {
    this.root = options.root;
    this.partBytesMin = options.partBytesMin ?? 5 * 1024 * 1024;
  }

  /** Where an output key lands on disk. */
  pathOf(key: string): string {
    const segments = key.split('/');
    if (key.startsWith('/') || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
      throw new FailureError(inputFault(`output key ${key} is not a plain relative path`));
    }
    return join(this.root, ...segments);
  }

  async begin(key: string): Promise<UploadHandle> {
    const target = this.pathOf(key);
    await fileStep(`create folder for ${key}`, () => mkdir(dirname(target), { recursive: true }));
    return { key, uploadId: randomUUID() };
  }

  /**
   * A folder has no upload to start: each part is its own temporary file from the first, and
   * `begin` made the folder. Still checked, so a start of a key that is not a plain path fails
   * as the start of an S3 upload would.
   */
  async start(handle: UploadHandle, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.pathOf(handle.key);
  }

  async uploadPart(handle: UploadHandle, partNumber: number, pieces: readonly Uint8Array[]): Promise<PartReceipt> {
    assert(
      Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= partsMax,
      `part number ${partNumber} outside 1..${partsMax}`,
    );
    // The pieces are written one after another, never joined into one buffer first.
    await fileStep(`write part ${partNumber} of ${handle.key}`, () =>
      writeFile(this.partPath(handle, partNumber), pieces),
    );
    let checksum = 0;
    let lengthBytes = 0;
    for (const piece of pieces) {
      checksum = crc32(piece, checksum);
      lengthBytes += piece.byteLength;
    }
    return { partNumber, etag: partTag(checksum, lengthBytes) };
  }

  async complete(handle: UploadHandle, parts: readonly PartReceipt[]): Promise<void> {
    assert(parts.length >= 1 && parts.length <= partsMax, `an object needs 1..${partsMax} parts, got ${parts.length}`);
    const target = this.pathOf(handle.key);
    const joined = join(dirname(target), `.${baseOf(target)}.${handle.uploadId}.tmp`);
    const ordered = [...parts].sort((left, right) => left.partNumber - right.partNumber);
    await fileStep(`join parts of ${handle.key}`, () => this.joinParts(handle, ordered, joined));
    await fileStep(`publish ${handle.key}`, () => rename(joined, target));
    await syncFolder(dirname(target), handle.key);
    await this.removeTemporaries(handle);
  }

  async abort(handle: UploadHandle): Promise<void> {
    await this.removeTemporaries(handle);
  }

  private partPath(handle: UploadHandle, partNumber: number): string {
    const target = this.pathOf(handle.key);
    return join(dirname(target), `.${baseOf(target)}.${handle.uploadId}.part-${partNumber}.tmp`);
  }

  private async joinParts(handle: UploadHandle, parts: readonly PartReceipt[], joined: string): Promise<void> {
    const output = await open(joined, 'w');
    try {
      const buffer = Buffer.allocUnsafe(joinReadBytes);
      for (const part of parts) {
        const tag = await copyPart(this.partPath(handle, part.partNumber), output, buffer);
        if (tag !== part.etag)
          throw new FailureError(ourFault(`part ${part.partNumber} of ${handle.key} changed after its upload`));
      }
      await output.sync();
    } finally {
      await output.close();
    }
  }

  private async removeTemporaries(handle: UploadHandle): Promise<void> {
    const target = this.pathOf(handle.key);
    const folder = dirname(target);
    const prefix = `.${baseOf(target)}.${handle.uploadId}.`;
    const names = await fileStep(`list temporary files of ${handle.key}`, () => readdirIfAny(folder));
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith('.tmp')) await rm(join(folder, name), { force: true });
    }
  }
}

/** Appends the part file at `path` to `output` through `buffer`, and returns the tag of what it copied. */
async function copyPart(path: string, output: FileHandle, buffer: Buffer): Promise<string> {
  const input = await open(path, 'r');
  try {
    const { size } = await input.stat();
    let checksum = 0;
    let lengthBytes = 0;
    // Bounded by the part's size over the buffer's, plus one read past what stat saw, should it grow.
    for (let reads = Math.ceil(size / buffer.length) + 1; reads > 0; reads -= 1) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const read = buffer.subarray(0, bytesRead);
      checksum = crc32(read, checksum);
      lengthBytes += bytesRead;
      await output.write(read);
    }
    return partTag(checksum, lengthBytes);
  } finally {
    await input.close();
  }
}

/** The names in a folder; none where the folder does not exist (begin never made it). */
async function readdirIfAny(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ENOENT') return [];
    throw error;
  }
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

async function fileStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new FailureError(classifyFileError(error, what));
  }
}

/**
 * Makes the rename durable: without it a crash can forget the new directory entry, and the
 * ledger would hold the job done for an object that is gone. A failure fails the commit,
 * retryably as a fault of the disk: the retry joins, renames and syncs again from the parts
 * still on disk, so it never trusts a second sync of the same rename (after a failed fsync
 * the kernel may report the next one clean without having written anything).
 */
async function syncFolder(folder: string, key: string): Promise<void> {
  const what = `sync the folder of ${key}`;
  const handle = await open(folder, 'r').catch((error: unknown) => {
    throw new FailureError(diskFault(error, what), { cause: error });
  });
  try {
    await handle.sync();
  } catch (error) {
    if (!cannotSyncFolders(error)) throw new FailureError(diskFault(error, what), { cause: error });
  } finally {
    await handle.close();
  }
}

/**
 * EINVAL and EBADF: this file system or platform does not sync folders at all, so the rename
 * is as durable as it can make it. PostgreSQL's fsync_fname ignores the same two for folders.
 */
function cannotSyncFolders(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EINVAL' || code === 'EBADF';
}

/** A fault of the disk the object is on, as a remote store's would be: a later attempt may not meet it. */
function diskFault(error: unknown, what: string): Failure {
  return remoteFault(`${what}: ${describeError(error)}`);
}
