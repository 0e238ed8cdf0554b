/**
 * Proves the local folder sink: the Sink contract (temporary files count as leftovers);
 * while an upload is open the target name does not exist and only hidden temporary files
 * do, so a reader never sees half a file; a key that would leave the output folder is
 * refused as bad input; a folder that cannot be synced after the rename fails the commit
 * (retryable), and the retry writes the object again.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { LocalFolderSink } from '../../adapters/sink/local-folder-sink.ts';
import { sinkContract } from './sink-contract.ts';

// What the disk answers when the sink syncs a folder (opened read-only) or opens it: null, success.
const folderFaults = vi.hoisted(() => ({
  sync: null as string | null,
  open: null as string | null,
  readdir: null as string | null,
}));

function errorWithCode(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>();
  // Faults only for folders the sink opens to sync, not for the part files it reads when joining.
  const open = async (...args: Parameters<typeof fs.open>) => {
    if (args[1] !== 'r' || String(args[0]).endsWith('.tmp')) return fs.open(...args);
    if (folderFaults.open !== null) throw errorWithCode(folderFaults.open);
    const handle = await fs.open(...args);
    const code = folderFaults.sync;
    if (code !== null) handle.sync = () => Promise.reject(errorWithCode(code));
    return handle;
  };
  const readdir = (async (...args: Parameters<typeof fs.readdir>) => {
    if (folderFaults.readdir !== null) throw errorWithCode(folderFaults.readdir);
    return fs.readdir(...args);
  }) as typeof fs.readdir;
  return { ...fs, open, readdir, default: { ...fs, open, readdir } };
});

async function filesBelow(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

sinkContract('local folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'local-sink-contract-'));
  // Small parts keep the contract quick; the S3 minimum does not apply to files.
  const sink = new LocalFolderSink({ root, partBytesMin: 64 * 1024 });
  return {
    sink,
    partBytesMin: sink.partBytesMin,
    readObject: (key) =>
      readFile(sink.pathOf(key)).then(
        (bytes) => new Uint8Array(bytes),
        () => null,
      ),
    leftovers: async () => (await filesBelow(root)).filter((path) => path.split('/').at(-1)?.startsWith('.') === true),
    teardown: () => rm(root, { recursive: true, force: true }),
  };
});

describe('local folder sink', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-sink-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  test('an open upload shows only hidden temporary files beside the target', async () => {
    const sink = new LocalFolderSink({ root });
    const handle = await sink.begin('crawl=unknown/subset=unknown/a/x.parquet');
    await sink.uploadPart(handle, 2, [new Uint8Array(10)]);
    await sink.uploadPart(handle, 1, [new Uint8Array(20)]);
    const open = await filesBelow(root);
    expect(open.every((path) => /\/\.x\.parquet\.[0-9a-f-]+\.part-\d\.tmp$/.test(path))).toBe(true);
    expect(open.length).toBe(2);
    await sink.abort(handle);
    expect(await filesBelow(root)).toEqual([]);
  });

  test('a part file changed after its upload fails the completion, and nothing is published', async () => {
    const sink = new LocalFolderSink({ root, partBytesMin: 16 });
    const key = 'crawl=unknown/subset=unknown/changed.parquet';
    const handle = await sink.begin(key);
    const receipts = [
      await sink.uploadPart(handle, 1, [new Uint8Array(40).fill(1), new Uint8Array(40).fill(2)]),
      await sink.uploadPart(handle, 2, [new Uint8Array(30).fill(3)]),
    ];
    const parts = (await filesBelow(root)).filter((path) => path.includes('changed.parquet'));
    const second = parts.find((path) => path.endsWith('.part-2.tmp')) ?? '';
    // One byte flipped, the length kept: only the checksum can tell.
    const bytes = await readFile(join(root, second));
    bytes[7] = 9;
    await writeFile(join(root, second), bytes);
    const error = await sink.complete(handle, receipts).catch((caught: unknown) => caught);
    expect((error as FailureError).message).toMatch(/part 2 .* changed after its upload/);
    expect(await readFile(sink.pathOf(key)).catch(() => null)).toBeNull();
    await sink.abort(handle);
  });

  test('a key that leaves the output folder is refused', async () => {
    const sink = new LocalFolderSink({ root });
    for (const key of ['../escape.parquet', '/absolute.parquet', 'a//b.parquet']) {
      const error = await sink.begin(key).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FailureError);
    }
  });
});

describe('local folder sink, when the folder cannot be made durable', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-sink-sync-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));
  afterEach(() => {
    folderFaults.sync = null;
    folderFaults.open = null;
    folderFaults.readdir = null;
  });

  async function uploaded(sink: LocalFolderSink, key: string, bytes: Uint8Array) {
    const handle = await sink.begin(key);
    return { handle, receipt: await sink.uploadPart(handle, 1, [bytes]) };
  }

  test('a failed folder sync fails the commit retryably, and the retry writes the object again', async () => {
    const sink = new LocalFolderSink({ root });
    const key = 'crawl=unknown/subset=unknown/eio.parquet';
    const bytes = new Uint8Array(3_000).map((_, index) => index % 251);
    const { handle, receipt } = await uploaded(sink, key, bytes);
    folderFaults.sync = 'EIO';
    const error = await sink.complete(handle, [receipt]).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure).toMatchObject({ fault: 'remote', retryable: true });
    expect((error as FailureError).message).toContain('EIO');
    folderFaults.sync = null;
    await sink.complete(handle, [receipt]);
    expect(new Uint8Array(await readFile(sink.pathOf(key)))).toEqual(bytes);
    expect(await filesBelow(root)).toEqual([key]);
  });

  test('a folder that cannot be opened to sync fails the commit too', async () => {
    const sink = new LocalFolderSink({ root });
    const { handle, receipt } = await uploaded(sink, 'crawl=unknown/subset=unknown/emfile.parquet', new Uint8Array(9));
    folderFaults.open = 'EMFILE';
    const error = await sink.complete(handle, [receipt]).catch((caught: unknown) => caught);
    expect((error as FailureError).failure).toMatchObject({ retryable: true });
    await sink.abort(handle);
  });

  test('a file system that cannot sync folders at all (EINVAL) still commits, as PostgreSQL allows', async () => {
    const sink = new LocalFolderSink({ root });
    const key = 'crawl=unknown/subset=unknown/einval.parquet';
    const { handle, receipt } = await uploaded(sink, key, new Uint8Array(7).fill(1));
    folderFaults.sync = 'EINVAL';
    await sink.complete(handle, [receipt]);
    expect(new Uint8Array(await readFile(sink.pathOf(key)))).toEqual(new Uint8Array(7).fill(1));
  });

  test('an abort that cannot list the folder says so, rather than reporting nothing left behind', async () => {
    const sink = new LocalFolderSink({ root });
    const { handle } = await uploaded(sink, 'crawl=unknown/subset=unknown/eacces.parquet', new Uint8Array(5));
    folderFaults.readdir = 'EACCES';
    const error = await sink.abort(handle).catch((caught: unknown) => caught);
    expect((error as FailureError).message).toContain('EACCES');
    folderFaults.readdir = null;
    await sink.abort(handle);
  });
});
