/**
 * The output object key of an input, below the output root:
 * `crawl=<crawl>/subset=<subset>/<name>.<extension>`, or `<name>.<pick>.<extension>` for the
 * picked ranges of a file that an index named (pick-key.ts).
 *
 * The key depends only on the input, so a re-run overwrites instead of duplicating, and no
 * two inputs listed from one root share a key. A CommonCrawl file name is unique within its
 * crawl and subset, so the bare name is enough; any other input keeps its whole path below
 * the root it was listed from, because local folders and mirrors repeat file names
 * (`a/x.warc.gz` and `b/x.warc.gz`).
 */
import type { InputRef } from '../../core/input-ref.ts';
import { assert } from '../../core/failure.ts';
import { baseName } from './input-naming.ts';
import { pickKeyOf } from './pick-key.ts';

const unknown = 'unknown';
/** Endings of the names a listing reads as WARC or ARC files, whatever their case. */
const inputEnding = /\.(?:warc|arc|gz)$/i;

/**
 * CommonCrawl's `<name>.warc.gz` becomes `<name>`; any other file keeps its whole name, so
 * `x.warc` and `x.warc.gz` stay apart. Two kinds of name would otherwise meet another's:
 * a `.warc.gz` whose stem still ends in a WARC, ARC or gzip ending keeps its whole name
 * (`x.warc.warc.gz` against `x.warc`), and a name with none of those endings, which only a
 * glob, a manifest or a single path can give, takes the `.warc.gz` a stem of its name would
 * drop (`x` becomes `x.warc.gz`, beside `x.warc.gz`'s `x`).
 *
 * CommonCrawl's WET and WAT files (`<name>.warc.wet.gz`, `<name>.warc.wat.gz`) keep their whole
 * name, as any other name ending in `.gz`: `<name>.warc.wet.gz.parquet` never meets the
 * `<name>.parquet` of the WARC file they were made from, in any folder. In CommonCrawl's layout
 * they also sit in their own partition (`subset=wet`, `subset=wat`). A shorter `<name>.wet`
 * would meet the whole name of an input called `<name>.wet`.
 */
export function outputName(name: string): string {
  if (name.endsWith('.warc.gz')) {
    const stem = name.slice(0, -'.warc.gz'.length);
    return stem === '' || inputEnding.test(stem) ? name : stem;
  }
  return inputEnding.test(name) ? name : `${name}.warc.gz`;
}

/** Hive-style partition values, percent-escaped where a separator or escape would make two values one. */
function partitionValue(value: string | null): string {
  if (value === null || value === '') return unknown;
  return value.replace(/[%/=\\]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
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
  const folder = path.slice(0, path.lastIndexOf('/') + 1);
  // A subset's key carries its picks' key, so it never overwrites the whole file's export.
  const pick = input.picks === undefined ? '' : `.${pickKeyOf(input.picks)}`;
  return `${partition}/${folder}${outputName(baseName(path))}${pick}.${suffix}`;
}
