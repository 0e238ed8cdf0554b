// The planner's `--inflate full`: the index decoder's full-inflate rate (sim/models.ts, 74 MB/s a
// core against 490 head-only, both measured by the `index-decode` bench) is its own rate, so a
// plan of a full-inflate export is CPU-bound and as long as its bytes over its cores at that
// rate, while the same crawl head-only waits on the network. A calibration from the log of a
// full-inflate run sets the full rate, not the head-only one.
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../sim/calibration.ts';
import { simulate } from '../../sim/fleet-simulation.ts';
import { findInstanceType } from '../../sim/instance-types.ts';
import { defaultModels, indexDecodeRateOf, withModels } from '../../sim/models.ts';
import { defaultScenario, scenarioProblem, type Scenario } from '../../sim/scenario.ts';

const mebibyte = 1024 ** 2;

const base: Scenario = {
  ...defaultScenario,
  instances: 2,
  instanceType: 'c6gn.4xlarge',
  files: 96,
  fileBytes: 512 * mebibyte,
  fileBytesSpread: 0,
  models: withModels(defaultScenario.models, { crash: { crashesPerInstanceHour: 0 } }),
};

function withInflate(scenario: Scenario, inflate: 'head-only' | 'full'): Scenario {
  return { ...scenario, models: withModels(scenario.models, { cpu: { inflate } }) };
}

describe('the full inflate rate', () => {
  it('makes a CPU-bound plan as long as its bytes at 74 MB/s a core, and head-only shorter', () => {
    const full = simulate(withInflate(base, 'full'));
    const headOnly = simulate(withInflate(base, 'head-only'));
    expect(full.violationCount).toBe(0);
    expect(headOnly.violationCount).toBe(0);
    const cores = base.instances * (findInstanceType(base.instanceType)?.vcpus ?? 0);
    // Decode alone at the full rate; encode (30,000 rows/s, 25 rows a MB) adds some 3%.
    const decodeHours = (base.files * base.fileBytes) / (cores * 74_000_000) / 3600;
    console.log(
      `full ${full.makespanHours.toFixed(4)} h (${full.bottleneck}); head-only ${headOnly.makespanHours.toFixed(4)} h (${headOnly.bottleneck}); decode alone ${decodeHours.toFixed(4)} h`,
    );
    expect(full.bottleneck).toMatch(/CPU/);
    expect(full.makespanHours).toBeGreaterThan(decodeHours);
    expect(full.makespanHours).toBeLessThan(decodeHours * 1.25);
    expect(headOnly.bottleneck).not.toMatch(/CPU/);
    expect(full.makespanHours / headOnly.makespanHours).toBeGreaterThan(2);
  });

  it('is the index rate in use only when the models say full', () => {
    expect(indexDecodeRateOf(defaultModels.cpu)).toBe(490_000_000);
    expect(indexDecodeRateOf({ ...defaultModels.cpu, inflate: 'full' })).toBe(74_000_000);
  });

  it('refuses an inflate mode it does not know', () => {
    const bad = { ...base, models: { ...base.models, cpu: { ...base.models.cpu, inflate: 'partial' as 'full' } } };
    expect(scenarioProblem(bad)).toMatch(/inflate must be head-only or full/);
  });

  it("takes a full-inflate run's measured decode rate as the full rate", () => {
    // One decode busy for 10 s, 10,000 records of 50 KB decoded: 50 MB/s.
    const snapshot = (atMs: number, records: number) =>
      JSON.stringify({
        atMs,
        activeWorkers: { fetch: 0, decode: 1, encode: 0, upload: 0, commit: 0 },
        counters: { records, bytesIn: records * 50_000, rows: records, bytesOut: records * 100, jobsCommitted: 0 },
      });
    const log = [snapshot(0, 0), snapshot(10_000, 10_000)].join('\n');
    const models = withModels(defaultModels, { cpu: { inflate: 'full' } });
    const result = calibrate(log, models, 32 * mebibyte);
    if (typeof result === 'string') throw new Error(result);
    expect(result.overrides.cpu?.decodeBytesPerSecondPerCore).toBeUndefined();
    expect(result.overrides.cpu?.fullInflateDecodeBytesPerSecondPerCore).toBeCloseTo(50_000_000, -3);
  });
});
