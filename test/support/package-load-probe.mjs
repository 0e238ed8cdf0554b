// Loaded with `node --import` (in the main thread, and again in each worker thread, which
// inherits the flag): writes `package loaded: NAME (thread N)` to stderr for every package
// imported (a module resolve hook) or required (Module._load), so that a test can see which
// packages a command loads, and on which thread.
import Module, { isBuiltin, register } from 'node:module';
import { threadId } from 'node:worker_threads';

register(
  'data:text/javascript,' +
    encodeURIComponent(
      'let thread = 0;' +
        ' export function initialize(data) { thread = data.thread; }' +
        ' export async function resolve(specifier, context, next) {' +
        "  if (/^[@a-z]/i.test(specifier) && !specifier.startsWith('node:') && !specifier.startsWith('file:') && !specifier.startsWith('data:'))" +
        "   process.stderr.write('package loaded: ' + specifier + ' (thread ' + thread + ')\\n');" +
        '  return next(specifier, context); }',
    ),
  { data: { thread: threadId } },
);

const load = Module._load;
Module._load = function probedLoad(request, parent, isMain) {
  if (/^[@a-z]/i.test(request) && !isBuiltin(request))
    process.stderr.write(`package loaded: ${request} (thread ${threadId})\n`);
  return load.call(this, request, parent, isMain);
};
