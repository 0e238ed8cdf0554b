// Loaded with `node --import`: a module resolve hook that writes one line to stderr for every
// import of the effect package, so a test can see whether a command loads it.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(specifier, context, next) {' +
        " if (specifier === 'effect' || specifier.startsWith('effect/')) process.stderr.write('effect imported: ' + specifier + '\\n');" +
        ' return next(specifier, context); }',
    ),
);
