// Preloaded into `node cmd/worker` by the soak benchmark (`node --import`): every second, each
// isolate — the main thread and, since worker threads inherit execArgv, each CPU thread —
// appends its own `process.memoryUsage()` as a JSON line to the file MEMORY_PROBE_FILE names.
// RSS is the process's; heap, external and ArrayBuffer bytes are the isolate's own, which is
// what tells a growing heap from growing buffers from growing native memory.
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

const file = process.env.MEMORY_PROBE_FILE;
if (file) {
  const sample = () => {
    const usage = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ timeMs: Date.now(), threadId, ...usage })}\n`);
  };
  // unref: the probe must never keep the worker (or a thread) alive.
  setInterval(sample, 1_000).unref();
}
