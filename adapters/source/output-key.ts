/**
 * The output object key of an input, below the output root:
 * `crawl=<crawl>/subset=<subset>/<name without .warc.gz>.<extension>`.
 *
 * The key depends only on the input, so a re-run overwrites instead of duplicating. A
 * CommonCrawl file name is unique within its crawl and subset, so the bare name is enough;
 * any other input keeps its whole path below the root it was listed from, because local
 * folders and mirrors repeat file names (`a/x.warc.gz` and `b/x.warc.gz`).
 */
import type { InputRef } from '../../core/input-ref.ts';
import { assert } from '../../core/failure.ts';
import { baseName } from './input-naming.ts';

const unknown = 'unknown';

function withoutWarcExtension(name: string): string {
  return name.replace(/\.(?:warc|arc)(?:\.gz)?$/i, '').replace(/\.gz$/i, '');
}

/** Hive-style partition values must not contain a path separator or a key/value sign. */
function partitionValue(value: string | null): string {
  if (value === null || value === '') return unknown;
  return value.replace(/[/=\\]/g, '_');
}

function safeRelativePath(path: string): string {
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  assert(!segments.includes('..'), `input path escapes its root: ${path}`);
  assert(segments.length > 0, 'input has an empty file name');
  return segments.join('/');
}

export function outputKeyFor(input: InputRef, extension = 'parquet'): string {
  const suffix = extension.replace(/^\./, '');
  const partition = `crawl=${partitionValue(input.crawl)}/subset=${partitionValue(input.subset)}`;
  const path = input.crawl !== null ? baseName(input.filename) : safeRelativePath(input.filename);
  return `${partition}/${withoutWarcExtension(path)}.${suffix}`;
}
