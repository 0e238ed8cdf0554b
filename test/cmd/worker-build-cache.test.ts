/**
 * `node cmd/worker` runs its cached build (cmd/cached-build.js), not the sources through tsx:
 * the main and every CPU thread load the build's files; a source edited (or only touched) since
 * the build makes a new one before the worker starts; four workers started at once on an empty
 * cache all run; and where the cache cannot be written, or esbuild not loaded, the worker runs
 * from the sources, as the run's debug line says. Each test works on a copy of the worker with
 * a cache of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCacheOf, copyOfWorker } from '../support/project-copy.ts';

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const copies: string[] = [];
/** One sample on `threads` CPU threads, with the debug line that says where the run's code came from. */
function sampleRun(output: string, threads = 1): string[] {
  const args = ['--input', 'samples/warcio', '--output', output, '--threads', String(threads)];
  return [...args, '--metrics', 'none', '--log-level', 'debug'];
}
/** A start that builds takes 1–3 s on the shared 2-core machine; a run of one sample, 2–5 s. */
const runTimeoutMs = 90_000;

afterAll(() => {
  for (const copy of copies) rmSync(copy, { recursive: true, force: true });
});

function newCopy(): string {
  const copy = copyOfWorker('worker-build-cache-');
  copies.push(copy);
  return copy;
}

/** `node cmd/worker …` in `copy`, with no environment but PATH and HOME; killed past the timeout. */
function worker(copy: string, args: readonly string[]): Promise<Exit> {
  const child = spawn(process.execPath, [join(copy, 'cmd/worker'), ...args], {
    cwd: copy,
    env: { PATH: process.env.PATH ?? '', HOME: copy },
    timeout: runTimeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveExit) => child.on('close', (code) => resolveExit({ code, stdout, stderr })));
}

function currentBuild(copy: string): string {
  const cache = buildCacheOf(copy);
  return join(cache, 'builds', readFileSync(join(cache, 'current'), 'utf8'));
}

function manifestPaths(build: string): string[] {
  const manifest = JSON.parse(readFileSync(join(build, 'manifest.json'), 'utf8')) as { inputs: { path: string }[] };
  return manifest.inputs.map((input) => input.path);
}

describe('the worker build cache', () => {
  it("runs the main and each CPU thread from the build's files", async () => {
    const copy = newCopy();
    const version = await worker(copy, ['--version']);
    expect(version.code, version.stderr).toBe(0);
    const build = currentBuild(copy);
    expect(manifestPaths(build)).toEqual(expect.arrayContaining(['cmd/worker/main.ts', 'cmd/worker/cpu-thread.ts']));
    // A line that only the build's files print: the sources know nothing of it. Written to fd 2
    // at once: a CPU thread's process.stderr goes through the main thread, and is lost when the
    // thread is terminated before it arrives.
    for (const entry of ['main.js', 'cpu-thread.js']) {
      const path = join(build, entry);
      const line = `import { writeSync as writeBuiltLine } from 'node:fs';\nwriteBuiltLine(2, 'built ${entry} loaded\\n');\n`;
      writeFileSync(path, `${line}${readFileSync(path, 'utf8')}`);
    }
    const run = await worker(copy, sampleRun('out', 2));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/built main\.js loaded/g)).toHaveLength(1);
    // Both threads are started at once, but a thread that is given no task (one small sample)
    // may be terminated at the run's end before it has loaded its entry, on a loaded machine:
    // at least the thread that decoded loaded the build's, and every thread is spawned from the
    // entry the debug line below names.
    const threadLines = run.stderr.match(/built cpu-thread\.js loaded/g) ?? [];
    expect(threadLines.length).toBeGreaterThanOrEqual(1);
    expect(threadLines.length).toBeLessThanOrEqual(2);
    expect(run.stderr).toContain('"message":"started from the cached build"');
    expect(run.stderr).toContain(`"cpuThreadEntry":"file://${join(build, 'cpu-thread.js')}"`);
  });

  it('builds again after a source was edited, or only touched', async () => {
    const copy = newCopy();
    expect((await worker(copy, ['--version'])).stdout).toBe('cc-chunks-worker 0.1.0\n');
    const first = currentBuild(copy);
    const source = join(copy, 'cmd/package-version.ts');
    writeFileSync(
      source,
      readFileSync(source, 'utf8').replace('return `${manifest.name}', 'return `edited ${manifest.name}'),
    );
    expect((await worker(copy, ['--version'])).stdout).toBe('edited cc-chunks-worker 0.1.0\n');
    const edited = currentBuild(copy);
    expect(edited).not.toBe(first);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(copy, 'core/failure.ts'), later, later);
    expect((await worker(copy, ['--version'])).code).toBe(0);
    expect(currentBuild(copy)).not.toBe(edited);
    // Unchanged since: the same build serves the next start.
    const touched = currentBuild(copy);
    expect((await worker(copy, ['--version'])).code).toBe(0);
    expect(currentBuild(copy)).toBe(touched);
  });

  it('serves four workers started at once on an empty cache', async () => {
    const copy = newCopy();
    const exits = await Promise.all([0, 1, 2, 3].map((index) => worker(copy, sampleRun(`out-${index}`))));
    for (const exit of exits) {
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stderr).toContain('"message":"started from the cached build"');
    }
    const cache = buildCacheOf(copy);
    // What `current` names is whole, and no half-written pointer is left behind.
    expect(existsSync(join(currentBuild(copy), 'manifest.json'))).toBe(true);
    expect(readdirSync(cache).sort()).toEqual(['builds', 'current']);
    for (const build of readdirSync(join(cache, 'builds'))) {
      expect(existsSync(join(cache, 'builds', build, 'main.js')), build).toBe(true);
    }
  });

  it.each([
    {
      when: 'the cache cannot be written',
      // A file where the cache folder would be: no build can be written under it, even by root.
      arrange: (copy: string) => writeFileSync(join(copy, 'node_modules/.cache'), ''),
      reason: /"reason":"[^"]*node_modules\/\.cache/,
    },
    {
      when: 'esbuild cannot be loaded',
      // tsx still finds its own esbuild, through the linked package's real folder.
      arrange: (copy: string) => rmSync(join(copy, 'node_modules/esbuild')),
      reason: /"reason":"[^"]*'esbuild'/,
    },
  ])('runs from the sources through tsx when $when', async ({ arrange, reason }) => {
    const copy = newCopy();
    arrange(copy);
    const run = await worker(copy, sampleRun('out'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('"message":"started from the TypeScript sources through tsx"');
    expect(run.stderr).toMatch(reason);
    expect(run.stderr).toContain(`"cpuThreadEntry":"file://${join(copy, 'cmd/worker/cpu-thread-entry.js')}"`);
    expect(run.stderr).toContain('1 file exported, 0 failed');
  });
});
