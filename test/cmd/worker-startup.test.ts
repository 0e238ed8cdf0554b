/**
 * What the worker loads at start: `--version` prints the package's name and version, and the
 * commands that run no export (`--help`, `--version`, `status`) never import Effect, which a
 * run needs and which costs about 15 MB and hundreds of milliseconds to load (docs/figures.md,
 * "Start time"). A resolve hook reports every import of it (or of the build's module that
 * bundles it); a run that starts does import it, so the hook is shown to see it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const binary = resolve(import.meta.dirname, '../../cmd/worker');
const probe = resolve(import.meta.dirname, '../support/effect-import-probe.mjs');
const folder = mkdtempSync(join(tmpdir(), 'worker-startup-'));
const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
  name: string;
  version: string;
};

function worker(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', probe, binary, ...args], {
    cwd: folder,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('worker start', () => {
  it('--version prints the name and version of package.json', () => {
    const result = worker(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${manifest.name} ${manifest.version}\n`);
  });

  it.each([[['--help']], [['--version']], [['status', '--ledger', join(folder, 'no-ledger')]]])(
    '%j does not import Effect',
    (args) => {
      const result = worker(args);
      expect(result.status).toBe(0);
      expect(result.stderr).not.toContain('effect imported');
    },
  );

  it('a run imports Effect (the probe sees it)', () => {
    // An input that does not exist: the run starts, then exits 2 before anything is written.
    const result = worker(['--input', join(folder, 'missing.warc.gz'), '--output', join(folder, 'out')]);
    expect(result.status).toBe(2);
    // Through the build, the module that bundles Effect; through the sources, Effect itself.
    expect(result.stderr).toMatch(/effect imported: (effect\/Effect|\.\/run-worker-\w+\.js)/);
  });
});
