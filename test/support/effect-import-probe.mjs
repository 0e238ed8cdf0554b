// Loaded with `node --import`: a module resolve hook that writes one line to stderr for every
// import of the effect package, or of run-worker, the module that holds it in the worker's build
// (which bundles Effect: cmd/cached-build.js), so a test can see whether a command loads it.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(specifier, context, next) {' +
        " if (specifier === 'effect' || specifier.startsWith('effect/') || /(^|\\/)run-worker(-\\w+)?\\.[jt]s$/.test(specifier))" +
        "  process.stderr.write('effect imported: ' + specifier + '\\n');" +
        ' return next(specifier, context); }',
    ),
);
