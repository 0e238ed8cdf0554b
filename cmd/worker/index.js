// `node cmd/worker`: registers tsx so node runs the TypeScript sources directly, then starts.
//
// The packages every command loads are imported first, before tsx's hooks exist: they are
// plain JavaScript that needs no transform, and through the hooks (which run on a thread of
// their own in node 20) each of their modules costs a round trip there. Effect's 66 modules
// load in 60–80 ms here and in about 180 ms through the hooks.
await Promise.all([
  import('effect/Effect'),
  import('effect/Cause'),
  import('effect/Exit'),
  import('effect/Fiber'),
  import('yaml'),
]);
const { register } = await import('tsx/esm/api');

register();
await import('./main.ts');
