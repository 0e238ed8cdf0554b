import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { ParquetCompression } from '@dsnp/parquetjs';

/** The codecs a page can be written with (`--compression`). */
export type PageCompression = Extract<ParquetCompression, 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI'>;

type Compress = (bytes: Buffer) => Buffer;

const require = createRequire(import.meta.url);

/** Loads a package by name: `require` here; a test's loader finds no native binary, to test the fallback. */
export type PackageLoader = (id: string) => unknown;

/**
 * SNAPPY through the `snappy` package (native code built with napi-rs, prebuilt for linux x64
 * and arm64 in platform packages on npm): 489 MB per CPU-second on an 8 MiB page of
 * CommonCrawl-like HTML against snappyjs's 237 (parquetjs's codec, in JavaScript), the same
 * output size within 0.02 %, best of five on this 2-core machine at a load average of 16. Its
 * binary is an optional dependency, so on a platform without one this falls back to snappyjs;
 * both write the same format.
 */
function snappyCompressor(load: PackageLoader): Compress {
  try {
    const native = load('snappy') as {
      compressSync: (bytes: Buffer, options: { copyOutputData: boolean }) => Buffer;
    };
    // Output copied into a Buffer of node's: the package's own (external) Buffers are memory
    // V8 does not count, so it collected them late; peak RSS exporting 4 MB payloads at a
    // 400 MiB budget was 585-594 MB with them, 495-525 MB with the copy, at the same CPU time.
    return (bytes) => native.compressSync(bytes, { copyOutputData: true });
  } catch {
    // Resolved from parquetjs's own folder: snappyjs is its dependency, not ours.
    const fromParquetjs = createRequire(require.resolve('@dsnp/parquetjs'));
    const javascript = fromParquetjs('snappyjs') as { compress: (bytes: Buffer) => Uint8Array };
    return (bytes) => {
      const compressed = javascript.compress(bytes);
      return Buffer.from(compressed.buffer, compressed.byteOffset, compressed.byteLength);
    };
  }
}

/**
 * Page compression with SNAPPY's native binary loaded through `load`, on the first SNAPPY page
 * (12 ms of a CPU thread's start, for nothing in a GZIP export). GZIP and BROTLI as parquetjs
 * writes them (zlib's defaults: gzip level 6, brotli quality 11), so the bytes of a page do not
 * depend on which encoder wrote it.
 */
export function pageCompressor(load: PackageLoader): (compression: PageCompression, bytes: Buffer) => Buffer {
  let snappy: Compress | undefined;
  const compressors: Record<PageCompression, Compress> = {
    UNCOMPRESSED: (bytes) => bytes,
    SNAPPY: (bytes) => (snappy ??= snappyCompressor(load))(bytes),
    GZIP: (bytes) => zlib.gzipSync(bytes),
    BROTLI: (bytes) => zlib.brotliCompressSync(bytes),
  };
  return (compression, bytes) => compressors[compression](bytes);
}

/** A page's bytes compressed with `compression`; UNCOMPRESSED hands back the same Buffer. */
export const compressPage = pageCompressor(require);
