/**
 * SNAPPY without the native binary (adapters/parquet/page-compression.ts): where the `snappy`
 * package cannot be loaded, pages are compressed with parquetjs's snappyjs, and the Parquet the
 * encoder writes with it reads back in DuckDB row for row as the native codec's. The encoder is
 * imported a second time with its page compression built on a loader that finds no `snappy`
 * (vitest's module registry, this file's alone); nothing global is patched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { PackageLoader } from '../../adapters/parquet/page-compression.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { Encoder } from '../../core/encoder.ts';
import { captureRowArbitrary } from '../support/export-row-arbitrary.ts';
import { duckdbRows } from '../support/parquet-rows.ts';

const pageCompressionPath = '../../adapters/parquet/page-compression.ts';
const folder = mkdtempSync(join(tmpdir(), 'parquet-snappy-fallback-'));
const require = createRequire(import.meta.url);

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Packages asked of the loader without the native binary: it must be asked for `snappy`. */
const asked: string[] = [];
const withoutNative: PackageLoader = (id) => {
  asked.push(id);
  throw new Error(`Cannot find module '${id}' (no binary for this platform)`);
};

/** The encoder module, imported afresh: with the native codec, or with its loader finding none. */
async function snappyEncoder(native: boolean): Promise<Encoder> {
  vi.resetModules();
  if (native) vi.doUnmock(pageCompressionPath);
  else
    vi.doMock(pageCompressionPath, async (importOriginal) => {
      const actual = await importOriginal<typeof import('../../adapters/parquet/page-compression.ts')>();
      return { ...actual, compressPage: actual.pageCompressor(withoutNative) };
    });
  const { createParquetEncoder } = await import('../../adapters/parquet/parquet-encoder.ts');
  return createParquetEncoder({ compression: 'SNAPPY' });
}

async function writeObject(
  encoder: Encoder,
  groups: readonly (readonly CaptureRow[])[],
  name: string,
): Promise<string> {
  const job = encoder.open();
  const pieces: Uint8Array[] = [];
  for (const rows of groups) pieces.push(...(await job.writeRowGroup(rows)));
  pieces.push(...(await job.finish()));
  const path = join(folder, name);
  writeFileSync(path, Buffer.concat(pieces));
  return path;
}

/** Rows of two row groups, with text that compresses (snappy's copies) and text that does not. */
function sampleGroups(): CaptureRow[][] {
  const random = fc.sample(captureRowArbitrary, { numRuns: 300, seed: 42 });
  const repeated = random.map((row, index) => ({ ...row, url: `https://example.com/page/${index % 7}`.repeat(20) }));
  return [random.slice(0, 150), repeated.slice(150)];
}

describe('SNAPPY pages without the native binary', () => {
  it('compress with snappyjs, the bytes snappyjs writes', async () => {
    const { pageCompressor } =
      await vi.importActual<typeof import('../../adapters/parquet/page-compression.ts')>(pageCompressionPath);
    const fromParquetjs = createRequire(require.resolve('@dsnp/parquetjs'));
    const snappyjs = fromParquetjs('snappyjs') as { compress: (bytes: Buffer) => Uint8Array };
    const page = Buffer.from('<html><body>'.concat('a capture of the web, '.repeat(500), '</body></html>'));
    const compressed = pageCompressor(withoutNative)('SNAPPY', page);
    expect(asked).toContain('snappy');
    expect(Buffer.compare(compressed, Buffer.from(snappyjs.compress(page)))).toBe(0);
    expect(compressed.length).toBeLessThan(page.length / 4);
  });

  it('write Parquet that DuckDB reads back as the native codec’s', async () => {
    const groups = sampleGroups();
    const nativePath = await writeObject(await snappyEncoder(true), groups, 'native.parquet');
    asked.length = 0;
    const fallbackPath = await writeObject(await snappyEncoder(false), groups, 'fallback.parquet');
    expect(asked).toEqual(['snappy']);
    const codecs = await duckdbRows(`SELECT DISTINCT compression FROM parquet_metadata('${fallbackPath}')`);
    expect(codecs).toEqual([{ compression: 'SNAPPY' }]);
    const read = (path: string) => duckdbRows(`SELECT * FROM read_parquet('${path}')`);
    const [nativeRows, fallbackRows] = [await read(nativePath), await read(fallbackPath)];
    expect(fallbackRows).toHaveLength(300);
    expect(fallbackRows).toEqual(nativeRows);
  });
});
