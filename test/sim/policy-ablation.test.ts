// Proves what the `--policy` ablation shows, with the figures docs/figures.md quotes. On two
// c6gn.4xlarge instances exporting 600 CommonCrawl-sized files with default limits (16 GiB
// budget, 32 jobs, no crashes), the weighted policy holds less memory at its peak than FIFO
// and round-robin (1–2% less over seeds 1–5), though it finishes 1–4% later than FIFO: a
// small trade, not a clear win. Where rows take a large share of memory (rows = half the
// WARC bytes, 4 GiB budget) it finishes sooner than both (by 5–7% at the full inflate's CPU
// rate, which these runs use), because it drains rows into Parquet before fetching more. It also pins down, as an expected failure,
// a weakness of the weighted policy found here: under a tight budget (1 GiB on 16 vCPU) it is
// much slower than FIFO, because oldest-job-first fetching spends the budget on the
// read-ahead of a few jobs, and chunks of one job decode one at a time, so few cores work.
import { describe, expect, it } from 'vitest';
import { policies, type Policy } from '../../core/stage.ts';
import { simulate, type SimulationResult } from '../../sim/fleet-simulation.ts';
import { withModels } from '../../sim/models.ts';
import { defaultScenario, type Scenario } from '../../sim/scenario.ts';

const gibibyte = 1024 ** 3;

const base: Scenario = {
  ...defaultScenario,
  instances: 2,
  instanceType: 'c6gn.4xlarge',
  files: 600,
  seed: 1,
  // A CPU-bound export, where the policy matters: the full inflate's measured rate (sim/models.ts),
  // as `--inflate full` and content runs have. At the head-only rate the instances wait on the
  // network and the three policies finish within 2% of each other.
  models: withModels(defaultScenario.models, {
    crash: { crashesPerInstanceHour: 0 },
    cpu: { decodeBytesPerSecondPerCore: 74_000_000 },
  }),
};

function byPolicy(scenario: Scenario): Record<Policy, SimulationResult> {
  const results = {} as Record<Policy, SimulationResult>;
  for (const policy of policies) {
    results[policy] = simulate({ ...scenario, policy });
    expect(results[policy].violationCount).toBe(0);
  }
  return results;
}

const figures = (results: Record<Policy, SimulationResult>): string =>
  policies
    .map(
      (policy) =>
        `${policy}: ${results[policy].makespanHours.toFixed(4)} h, peak ${(results[policy].peakHeldBytes / gibibyte).toFixed(2)} GiB`,
    )
    .join('; ');

describe('the --policy ablation', () => {
  it('weighted holds less memory at its peak than FIFO and round-robin', () => {
    const results = byPolicy(base);
    console.log(`default limits: ${figures(results)}`);
    for (const other of ['fifo', 'round-robin'] as const) {
      expect(results.weighted.peakHeldBytes).toBeLessThan(results[other].peakHeldBytes);
    }
  });

  it('weighted finishes sooner when rows take much of the memory', () => {
    const results = byPolicy({
      ...base,
      limits: { memoryBudgetBytes: 4 * gibibyte },
      models: withModels(base.models, { data: { rowBytesPerInputByte: 0.5 } }),
    });
    console.log(`heavy rows, 4 GiB: ${figures(results)}`);
    for (const other of ['fifo', 'round-robin'] as const)
      expect(results.weighted.makespanHours).toBeLessThan(results[other].makespanHours);
  });

  // Oldest-job-first once spent a tight budget on the read-ahead of a few jobs, whose chunks
  // decode one at a time, and ran 68% slower than FIFO here; the core now cuts each job's
  // read-ahead so the budget feeds one job per core (fetchWindowChunks in core/limits.ts).
  it('weighted is within 10% of FIFO under a tight memory budget', () => {
    const results = byPolicy({ ...base, limits: { memoryBudgetBytes: gibibyte } });
    console.log(`tight budget, 1 GiB: ${figures(results)}`);
    expect(results.weighted.makespanHours).toBeLessThan(results.fifo.makespanHours * 1.1);
  });
});
