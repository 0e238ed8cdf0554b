#!/usr/bin/env node
// `npx cc-sim` (package.json's bin): starts the planner from its cached build
// (cmd/cached-build.js), JavaScript that esbuild compiles from the sources, or, where there can
// be none (a cache that cannot be written, a source esbuild rejects), from the sources through
// tsx. Through the bin, only the planner's output reaches stdout: `npm run sim` prints npm's
// banner there first, which breaks `--json > plan.json` (`npm run -s sim` does not).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { cachedBuild } from '../cached-build.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** What decides the build's output besides the sources: a change to one of them rebuilds. */
const tooling = [
  fileURLToPath(import.meta.url),
  fileURLToPath(new URL('../cached-build.js', import.meta.url)),
  join(root, 'tsconfig.json'),
  join(root, 'package.json'),
];

/** The build's folder, or null when there can be none. The planner is imported outside the catch: its own failure must not run it twice. */
async function buildFolder() {
  try {
    return await cachedBuild({ root, name: 'sim', entryPoints: { main: 'cmd/sim/main.ts' }, tooling });
  } catch {
    return null;
  }
}

const folder = await buildFolder();
if (folder !== null) {
  await import(pathToFileURL(join(folder, 'main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');

  register();
  await import('./main.ts');
}
