/**
 * A CommonCrawl-like crawl tree (`crawl-data/<crawl>/warc.paths.gz` and the files it lists)
 * of one generated WARC file served under many names: generating once keeps a test's set-up
 * short, and the names tell the files apart in the output. The captures of the file are
 * counted by warcio, a reader independent of the project's decoder.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeCommonCrawlLikeWarc } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { countRowRecords } from './warcio-record-count.ts';

export interface RepeatedWarcCrawl {
  /** Path below the crawl base → bytes; the manifest included. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The WARC paths of the manifest, in its order. */
  readonly inputs: readonly string[];
  /** Size of each WARC file. */
  readonly warcBytes: number;
  /** Captures in each WARC file (response, revisit, resource records), counted by warcio. */
  readonly capturesPerFile: number;
  /** Pages the generator says it wrote, one response record each. */
  readonly pagesPerFile: number;
}

/** Captures in a `.warc.gz`, inflated whole by zlib first (warcio inflates member by member, several times slower). */
function countCaptures(gzipped: Uint8Array): Promise<number> {
  return countRowRecords(new Uint8Array(gunzipSync(gzipped)));
}

function generatedWarc(bytes: number, seed: number): { bytes: Uint8Array; pages: number } {
  const folder = mkdtempSync(join(tmpdir(), 'repeated-warc-'));
  try {
    const path = join(folder, 'generated.warc.gz');
    const pages = writeCommonCrawlLikeWarc(path, bytes, seed) ?? 0;
    return { bytes: new Uint8Array(readFileSync(path)), pages };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** `fileCount` names for one generated WARC file of at least `bytesPerFile` bytes. */
export async function repeatedWarcCrawl(
  crawl: string,
  fileCount: number,
  bytesPerFile: number,
  seed = 20240518,
): Promise<RepeatedWarcCrawl> {
  const warc = generatedWarc(bytesPerFile, seed);
  const files = new Map<string, Uint8Array>();
  const inputs: string[] = [];
  for (let index = 0; index < fileCount; index++) {
    const path = `crawl-data/${crawl}/segments/1715971057216.39/warc/${crawl}-20240517233122-${String(index).padStart(5, '0')}.warc.gz`;
    files.set(path, warc.bytes);
    inputs.push(path);
  }
  files.set(`crawl-data/${crawl}/warc.paths.gz`, new Uint8Array(gzipSync(`${inputs.join('\n')}\n`)));
  return {
    files,
    inputs,
    warcBytes: warc.bytes.length,
    capturesPerFile: await countCaptures(warc.bytes),
    pagesPerFile: warc.pages,
  };
}
