/**
 * Local WARC inputs: a file, a folder (recursive, `.warc[.gz]` and `.arc[.gz]`), a glob, or a
 * manifest (`warc.paths[.gz]`) whose lines are relative to it. An input's `filename` is its
 * path below the folder or glob root, so repeated names in sub-folders keep distinct keys,
 * or CommonCrawl's `crawl-data/…` path wherever a mirror's layout shows (input-naming.ts).
 */
import { open, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FailureError, inputFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange, ReadMemory, Source } from '../../core/source.ts';
import { defaultWalkLimits, walkFiles, type WalkLimits } from './file-walk.ts';
import { globRoot, globToRegExp, isGlob } from './glob-pattern.ts';
import { baseName, inputRefFor, isManifestName, isWarcName } from './input-naming.ts';
import { fileCall } from './local-errors.ts';
import { manifestBase, manifestLines, resolveManifestLine } from './manifest.ts';

export interface LocalSourceOptions {
  readonly walkLimits?: WalkLimits;
}

/** Reads `length` bytes at `position`, looping over short reads; fewer only at the end. */
async function readAt(path: string, range: ByteRange, memory: ReadMemory): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = memory(range.lengthBytes);
    let filled = 0;
    // Each pass reads at least one byte or stops, so the loop runs at most lengthBytes times.
    while (filled < range.lengthBytes) {
      const { bytesRead } = await handle.read(buffer, filled, range.lengthBytes - filled, range.offsetBytes + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === buffer.length ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function plainMemory(lengthBytes: number): Uint8Array {
  return new Uint8Array(lengthBytes);
}

export class LocalSource implements Source {
  private readonly walkLimits: WalkLimits;

  constructor(options: LocalSourceOptions = {}) {
    this.walkLimits = options.walkLimits ?? defaultWalkLimits;
  }

  async *list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    if (isGlob(spec)) {
      yield* this.listGlob(spec, signal);
      return;
    }
    const info = await fileCall(`cannot read input ${spec}`, () => stat(spec));
    if (info.isDirectory()) yield* this.listFolder(spec, signal);
    else if (isManifestName(spec)) yield* this.listManifest(spec);
    else yield inputRefFor(resolve(spec), baseName(spec), info.size);
  }

  async sizeOf(input: InputRef): Promise<number> {
    if (input.sizeBytes !== undefined) return input.sizeBytes;
    const info = await fileCall(`cannot read input ${input.uri}`, () => stat(input.uri));
    if (!info.isFile()) throw new FailureError(inputFault(`input ${input.uri} is not a file`));
    return info.size;
  }

  async read(input: InputRef, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array> {
    signal?.throwIfAborted();
    return fileCall(`cannot read input ${input.uri}`, () => readAt(input.uri, range, memory ?? plainMemory));
  }

  private async *listFolder(root: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    const walk = walkFiles(root, this.walkLimits);
    for await (const path of guardedWalk(walk, root)) {
      signal?.throwIfAborted();
      if (isWarcName(path)) yield sizedRef(root, path);
    }
  }

  private async *listGlob(pattern: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    const { root, rest } = globRoot(pattern.replace(/\\/g, '/'));
    const matcher = globToRegExp(rest);
    for await (const path of guardedWalk(walkFiles(root, this.walkLimits), root)) {
      signal?.throwIfAborted();
      if (matcher.test(path)) yield sizedRef(root, path);
    }
  }

  private async *listManifest(path: string): AsyncIterable<InputRef> {
    const bytes = await fileCall(`cannot read manifest ${path}`, () => readFile(path));
    const absolute = resolve(path).replace(/\\/g, '/');
    const base = manifestBase(absolute);
    for (const line of manifestLines(bytes, path)) {
      const { location, relativePath } = resolveManifestLine(line, base);
      yield inputRefFor(location, relativePath);
    }
  }
}

/**
 * A listed file with its size, so that a run knows its total bytes from the start (the
 * progress line's percentage and ETA); a file that cannot be stat'ed now is listed without
 * one, and its claim asks again and fails it with the reason.
 */
async function sizedRef(root: string, path: string): Promise<InputRef> {
  const location = resolve(root, path);
  const size = await stat(location).then(
    (info) => (info.isFile() ? info.size : undefined),
    () => undefined,
  );
  return inputRefFor(location, path, size);
}

/** The walk's file-system errors, classified: a missing folder is the input's fault. */
async function* guardedWalk(walk: AsyncGenerator<string>, root: string): AsyncGenerator<string> {
  const iterator = walk[Symbol.asyncIterator]();
  // Bounded by the walk's own entry limit.
  for (;;) {
    const next = await fileCall(`cannot list folder ${root}`, () => iterator.next());
    if (next.done === true) return;
    yield next.value;
  }
}
