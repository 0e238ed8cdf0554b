#!/usr/bin/env node
// `node cmd/worker`: runs the worker from its cached build (cmd/cached-build.js), JavaScript that
// esbuild compiles from the sources on the first start and again after any source changed, so
// node loads it without tsx's hooks: through them every CPU thread spent 0.8–1.0 s of CPU on
// loading its modules (docs/figures.md, "Start time"). Where there can be no build (a cache that
// cannot be written, a source esbuild rejects), it registers tsx and runs the sources, as before;
// a run's debug line says which (docs/operations.md, "Start-up").
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { cachedBuild } from '../cached-build.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** launch.js is an entry point so that this file can tell the build's modules where it lives. */
const entryPoints = {
  main: 'cmd/worker/main.ts',
  'cpu-thread': 'cmd/worker/cpu-thread.ts',
  launch: 'cmd/worker/launch.ts',
};
/** What decides the build's output besides the sources: a change to one of them rebuilds. */
const tooling = [
  fileURLToPath(import.meta.url),
  fileURLToPath(new URL('../cached-build.js', import.meta.url)),
  join(root, 'tsconfig.json'),
  join(root, 'package.json'),
];

/**
 * The build's folder, its launch module told that the worker runs from there; or, when there can
 * be no build, why. The main is imported after, outside the catch: a failure of the worker itself
 * must not start it a second time from the sources.
 */
async function buildToStart() {
  try {
    const folder = await cachedBuild({ root, name: 'worker', entryPoints, tooling });
    const { launchedFromBuild } = await import(pathToFileURL(join(folder, 'launch.js')).href);
    launchedFromBuild(folder, pathToFileURL(join(folder, 'cpu-thread.js')));
    return { folder };
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

// A run's packages are imported first, before tsx's hooks exist: they are plain JavaScript
// that needs no transform, and through the hooks (which run on a thread of their own in node
// 20) each of their modules costs a round trip there. Effect's 66 modules load in 60–80 ms
// here and in about 180 ms through the hooks. The commands that do not run the worker
// (`--help`, `--version`, `status`, `retry-failed`, `cleanup`) never load Effect, so it is
// not preloaded for them (docs/figures.md, "Start time").
async function startFromSources(reason) {
  const [first] = process.argv.slice(2);
  const runs =
    !process.argv.includes('--help') &&
    !process.argv.includes('-h') &&
    !process.argv.includes('--version') &&
    !['status', 'retry-failed', 'cleanup'].includes(first ?? '');
  if (runs) {
    await Promise.all([
      import('effect/Effect'),
      import('effect/Cause'),
      import('effect/Exit'),
      import('effect/Fiber'),
      import('yaml'),
    ]);
  }
  const { register } = await import('tsx/esm/api');

  register();
  const { launchedFromSources } = await import('./launch.ts');
  launchedFromSources(reason);
  await import('./main.ts');
}

const build = await buildToStart();
if (build.folder !== undefined) await import(pathToFileURL(join(build.folder, 'main.js')).href);
else await startFromSources(build.reason);
