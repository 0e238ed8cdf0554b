/**
 * Manifests: `warc.paths` / `warc.paths.gz` files, one input path a line, relative to a
 * base. For CommonCrawl the lines start with `crawl-data/` and the base is the crawl base
 * (the manifest itself sits at `<base>crawl-data/<crawl>/warc.paths.gz`, and those of the WET
 * and WAT subsets beside it as `wet.paths.gz` and `wat.paths.gz`).
 */
import { gunzipSync } from 'node:zlib';
import { FailureError, inputFault } from '../../core/failure.ts';
import { urlPath } from './input-naming.ts';

export interface ManifestLimits {
  /** A CommonCrawl `warc.paths` has about 100,000 lines; a million leaves room. */
  readonly linesMax: number;
  /** Inflated size; CommonCrawl's are about 15 MB. */
  readonly inflatedBytesMax: number;
}

export const defaultManifestLimits: ManifestLimits = { linesMax: 1_000_000, inflatedBytesMax: 256 * 1024 * 1024 };

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const zlibInputCode = /^(?:Z_[A-Z_]+|ERR_BUFFER_TOO_LARGE)$/;

function inflate(bytes: Uint8Array, location: string, limits: ManifestLimits): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: limits.inflatedBytesMax });
  } catch (error) {
    // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR for a cut file, ERR_BUFFER_TOO_LARGE past the
    // bound) say what is wrong with the bytes; anything else is a bug here.
    const code = (error as { code?: unknown } | null)?.code;
    if (!(error instanceof Error) || typeof code !== 'string' || !zlibInputCode.test(code)) throw error;
    throw new FailureError(inputFault(`manifest ${location} is not readable gzip: ${error.message}`));
  }
}

function hasScheme(line: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(line);
}

function checkLine(line: string, location: string): void {
  if (hasScheme(line)) {
    if (URL.canParse(line)) return;
    throw new FailureError(inputFault(`manifest ${location} has a line that is not a readable address: ${line}`));
  }
  if (line.startsWith('/') || line.split('/').includes('..')) {
    throw new FailureError(inputFault(`manifest ${location} has a line outside its base: ${line}`));
  }
}

/** The lines of a manifest, gzip or plain, without blanks and `#` comments, in file order. */
export function manifestLines(bytes: Uint8Array, location: string, limits = defaultManifestLimits): string[] {
  const text = new TextDecoder().decode(isGzip(bytes) ? inflate(bytes, location, limits) : bytes);
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    checkLine(line, location);
    lines.push(line);
    if (lines.length > limits.linesMax) {
      throw new FailureError(inputFault(`manifest ${location} has more than ${limits.linesMax} lines`));
    }
  }
  return lines;
}

/**
 * Where a manifest's relative lines start: before `crawl-data/` when the manifest sits in a
 * CommonCrawl tree, else the manifest's own folder. Works for paths and URLs alike.
 */
export function manifestBase(location: string): string {
  const crawlData = location.lastIndexOf('/crawl-data/');
  if (crawlData >= 0) return location.slice(0, crawlData + 1);
  if (location.startsWith('crawl-data/')) return '';
  return location.slice(0, location.lastIndexOf('/') + 1);
}

/**
 * A manifest line as a location: relative lines join the base; an absolute URL stays, named
 * by its path below its origin (its own root).
 */
export function resolveManifestLine(line: string, base: string): { location: string; relativePath: string } {
  if (!hasScheme(line)) return { location: `${base}${line}`, relativePath: line };
  return { location: line, relativePath: urlPath(new URL(line)).replace(/^\/+/, '') };
}

/** CommonCrawl's subsets a `cc:` input can read (`--cc-subset`): the WARC captures, or the WET texts or WAT envelopes made from them. */
export const commonCrawlSubsets = ['warc', 'wet', 'wat'] as const;
export type CommonCrawlSubset = (typeof commonCrawlSubsets)[number];

/**
 * `cc:CC-MAIN-2024-22` → `<base>crawl-data/CC-MAIN-2024-22/<subset>.paths.gz`, the manifest
 * CommonCrawl publishes for each subset of a crawl.
 */
export function commonCrawlManifest(spec: string, base: string, subset: CommonCrawlSubset = 'warc'): string {
  const crawl = spec.slice('cc:'.length);
  if (!/^CC-MAIN-\d{4}-\d{2}$/.test(crawl)) {
    throw new FailureError(inputFault(`"${spec}" is not a CommonCrawl crawl id; write it like cc:CC-MAIN-2024-22`));
  }
  return `${base.endsWith('/') ? base : `${base}/`}crawl-data/${crawl}/${subset}.paths.gz`;
}
