/**
 * Output objects in a local folder. Parts arrive in parallel and in any order, so each is
 * written to its own hidden file beside the target (`.<name>.<uploadId>.part-<n>.tmp`); at
 * `complete` they are joined into `.<name>.<uploadId>.tmp`, fsynced, and renamed over the
 * target, then the folder is fsynced (or the commit fails): a reader sees the old file or the
 * whole new one, never half a file. `abort` deletes every temporary file of the upload.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
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

  async uploadPart(handle: UploadHandle, partNumber: number, bytes: Uint8Array): Promise<PartReceipt> {
    assert(
      Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= partsMax,
      `part number ${partNumber} outside 1..${partsMax}`,
    );
    await fileStep(`write part ${partNumber} of ${handle.key}`, () =>
      writeFile(this.partPath(handle, partNumber), bytes),
    );
    return { partNumber, etag: createHash('md5').update(bytes).digest('hex') };
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
      for (const part of parts) {
        // One part in memory at a time: parts are the core's upload size, already budgeted.
        const bytes = await readFile(this.partPath(handle, part.partNumber));
        const etag = createHash('md5').update(bytes).digest('hex');
        if (etag !== part.etag)
          throw new FailureError(ourFault(`part ${part.partNumber} of ${handle.key} changed after its upload`));
        await output.write(bytes);
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
