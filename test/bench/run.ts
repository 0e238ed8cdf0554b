/**
 * `npm run bench`: runs every benchmark one after another (never in parallel: they would
 * measure each other) and prints each figure with the baseline measured in the same run, as a
 * table and then as one JSON document. `npm run bench -- core-step decode` runs some of them.
 * Names: core-step, decode, encode, end-to-end, ledger, sim.
 */
import type { BenchFigure } from './bench-figure.ts';
import { printFigures } from './bench-figure.ts';

type Bench = () => Promise<BenchFigure[]>;

const benches: Record<string, () => Promise<Bench>> = {
  'core-step': async () => (await import('./core-step.ts')).run,
  decode: async () => (await import('./decode.ts')).run,
  encode: async () => (await import('./encode.ts')).run,
  'end-to-end': async () => (await import('./end-to-end.ts')).run,
  ledger: async () => (await import('./ledger.ts')).run,
  sim: async () => (await import('./sim.ts')).run,
};

const chosen = process.argv.slice(2).filter((name) => !name.startsWith('-'));
const unknown = chosen.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})`);
  process.exit(2);
}

const results: Record<string, BenchFigure[]> = {};
for (const name of chosen.length > 0 ? chosen : Object.keys(benches)) {
  const load = benches[name] as () => Promise<Bench>;
  const figures = await (await load())();
  printFigures(name, figures);
  results[name] = figures;
}
console.log(`\n${JSON.stringify({ machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, results }, null, 2)}`);
