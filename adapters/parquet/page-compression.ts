import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { ParquetCompression } from '@dsnp/parquetjs';

/** The codecs a page can be written with (`--compression`). */
export type PageCompression = Extract<ParquetCompression, 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI'>;

type Compress = (bytes: Buffer) => Buffer;

const require = createRequire(import.meta.url);

/**
 * SNAPPY through the `snappy` package (Google's C++ codec, prebuilt for linux x64 and arm64 in
 * platform packages on npm), measured at 8-12 times the speed of parquetjs's snappyjs on the
 * content column (docs/figures.md, "Content export"). Its binary is an optional dependency, so
 * on a platform without one this falls back to snappyjs, which parquetjs already ships; both
 * write the same format.
 */
function snappyCompressor(): Compress {
  try {
    const native = require('snappy') as { compressSync: (bytes: Buffer) => Buffer };
    return (bytes) => native.compressSync(bytes);
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
 * GZIP and BROTLI as parquetjs writes them (zlib's defaults: gzip level 6, brotli quality 11), so
 * the bytes of a page do not depend on which encoder wrote it.
 */
const compressors: Record<PageCompression, Compress> = {
  UNCOMPRESSED: (bytes) => bytes,
  SNAPPY: snappyCompressor(),
  GZIP: (bytes) => zlib.gzipSync(bytes),
  BROTLI: (bytes) => zlib.brotliCompressSync(bytes),
};

/** A page's bytes compressed with `compression`; UNCOMPRESSED hands back the same Buffer. */
export function compressPage(compression: PageCompression, bytes: Buffer): Buffer {
  return compressors[compression](bytes);
}
