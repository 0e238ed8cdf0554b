/**
 * Which packages the worker loads at start, seen by a probe (test/support/package-load-probe.mjs)
 * that reports every package imported or required, with its thread. The commands that export
 * nothing load none of the heavy packages; a run's main thread loads only what every run needs
 * before its threads start (parquetjs after them, for the footers); no thread loads the AWS SDK,
 * the PostgreSQL driver or the index readers for a local run (docs/figures.md, "Start time").
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const binary = join(root, 'cmd/worker');
const probe = resolve(import.meta.dirname, '../support/package-load-probe.mjs');
const folder = mkdtempSync(join(tmpdir(), 'worker-start-packages-'));
/** Loaded by neither `--help` nor a local run's main thread before its threads start. */
const heavy = ['@dsnp/parquetjs', '@aws-sdk/', '@smithy/', 'pg', 'hyparquet', 'csv-parse', 'yaml'];
/** Loaded by no thread of a local run without `--config` or an `index:` input. */
const foreign = ['@aws-sdk/', '@smithy/', 'pg', 'hyparquet', 'csv-parse', 'yaml'];

interface Loaded {
  readonly status: number | null;
  /** Package specifiers loaded, by thread id (0: the main thread). */
  readonly byThread: Map<number, Set<string>>;
}

function worker(args: readonly string[]): Loaded {
  const result = spawnSync(process.execPath, ['--import', probe, binary, ...args], {
    cwd: folder,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    timeout: 120_000,
  });
  const byThread = new Map<number, Set<string>>();
  for (const match of result.stderr.matchAll(/^package loaded: (\S+) \(thread (\d+)\)$/gm)) {
    const [, specifier = '', thread = ''] = match;
    const loaded = byThread.get(Number(thread)) ?? new Set<string>();
    loaded.add(specifier);
    byThread.set(Number(thread), loaded);
  }
  return { status: result.status, byThread };
}

function matching(loaded: Set<string> | undefined, packages: readonly string[]): string[] {
  return [...(loaded ?? [])].filter((specifier) =>
    packages.some((name) =>
      name.endsWith('/') ? specifier.startsWith(name) : specifier === name || specifier.startsWith(`${name}/`),
    ),
  );
}

/** The files of the checkout's current worker build (cmd/cached-build.js), by name. */
function currentBuildFiles(): Map<string, string> {
  const key = createHash('sha256').update(root).digest('hex').slice(0, 12);
  const cache = join(root, 'node_modules', '.cache', 'cc-worker', `worker-${key}`);
  const build = join(cache, 'builds', readFileSync(join(cache, 'current'), 'utf8').trim());
  const files = new Map<string, string>();
  for (const name of readdirSync(build))
    if (name.endsWith('.js')) files.set(name, readFileSync(join(build, name), 'utf8'));
  return files;
}

/** The build's files `entry` imports statically, itself included (what node loads before it runs). */
function staticGraph(files: Map<string, string>, entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let next = pending.pop(); next !== undefined && seen.size < files.size; next = pending.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    for (const match of (files.get(next) ?? '').matchAll(/^import\s[^'"]*?["']\.\/([^"']+)["'];?$/gm))
      pending.push(match[1] ?? '');
  }
  return seen;
}

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('packages loaded at start', () => {
  it.each([[['--help']], [['--version']], [['status', '--ledger', join(folder, 'no-ledger')]]])(
    '%j loads none of the heavy packages',
    (args) => {
      const result = worker(args);
      expect(result.status).toBe(0);
      expect(matching(result.byThread.get(0), heavy)).toEqual([]);
    },
  );

  it("bundles Effect into the build's chunks a run imports, none of which the main entry imports", () => {
    expect(worker(['--version']).status).toBe(0);
    const files = currentBuildFiles();
    // esbuild heads each bundled file's code with its path.
    const holdsEffect = (name: string): boolean => /^\/\/ \S*node_modules\/effect\//m.test(files.get(name) ?? '');
    expect([...files.keys()].filter(holdsEffect).length).toBeGreaterThan(0);
    expect([...staticGraph(files, 'main.js')].filter(holdsEffect)).toEqual([]);
    expect([...staticGraph(files, 'cpu-thread.js')].filter(holdsEffect)).toEqual([]);
  });

  it('the probe sees a package required on demand: --config loads yaml', () => {
    const config = join(folder, 'worker.yaml');
    writeFileSync(config, 'threads: 1\n');
    const result = worker(['--help', '--config', config]);
    expect(result.status).toBe(0);
    expect(matching(result.byThread.get(0), ['yaml'])).toEqual(['yaml']);
  });

  it('a run that stops before its threads start loads none of them', () => {
    const result = worker(['--input', join(folder, 'missing.warc.gz'), '--output', join(folder, 'stopped')]);
    expect(result.status).toBe(2);
    expect(matching(result.byThread.get(0), heavy)).toEqual([]);
  });

  it('a run of the samples loads no foreign package on any thread', () => {
    const result = worker(['--output', join(folder, 'out'), '--threads', '1', '--metrics', 'none']);
    expect(result.status).toBe(0);
    const threads = [...result.byThread.keys()].filter((thread) => thread !== 0);
    expect(threads).toHaveLength(1);
    const cpuThread = result.byThread.get(threads[0] ?? -1);
    // The probe sees the CPU thread's packages, so their absence elsewhere means something.
    expect(matching(cpuThread, ['tldts', '@dsnp/parquetjs']).length).toBeGreaterThan(0);
    for (const loaded of result.byThread.values()) expect(matching(loaded, foreign)).toEqual([]);
  });
});
