/**
 * Names an input: its `warc_filename` (the path relative to the crawl base) and the crawl,
 * subset and segment a CommonCrawl path carries
 * (`crawl-data/<crawl>/segments/<segment>/<subset>/<file>`).
 */
import type { InputRef } from '../../core/input-ref.ts';

const commonCrawlPathPattern = /(?:^|\/)(crawl-data\/([^/]+)\/segments\/([^/]+)\/([^/]+)\/[^/]+)$/;

/** The file name extensions a folder or prefix listing takes as inputs: WARC, and ARC (crawls before WARC). */
export function isWarcName(name: string): boolean {
  return /\.(?:warc|arc)(?:\.gz)?$/i.test(name);
}

/** True for `warc.paths`, `warc.paths.gz` and other `*.paths[.gz]` manifests. */
export function isManifestName(name: string): boolean {
  return /(?:^|\/)(?:[^/]*\.)?paths(?:\.gz)?$/i.test(name);
}

/**
 * `relativePath` is the input's path below the root it was listed from (a folder, a
 * prefix, a crawl base); a CommonCrawl path inside it wins, from `crawl-data/` on.
 */
export function inputRefFor(uri: string, relativePath: string, sizeBytes?: number): InputRef {
  const cleaned = relativePath.replace(/^\/+/, '');
  const match = commonCrawlPathPattern.exec(cleaned);
  const base = {
    uri,
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
  };
  if (match === null) return { ...base, filename: cleaned, crawl: null, subset: null, segment: null };
  const [, filename, crawl, segment, subset] = match as unknown as [string, string, string, string, string];
  return { ...base, filename, crawl, subset, segment };
}

/** The last path segment of a path or URL path. */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
