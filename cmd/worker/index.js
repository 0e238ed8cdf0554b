#!/usr/bin/env node
// `node cmd/worker`: registers tsx so node runs the TypeScript sources directly, then starts.
//
// A run's packages are imported first, before tsx's hooks exist: they are plain JavaScript
// that needs no transform, and through the hooks (which run on a thread of their own in node
// 20) each of their modules costs a round trip there. Effect's 66 modules load in 60–80 ms
// here and in about 180 ms through the hooks. The commands that do not run the worker
// (`--help`, `--version`, `status`, `retry-failed`, `cleanup`) never load Effect, so it is
// not preloaded for them (docs/figures.md, "Start time").
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
await import('./main.ts');
