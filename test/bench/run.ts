/**
 * `npm run bench`: runs every benchmark one after another (never in parallel: they would
 * measure each other) and prints each figure with the baseline measured in the same run, as a
 * table and then as one JSON document (every figure with name, value, unit, baseline, ratio,
 * goal, the part of the goal checked and whether it is met; the load average before and after,
 * since the machine may be shared). `npm run bench -- core-step decode` runs some of them.
 * Names: calibration, content, core-step, decode, derived-decode, encode, end-to-end, filter, index-decode, ledger, manifest-start, one-thread, peak-rss, read-memory, sim, soak, split, startup, subset, subset-index-memory, throttling, whole-sim.
 */
import { cpus, loadavg } from 'node:os';
import type { BenchFigure, FigureRecord } from './bench-figure.ts';
import { printFigures, recordOf } from './bench-figure.ts';

type Bench = () => Promise<BenchFigure[]>;

const benches: Record<string, () => Promise<Bench>> = {
  calibration: async () => (await import('./calibration.ts')).run,
  content: async () => (await import('./content.ts')).run,
  'core-step': async () => (await import('./core-step.ts')).run,
  decode: async () => (await import('./decode.ts')).run,
  'derived-decode': async () => (await import('./derived-decode.ts')).run,
  'index-decode': async () => (await import('./index-decode.ts')).run,
  encode: async () => (await import('./encode.ts')).run,
  'end-to-end': async () => (await import('./end-to-end.ts')).run,
  filter: async () => (await import('./filter.ts')).run,
  ledger: async () => (await import('./ledger.ts')).run,
  'manifest-start': async () => (await import('./manifest-start.ts')).run,
  'one-thread': async () => (await import('./one-thread.ts')).run,
  'peak-rss': async () => (await import('./peak-rss.ts')).run,
  'read-memory': async () => (await import('./read-memory.ts')).run,
  sim: async () => (await import('./sim.ts')).run,
  split: async () => (await import('./split.ts')).run,
  startup: async () => (await import('./startup.ts')).run,
  soak: async () => (await import('./soak.ts')).run,
  subset: async () => (await import('./subset.ts')).run,
  'subset-index-memory': async () => (await import('./subset-index-memory.ts')).run,
  throttling: async () => (await import('./throttling.ts')).run,
  'whole-sim': async () => (await import('./whole-sim.ts')).run,
};

const chosen = process.argv.slice(2).filter((name) => !name.startsWith('-'));
const unknown = chosen.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})`);
  process.exit(2);
}

const loadBefore = loadavg();
const results: Record<string, FigureRecord[]> = {};
for (const name of chosen.length > 0 ? chosen : Object.keys(benches)) {
  const load = benches[name] as () => Promise<Bench>;
  const figures = await (await load())();
  printFigures(name, figures);
  results[name] = figures.map(recordOf);
}
const machine = {
  node: process.version,
  cpus: cpus().length,
  loadAverage1mBefore: loadBefore[0],
  loadAverage1mAfter: loadavg()[0],
};
console.log(`\n${JSON.stringify({ machine, results }, null, 2)}`);
