/**
 * `--input index:PATH`: the inputs of a subset run, one a WARC file, each with the byte ranges
 * an index query picked of it. PATH is a local file or glob, an `https://` URL, or an `s3://`
 * key or glob, of Parquet or CSV files (index-table.ts); `warc_filename` is resolved against
 * the crawl base (`--cc-base`: a local folder, `https://` or `s3://`).
 *
 * Every index file is read whole before the first input is listed: one file's captures can
 * sit in any row of any index file, and its job's identity is the whole set. Bounded by
 * `indexRowsMax`.
 */
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { FailureError, inputFault } from '../../core/failure.ts';
import type { InputRef, PickedRange } from '../../core/input-ref.ts';
import { normalizedPicks, overlappingPicks, pickedBytesOf } from '../../core/request-plan.ts';
import type { IndexRow } from './index-table.ts';
import { isGlob } from './glob-pattern.ts';
import { inputRefFor } from './input-naming.ts';
import { fileCall } from './local-errors.ts';
import type { LocalSource } from './local-source.ts';

/**
 * Index rows one run reads. Grouped into inputs, a row holds 90 bytes of heap, 202 with the
 * four indexed columns (`npm run bench -- subset-index-memory`, one million rows over 90,000
 * files): ten million rows hold about 0.9 GB, or 2 GB with those columns.
 */
export const indexRowsMax = 10_000_000;

export const indexPrefix = 'index:';

/** Where index files are found and read: one implementation a kind of location. */
export interface IndexFileStore {
  /** The index files PATH names (itself, or a glob's matches), in a stable order. */
  indexFiles(path: string, signal?: AbortSignal): AsyncIterable<string>;
  readIndexFile(location: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export function isIndexFileStore(value: object): value is IndexFileStore {
  return 'indexFiles' in value && 'readIndexFile' in value;
}

/** Local index files: one path, or a glob's matches in path order. */
export function localIndexFiles(local: LocalSource): IndexFileStore {
  return {
    indexFiles: async function* (path, signal) {
      if (!isGlob(path)) {
        yield resolvePath(path);
        return;
      }
      for await (const input of local.list(path, signal)) yield input.uri;
    },
    readIndexFile: (location) => fileCall(`cannot read index ${location}`, () => readFile(location)),
  };
}

/** `warc_filename` joined to the crawl base: a URL, an S3 key below the base's prefix, or a local path. */
export function resolveWarcFilename(base: string, warcFilename: string): string {
  const name = warcFilename.replace(/^\/+/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) return name;
  if (/^https?:\/\//i.test(base)) return new URL(name, base.endsWith('/') ? base : `${base}/`).href;
  if (base.startsWith('s3://')) return `${base.replace(/\/+$/, '')}/${name}`;
  return resolvePath(base, name);
}

/** The inputs of the rows: one a file, picks normalized, in file-name order. */
export function subsetInputs(rows: readonly IndexRow[], base: string): InputRef[] {
  const byFile = new Map<string, PickedRange[]>();
  for (const row of rows) {
    const picks = byFile.get(row.warcFilename) ?? [];
    if (picks.length === 0) byFile.set(row.warcFilename, picks);
    const { offsetBytes, lengthBytes, indexed } = row;
    picks.push(indexed === undefined ? { offsetBytes, lengthBytes } : { offsetBytes, lengthBytes, indexed });
  }
  const names = [...byFile.keys()].sort();
  return names.map((name) => {
    const picks = normalizedPicks(byFile.get(name) ?? []);
    const overlap = overlappingPicks(picks);
    if (overlap !== null) {
      const [first, second] = overlap;
      throw new FailureError(
        inputFault(
          `index picks overlapping ranges of ${name} (${first.offsetBytes}+${first.lengthBytes} and ` +
            `${second.offsetBytes}+${second.lengthBytes}): each range must be one record`,
        ),
      );
    }
    // A subset's size is the bytes it picks, no source need be asked (request-plan.ts).
    return { ...inputRefFor(resolveWarcFilename(base, name), name, pickedBytesOf(picks)), picks };
  });
}

/** Reads every index file PATH names and lists the subset's inputs. */
export async function* listIndex(
  store: IndexFileStore,
  path: string,
  base: string,
  signal?: AbortSignal,
): AsyncIterable<InputRef> {
  const rows: IndexRow[] = [];
  let files = 0;
  for await (const location of store.indexFiles(path, signal)) {
    files += 1;
    // Loaded by the first index read: its packages (hyparquet, csv-parse) serve only `index:` inputs.
    const { readIndexTable } = await import('./index-table.ts');
    const table = await readIndexTable(await store.readIndexFile(location, signal), location);
    if (rows.length + table.length > indexRowsMax)
      throw new FailureError(inputFault(`index ${path} holds more than ${indexRowsMax} rows: split the query`));
    for (const row of table) rows.push(row);
  }
  if (files === 0) throw new FailureError(inputFault(`index ${path}: no such file`));
  yield* subsetInputs(rows, base);
}
