/**
 * Proves the local folder sink: the Sink contract (temporary files count as leftovers);
 * while an upload is open the target name does not exist and only hidden temporary files
 * do, so a reader never sees half a file; a key that would leave the output folder is
 * refused as bad input.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { LocalFolderSink } from '../../adapters/sink/local-folder-sink.ts';
import { sinkContract } from './sink-contract.ts';

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
    await sink.uploadPart(handle, 2, new Uint8Array(10));
    await sink.uploadPart(handle, 1, new Uint8Array(20));
    const open = await filesBelow(root);
    expect(open.every((path) => /\/\.x\.parquet\.[0-9a-f-]+\.part-\d\.tmp$/.test(path))).toBe(true);
    expect(open.length).toBe(2);
    await sink.abort(handle);
    expect(await filesBelow(root)).toEqual([]);
  });

  test('a key that leaves the output folder is refused', async () => {
    const sink = new LocalFolderSink({ root });
    for (const key of ['../escape.parquet', '/absolute.parquet', 'a//b.parquet']) {
      const error = await sink.begin(key).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FailureError);
    }
  });
});
