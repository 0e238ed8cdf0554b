/**
 * Removes what workers killed mid-job left in a local output folder: the local sink's hidden
 * temporary files (parts and joined files not yet renamed). A live worker's temporaries are
 * young, so only those last written before a cut-off are removed; the objects themselves and
 * the embedded ledger are never touched.
 */
import type { Stats } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSinkTemporaryName } from './local-folder-sink.ts';
import { walkFiles } from '../source/file-walk.ts';

export interface LocalCleanupOptions {
  /** The output folder. */
  readonly root: string;
  /** Remove only temporaries last written before this time (ms since the epoch). */
  readonly modifiedBeforeMs: number;
  /** List only, remove nothing. */
  readonly dryRun?: boolean;
}

export interface LocalCleanupResult {
  /** Paths below the root, removed (or that would be, on a dry run). */
  readonly removed: readonly string[];
  /** Temporaries younger than the cut-off, left alone. */
  readonly kept: number;
}

export async function removeAbandonedTemporaries(options: LocalCleanupOptions): Promise<LocalCleanupResult> {
  const removed: string[] = [];
  let kept = 0;
  const root = await statIfAny(options.root);
  if (root === null || !root.isDirectory()) return { removed, kept };
  // The walk is bounded by its own depth and entry limits.
  for await (const path of walkFiles(options.root)) {
    const inLedger = path === '.ledger' || path.startsWith('.ledger/');
    if (inLedger || !isSinkTemporaryName(path.slice(path.lastIndexOf('/') + 1))) continue;
    const full = join(options.root, path);
    // A temporary gone since the walk saw it was finished or removed by its own worker.
    const modifiedMs = (await statIfAny(full))?.mtimeMs ?? null;
    if (modifiedMs === null) continue;
    if (modifiedMs >= options.modifiedBeforeMs) {
      kept += 1;
      continue;
    }
    if (options.dryRun !== true) await rm(full, { force: true });
    removed.push(path);
  }
  return { removed, kept };
}

/** A path's status; null where nothing is there. Any other failure (no permission, a disk error) is reported. */
async function statIfAny(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}
