/**
 * Start time and peak RSS of the commands that export nothing (`--help`, `--version`,
 * `status` on a ledger) against the same commands started the way every command started
 * before they stopped loading Effect: an entry that imports Effect's modules first (as
 * cmd/worker/index.js does for a run) and then the same main.ts. Both in the same run, each
 * command the median of `runsEach` children, alternated so load on the machine hits both.
 * Wall time from spawn to exit; CPU time (user + system, which load on the shared machine
 * stretches less than wall time) and peak RSS from GNU time.
 * Run: npm run bench -- startup
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './bench-figure.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const benchFolder = join(root, '.bench');
const binary = join(root, 'cmd', 'worker');
/** Children per command and entry: the median of a few damps the shared machine's noise. */
const runsEach = 7;

/** The entry every command had before: Effect's modules imported up front, then main.ts. */
const withEffectEntry = `// Written by test/bench/startup.ts: the worker's entry as it was, Effect imported for every command.
await Promise.all([import('effect/Effect'), import('effect/Cause'), import('effect/Exit'), import('effect/Fiber'), import('yaml')]);
const { register } = await import('tsx/esm/api');
register();
await import(${JSON.stringify(new URL('../../cmd/worker/main.ts', import.meta.url).href)});
`;

interface Start {
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssMb: number;
}

function measure(entry: string, args: readonly string[]): Start {
  const started = performance.now();
  const child = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, entry, ...args], { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (child.status !== 0) throw new Error(`${entry} ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  const lines = child.stderr.trim().split('\n');
  const [kilobytes, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
  return { ms, cpuMs: ((user ?? NaN) + (system ?? NaN)) * 1_000, rssMb: ((kilobytes ?? NaN) * 1024) / 1e6 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export async function run(): Promise<BenchFigure[]> {
  mkdirSync(benchFolder, { recursive: true });
  const before = join(benchFolder, 'worker-entry-with-effect.mjs');
  writeFileSync(before, withEffectEntry);
  const ledger = mkdtempSync(join(tmpdir(), 'startup-bench-'));
  const commands: [string, string[]][] = [
    ['--help', ['--help']],
    ['--version', ['--version']],
    ['status (empty embedded ledger)', ['status', '--ledger', ledger]],
  ];
  const figures: BenchFigure[] = [];
  try {
    for (const [name, args] of commands) {
      const now: Start[] = [];
      const was: Start[] = [];
      for (let index = 0; index < runsEach; index += 1) {
        now.push(measure(binary, args));
        was.push(measure(before, args));
      }
      const [ms, msBefore] = [median(now.map((m) => m.ms)), median(was.map((m) => m.ms))];
      const [cpu, cpuBefore] = [median(now.map((m) => m.cpuMs)), median(was.map((m) => m.cpuMs))];
      const [rss, rssBefore] = [median(now.map((m) => m.rssMb)), median(was.map((m) => m.rssMb))];
      figures.push(
        {
          name: `node cmd/worker ${name}: wall time`,
          value: ms,
          unit: 'ms',
          baseline: { name: 'with Effect imported first (as before), ms', value: msBefore },
          ratio: ms / msBefore,
          goal: '< 1x',
        },
        {
          name: `node cmd/worker ${name}: CPU time`,
          value: cpu,
          unit: 'ms',
          baseline: { name: 'with Effect imported first (as before), ms', value: cpuBefore },
          ratio: cpu / cpuBefore,
          goal: '< 1x',
        },
        {
          name: `node cmd/worker ${name}: peak RSS`,
          value: rss,
          unit: 'MB',
          baseline: { name: 'with Effect imported first (as before), MB', value: rssBefore },
          ratio: rss / rssBefore,
        },
      );
    }
  } finally {
    rmSync(ledger, { recursive: true, force: true });
  }
  return figures;
}
