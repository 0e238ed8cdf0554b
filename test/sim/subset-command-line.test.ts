// `npm run sim -- --subset-captures N`: the event simulation of a subset run, coalesced and one
// request a capture, each with the closed form's time, as JSON and as text; a scenario file's
// `subset` and the subset flags reach it; `--inflate full` plans at the full inflate's rate;
// bad values exit 2 with one line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

const small = ['--files', '200', '--instances', '2', '--instance-type', 'c6gn.xlarge'];

describe('npm run sim -- --subset-captures', () => {
  it('simulates the subset coalesced and one request a capture, with the closed form beside each', () => {
    const result = sim(['--subset-captures', '2000', ...small, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout);
    for (const run of [parsed.coalesced, parsed.oneRequestEach]) {
      expect(run.violationCount).toBe(0);
      expect(run.subset.capturesExported).toBe(run.subset.captures);
      expect(Math.abs(run.subset.captures - 2000)).toBeLessThan(100);
    }
    expect(parsed.oneRequestEach.subset.requests).toBe(parsed.oneRequestEach.subset.captures);
    expect(parsed.coalesced.subset.requests).toBeLessThanOrEqual(parsed.oneRequestEach.subset.requests);
    // HTTPS at 20 requests a second a worker by default: the workers' request rate binds.
    expect(parsed.coalesced.bottleneck).toMatch(/each worker's source request rate/);
    expect(parsed.closedForm.coalesced.bound).toBe('request rate');
  });

  it('prints the comparison as text, and takes the subset from a scenario file and the flags', () => {
    const folder = mkdtempSync(join(tmpdir(), 'sim-subset-'));
    const path = join(folder, 'scenario.yaml');
    writeFileSync(path, 'subset:\n  captureBytes: 10000\n  spread: skewed\n');
    const result = sim([
      '--subset-captures',
      '1000',
      ...small,
      '--scenario',
      path,
      '--coalesce-gap-kb',
      '0',
      '--source-requests-per-second',
      'none',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/coalesced\s+1\.000\s+/);
    expect(result.stdout).toMatch(/one request each\s+1\.000\s+/);
    expect(result.stdout).toMatch(/gaps under 0 KiB bridged/);
    expect(result.stdout).toMatch(/closed form/);
  });

  it('plans a CPU-bound export longer with --inflate full', () => {
    const args = ['--files', '40', '--instances', '1', '--instance-type', 'c6gn.xlarge', '--json'];
    const headOnly = JSON.parse(sim(args).stdout);
    const full = JSON.parse(sim([...args, '--inflate', 'full']).stdout);
    expect(full.makespanHours).toBeGreaterThan(1.5 * headOnly.makespanHours);
    expect(full.bottleneck).toMatch(/CPU/);
  });

  it.each([
    [['--inflate', 'half'], /--inflate must be one of head-only, full/],
    [['--subset-captures', '0'], /--subset-captures must be a positive integer/],
    [['--subset-captures', '10', '--subset-spread', 'lumpy'], /--subset-spread must be even or skewed/],
  ])('exits 2 with one line for %j', (args, message) => {
    const result = sim(args);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
