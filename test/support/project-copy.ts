/**
 * A copy of the worker's files in a temporary folder, for tests of what `node cmd/worker` does
 * with its build cache (cmd/cached-build.js): the copy's node_modules is a folder of its own,
 * whose entries link to this checkout's packages, so that its `.cache` (where the build goes)
 * is the copy's alone, and the copy's sources may be edited.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const projectRoot = resolve(import.meta.dirname, '../..');

/** What the worker loads from its checkout: its sources, the samples it exports by default, its package files. */
const workerFiles = ['cmd', 'core', 'adapters', 'samples', 'package.json', 'tsconfig.json'];

/** A new copy of the worker in a temporary folder (named `prefix…`); returns the folder. */
export function copyOfWorker(prefix: string): string {
  const copy = mkdtempSync(join(tmpdir(), prefix));
  for (const file of workerFiles) cpSync(join(projectRoot, file), join(copy, file), { recursive: true });
  mkdirSync(join(copy, 'node_modules'));
  // Dot entries (.bin, .cache, npm's lock) are not packages; .cache is what the copy must not share.
  for (const entry of readdirSync(join(projectRoot, 'node_modules'))) {
    if (!entry.startsWith('.'))
      symlinkSync(join(projectRoot, 'node_modules', entry), join(copy, 'node_modules', entry));
  }
  return copy;
}

/** The folder the copy's worker builds into: one per project folder, named worker-<key>. */
export function buildCacheOf(copy: string): string {
  const caches = join(copy, 'node_modules', '.cache', 'cc-worker');
  const folders = readdirSync(caches).filter((name) => name.startsWith('worker-'));
  if (folders.length !== 1)
    throw new Error(`expected one worker build cache in ${caches}, found ${folders.join(', ')}`);
  return join(caches, String(folders[0]));
}
