/**
 * Names an input: its `warc_filename` and the crawl, subset and segment a CommonCrawl path
 * carries (`crawl-data/<crawl>/segments/<segment>/<subset>/<file>`).
 *
 * `warc_filename` joined to the input root locates the file again. The root is the folder
 * (or prefix, or crawl base) the input was listed from, or a single file's folder; but when
 * the input's whole location holds CommonCrawl's layout, however deep the folder given, the
 * name is CommonCrawl's own `crawl-data/…` and the root is the folder above `crawl-data/`.
 */
import type { InputRef } from '../../core/input-ref.ts';
import { assert } from '../../core/failure.ts';

const commonCrawlPathPattern = /(?:^|\/)(crawl-data\/(CC-MAIN-[^/]+)\/segments\/([^/]+)\/([^/]+)\/[^/]+)$/;
const schemePattern = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The file name extensions a folder or prefix listing takes as inputs: WARC, CommonCrawl's
 * WET and WAT (`.warc.wet`, `.warc.wat`), and ARC (crawls before WARC).
 */
export function isWarcName(name: string): boolean {
  return /\.(?:warc(?:\.wet|\.wat)?|arc)(?:\.gz)?$/i.test(name);
}

/** True for `warc.paths`, `warc.paths.gz` and other `*.paths[.gz]` manifests. */
export function isManifestName(name: string): boolean {
  return /(?:^|\/)(?:[^/]*\.)?paths(?:\.gz)?$/i.test(name);
}

/** A URL's path as the names in it read: percent-escapes decoded where they are well formed. */
export function urlPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch (error) {
    // A malformed escape (`%E0%A4%A`) is the name's own: it is kept as written.
    if (error instanceof URIError) return url.pathname;
    throw error;
  }
}

/** The path part of a location: an S3 key, a URL's decoded path, or the local path itself. */
function pathOf(location: string): string {
  if (location.startsWith('s3://')) return location.replace(/^s3:\/\/[^/]*\/?/, '');
  if (schemePattern.test(location)) {
    return URL.canParse(location) ? urlPath(new URL(location)) : location;
  }
  return location;
}

/**
 * `location` is where the input is read; `relativePath` its path below the root it was
 * listed from. CommonCrawl's layout is looked for in the whole location, so a mirror's
 * segment folder or one of its files names its inputs as the mirror's root does.
 */
export function inputRefFor(location: string, relativePath: string, sizeBytes?: number): InputRef {
  const base = { uri: location, ...(sizeBytes !== undefined ? { sizeBytes } : {}) };
  const match = commonCrawlPathPattern.exec(pathOf(location));
  if (match === null) {
    return { ...base, filename: relativePath.replace(/^\/+/, ''), crawl: null, subset: null, segment: null };
  }
  const [, filename, crawl, segment, subset] = match;
  assert(
    filename !== undefined && crawl !== undefined && segment !== undefined && subset !== undefined,
    `CommonCrawl path pattern matched ${location} without its four groups`,
  );
  return { ...base, filename, crawl, subset, segment };
}

/** The last path segment of a path or URL path. */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
