/**
 * What the image installs is what runs: the files deploy/Dockerfile copies, with
 * production dependencies only (`npm ci --omit=dev`, from the npm cache, offline), must
 * answer `node cmd/worker --help` and do the default run (the bundled samples to ./out).
 * A package the binary loads that sits among the devDependencies fails here, not in a pod;
 * so does esbuild missing from the dependencies, which the worker builds itself with.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const projectRoot = resolve(import.meta.dirname, '../..');
const copyRoot = mkdtempSync(join(tmpdir(), 'worker-production-'));
/** Installing from the cache takes 10–40 s on the 2-core machine; the rest is margin for load. */
const installTimeoutMs = 180_000;

/**
 * The paths the image copies from the build context (`COPY` lines without `--from` in
 * deploy/Dockerfile): the test builds the same tree, so a file the binary needs and the
 * image leaves out fails here too.
 */
function dockerfileSources(): string[] {
  const dockerfile = readFileSync(join(projectRoot, 'deploy/Dockerfile'), 'utf8');
  const sources: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'COPY' || words.some((word) => word.startsWith('--'))) continue;
    sources.push(...words.slice(1, -1).map((source) => source.replace(/\/$/, '')));
  }
  return sources;
}

/** The files a clean clone holds (git's tracked files, as in the working tree) that the image copies. */
function copyImageFiles(): void {
  const sources = dockerfileSources();
  const listed = spawnSync('git', ['ls-files', '-z'], { cwd: projectRoot, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const path of listed.stdout.split('\0').filter((entry) => entry !== '')) {
    if (!sources.some((source) => path === source || path.startsWith(`${source}/`))) continue;
    const from = join(projectRoot, path);
    // A file deleted in the working tree but not yet from the index is not part of the copy.
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(copyRoot, path)), { recursive: true });
    copyFileSync(from, join(copyRoot, path));
  }
}

function run(command: string, args: string[], timeoutMs: number) {
  const result = spawnSync(command, args, {
    cwd: copyRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production' },
    timeout: timeoutMs,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, error: result.error };
}

beforeAll(() => {
  copyImageFiles();
  const install = run(
    'npm',
    ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--loglevel=error'],
    installTimeoutMs,
  );
  if (install.code !== 0) {
    throw new Error(
      `npm ci --omit=dev --offline failed (${install.code}): ${install.stderr}${install.error?.message ?? ''}`,
    );
  }
}, installTimeoutMs + 10_000);

afterAll(() => rmSync(copyRoot, { recursive: true, force: true }));

describe('the worker with production dependencies only', () => {
  it('holds none of the devDependencies', () => {
    const installed = new Set(readdirSync(join(copyRoot, 'node_modules')));
    for (const dev of ['vitest', 'typescript', 's3rver', 'fast-check']) expect(installed.has(dev), dev).toBe(false);
  });

  it('answers --help', () => {
    const help = run(process.execPath, ['cmd/worker', '--help'], 60_000);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: node cmd/worker');
    // esbuild is a production dependency: the worker built itself, rather than running through tsx.
    const caches = readdirSync(join(copyRoot, 'node_modules/.cache/cc-worker'));
    expect(caches.filter((name) => name.startsWith('worker-'))).toHaveLength(1);
  });

  it('exports the bundled samples with no arguments', () => {
    const exported = run(process.execPath, ['cmd/worker', '--metrics', 'none'], 120_000);
    expect(exported.stderr).toContain('3 files exported, 0 failed');
    expect(exported.code).toBe(0);
    const written = readdirSync(join(copyRoot, 'out'), { recursive: true, encoding: 'utf8' });
    const objects = written.filter((path) => path.endsWith('.parquet'));
    expect(objects).toHaveLength(3);
  }, 130_000);
});
