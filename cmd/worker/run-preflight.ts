/**
 * The user's mistakes a run can see before it writes anything: an output or ledger folder
 * that cannot be made (a file in its place, a file above it, no permission), an input that
 * does not exist or cannot be listed, an input that lists no file at all, a `--where` or
 * `--domains` that cannot be used. Each is a
 * `ConfigError` (exit 2) with one line naming the path and what to do; the worker checks
 * them before it opens the ledger, the sink or the CPU threads, so nothing is created.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { at } from '../../core/checked-access.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { Source } from '../../core/source.ts';
import { defaultEmbeddedDirectory } from '../../adapters/ledger/open-ledger.ts';
import { isGlob } from '../../adapters/source/glob-pattern.ts';
import { isWarcName } from '../../adapters/source/input-naming.ts';
import { checkCaptureFilter, FilterMistake, type CaptureFilterSpec } from '../../adapters/filter/capture-filter.ts';
import { ConfigError, type WorkerConfig } from './worker-config.ts';

/** Folder depth walked up to find an existing ancestor: deeper than any real path. */
const ancestorsMax = 4_096;

async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return null;
    throw error;
  }
}

async function writable(path: string): Promise<boolean> {
  return access(path, constants.W_OK | constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * A folder the run will create or write in: it must be a folder if it exists, and otherwise
 * its nearest existing ancestor must be a folder this process may write in.
 */
async function checkFolder(what: string, path: string, fix: string): Promise<void> {
  const folder = resolve(path);
  const info = await statOrNull(folder);
  if (info !== null) {
    if (!info.isDirectory()) throw new ConfigError(`${what} ${folder} is a file, not a folder: ${fix}`);
    if (!(await writable(folder))) throw new ConfigError(`${what} ${folder} is not writable by this user: ${fix}`);
    return;
  }
  let ancestor = dirname(folder);
  for (let depth = 0; depth < ancestorsMax; depth += 1) {
    const found = await statOrNull(ancestor);
    if (found !== null) {
      const cannot = `${what} ${folder} cannot be created: ${ancestor}`;
      if (!found.isDirectory()) throw new ConfigError(`${cannot} is a file; ${fix}`);
      if (!(await writable(ancestor))) throw new ConfigError(`${cannot} is not writable by this user; ${fix}`);
      return;
    }
    if (dirname(ancestor) === ancestor) break;
    ancestor = dirname(ancestor);
  }
  throw new ConfigError(`${what} ${folder} cannot be created: none of the folders above it exists; ${fix}`);
}

/** The folder of the embedded ledger, or null for PostgreSQL (mirrors wiring.ts and open-ledger.ts). */
function embeddedLedgerFolder(config: WorkerConfig): string | null {
  const url = config.ledger.trim();
  if (/^postgres(ql)?:\/\//i.test(url)) return null;
  if (url === '' || url === 'embedded') return defaultEmbeddedDirectory(config.output);
  if (url.startsWith('file://')) return fileURLToPath(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return null;
  return resolve(url);
}

/** Checks the local folders the run writes: the output (unless on S3) and the embedded ledger's. */
export async function checkOutputFolders(config: WorkerConfig): Promise<void> {
  if (!/^s3:\/\//i.test(config.output)) {
    await checkFolder('--output', config.output, 'name a folder (it is created if missing) or s3://bucket/prefix');
  }
  const ledger = embeddedLedgerFolder(config);
  if (ledger !== null) {
    await checkFolder('the ledger folder', ledger, 'give --ledger a folder that can be created, or postgres://…');
  }
}

/** The file name endings a folder or prefix listing takes, as `.warc` and `.warc.gz`. */
function inputEndings(): string {
  const endings = ['.warc', '.warc.gz', '.warc.wet.gz', '.warc.wat.gz', '.arc', '.arc.gz'].filter((ending) =>
    isWarcName(`input${ending}`),
  );
  const last = at(endings, endings.length - 1);
  return endings.length === 1 ? last : `${endings.slice(0, -1).join(', ')} and ${last}`;
}

function isLocalSpec(spec: string): boolean {
  return (
    !spec.startsWith('cc:') && !spec.startsWith('index:') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !isGlob(spec)
  );
}

/** An input fault while listing is the user's: the input named does not exist or cannot be read. */
function listingMistake(spec: string, error: unknown): unknown {
  if (error instanceof FailureError && error.failure.fault === 'input') {
    const fix = 'check that it names an input this worker may read';
    return new ConfigError(`--input ${spec}: ${error.failure.reason}; ${fix}`);
  }
  return error;
}

const inputKinds =
  'a WARC file, a folder of them, a glob, a manifest (warc.paths[.gz]), https://, s3://, cc:CC-MAIN-… or index:PATH';

/**
 * The run's listing, its first input already read: a missing or unreadable input, or one
 * that lists nothing, fails here, before anything is written. The listing is the same for
 * every worker of a fleet (a static shard is taken after it), so an empty one means the input
 * names nothing — a wrong folder, prefix or crawl id, an empty manifest — whether it is local
 * or remote, and a run that would export nothing is a mistake, not a success. The rest of the
 * listing streams on as the inputs are enqueued; a fault of the input's met there is a
 * mistake too.
 */
export async function listedInputs(source: Source, spec: string): Promise<AsyncIterable<InputRef>> {
  if (isLocalSpec(spec) && (await statOrNull(resolve(spec))) === null) {
    throw new ConfigError(`--input ${spec}: no such file or folder; name ${inputKinds}`);
  }
  const iterator = source.list(spec)[Symbol.asyncIterator]();
  const next = async (): Promise<IteratorResult<InputRef>> => {
    try {
      return await iterator.next();
    } catch (error) {
      throw listingMistake(spec, error);
    }
  };
  const first = await next();
  if (first.done === true) {
    const searched = `a folder or prefix is searched, recursively, for ${inputEndings()} files`;
    throw new ConfigError(`--input ${spec}: no input files found (${searched}); name ${inputKinds}`);
  }
  return {
    async *[Symbol.asyncIterator]() {
      yield first.value;
      // Bounded by the listing itself (the walk's entry limit, the manifest's lines).
      for (let item = await next(); item.done !== true; item = await next()) yield item.value;
    },
  };
}

/**
 * `--where` and `--domains`, checked before anything is created: a syntax error, an unknown or
 * payload column, a comparison DuckDB would refuse, a domains file that is missing or holds a
 * URL where a domain should be. Returns what the CPU threads build their filter from.
 */
export async function checkFilter(config: WorkerConfig): Promise<CaptureFilterSpec | null> {
  try {
    return await checkCaptureFilter(config.where, config.domains);
  } catch (error) {
    if (error instanceof FilterMistake) throw new ConfigError(error.message);
    throw error;
  }
}
