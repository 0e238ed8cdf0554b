/**
 * Where the real WARC files written by other tools live: `../shared/fixtures/warc/` beside the
 * repository, as CI checks it out. Every test and bench finds them through here, so a move of
 * that folder is one line to change.
 */
import { fileURLToPath } from 'node:url';

/** The folder, as a file URL ending in `/` (resolve a fixture with `new URL(name, sharedFixtureUrl)`). */
export const sharedFixtureUrl = new URL('../../../shared/fixtures/warc/', import.meta.url);

/** The folder, as a path ending in `/`. */
export const sharedFixtureRoot = fileURLToPath(sharedFixtureUrl);

/** The path of one fixture, e.g. `commoncrawl/whirlwind.warc.gz`. */
export function sharedFixture(name: string): string {
  return fileURLToPath(new URL(name, sharedFixtureUrl));
}
