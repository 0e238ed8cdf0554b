// Proves `npm run sim` is deterministic and strict: the same seed and scenario print
// byte-identical JSON (and another seed does not), a scenario file (YAML) is read, and bad
// flags or files exit with code 2 and one line that says what is wrong.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sim(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'cmd/sim/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run sim', () => {
  it('prints byte-identical JSON for the same seed, and other figures for another seed', () => {
    const args = ['--instances', '3', '--files', '40', '--instance-type', 'c6gn.xlarge', '--json'];
    const first = sim([...args, '--seed', '5']);
    const second = sim([...args, '--seed', '5']);
    const other = sim([...args, '--seed', '6']);
    expect(first.status).toBe(0);
    expect(first.stdout.length).toBeGreaterThan(100);
    expect(second.stdout).toBe(first.stdout);
    expect(other.stdout).not.toBe(first.stdout);
    expect(JSON.parse(first.stdout).filesDone).toBe(40);
  });

  it('reads a YAML scenario and lets flags override it', () => {
    const folder = mkdtempSync(join(tmpdir(), 'sim-scenario-'));
    const path = join(folder, 'scenario.yaml');
    writeFileSync(
      path,
      'instances: 2\ninstanceType: c6i.xlarge\nfiles: 10\nmodels:\n  crash:\n    crashesPerInstanceHour: 0\n',
    );
    const result = sim(['--scenario', path, '--files', '12', '--json']);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect([parsed.instances, parsed.instanceType, parsed.files, parsed.crashes]).toEqual([2, 'c6i.xlarge', 12, 0]);
  });

  it.each([
    [['--instances', '0'], /--instances must be a positive integer/],
    [['--policy', 'lifo'], /--policy must be one of/],
    [['--frobnicate'], /Unknown option/],
    [['--instance-type', 'x9.huge'], /unknown instance type "x9.huge"/],
    [['--scenario', '/nonexistent.yaml'], /cannot read scenario file/],
    [['--deadline', '5'], /--deadline only makes sense with --sweep/],
    [['--split-decode', 'yes'], /--split-decode must be on or off/],
  ])('exits 2 with one line for %j', (args, message) => {
    const result = sim(args);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('through its bin, prints only the JSON on stdout, and --out writes the same document', () => {
    const folder = mkdtempSync(join(tmpdir(), 'sim-out-'));
    const out = join(folder, 'plan.json');
    const args = ['--instances', '2', '--files', '12', '--instance-type', 'c6gn.xlarge', '--seed', '3'];
    const result = spawnSync(process.execPath, ['cmd/sim/index.js', ...args, '--json', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(readFileSync(out, 'utf8')));
    expect(JSON.parse(result.stdout).filesDone).toBe(12);
  });

  it('--version prints the name and version of package.json', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
    const result = sim(['--version']);
    expect([result.status, result.stdout]).toEqual([0, `${manifest.name} ${manifest.version}\n`]);
  });

  it('a sweep prints each row as its fleet is done, and on stderr how many are left', () => {
    const result = sim(['--sweep', '--files', '4', '--deadline', '1']);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    // Header, 30 fleets, the conclusion.
    expect(lines).toHaveLength(32);
    expect(lines.at(-1)).toMatch(/^cheapest fleet for a deadline of 1 h .*: \d+ × \S+, \d+\.\d{3} h \(/);
    const progress = result.stderr.trim().split('\n');
    expect(progress[0]).toBe('1 of 30 fleets simulated, 29 left');
    expect(progress.at(-1)).toBe('30 of 30 fleets simulated, 0 left');
  });

  it('explains every flag with --help and exits 0', () => {
    const result = sim(['--help']);
    expect(result.status).toBe(0);
    for (const flag of [
      '--scenario',
      '--instances',
      '--instance-type',
      '--files',
      '--seed',
      '--policy',
      '--inflate',
      '--split-decode',
      '--sweep',
      '--deadline',
      '--calibrate',
      '--json',
      '--html',
      '--out',
      '--version',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });
});
