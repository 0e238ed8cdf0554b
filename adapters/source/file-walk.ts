/**
 * A bounded, sorted, recursive walk of a folder: yields file paths relative to the root.
 * Symbolic links to folders are not followed (they can form cycles); links to files are.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FailureError, inputFault } from '../../core/failure.ts';

export interface WalkLimits {
  readonly depthMax: number;
  readonly entriesMax: number;
}

export const defaultWalkLimits: WalkLimits = { depthMax: 64, entriesMax: 2_000_000 };

/** Codes of a link that leads nowhere: to nothing, through a file, or round in a loop. */
const danglingCodes = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

/**
 * Whether a symbolic link leads to a file. A dangling link is no input; any other failure
 * (a disk error, too many open files) fails the listing rather than leaving an input out.
 */
async function isLinkedFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if (danglingCodes.has(String((error as { code?: unknown } | null)?.code))) return false;
    throw error;
  }
}

export async function* walkFiles(root: string, limits = defaultWalkLimits): AsyncGenerator<string> {
  let entriesSeen = 0;
  async function* visit(relative: string, depth: number): AsyncGenerator<string> {
    if (depth > limits.depthMax)
      throw new FailureError(inputFault(`folder ${root} is nested deeper than ${limits.depthMax}`));
    const entries = await readdir(join(root, relative), { withFileTypes: true });
    entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
    for (const entry of entries) {
      entriesSeen += 1;
      if (entriesSeen > limits.entriesMax)
        throw new FailureError(inputFault(`folder ${root} has more than ${limits.entriesMax} entries`));
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) yield* visit(child, depth + 1);
      else if (entry.isFile() || (entry.isSymbolicLink() && (await isLinkedFile(join(root, child))))) yield child;
    }
  }
  yield* visit('', 0);
}
