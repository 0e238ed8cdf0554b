// Goals as the benchmarks write them are checked against the right quantity (the value in its
// unit, the ratio, or the value against the baseline), and goals in words are left unchecked.
import { describe, expect, it } from 'vitest';
import { checkGoal, recordOf, type BenchFigure } from './bench-figure.ts';

const figure = (overrides: Partial<BenchFigure>): BenchFigure => ({ name: 'f', value: 1, unit: 'MB', ...overrides });

describe('checkGoal', () => {
  it("compares the value when the goal names the figure's unit", () => {
    expect(checkGoal(figure({ value: 1.9, unit: 'µs', goal: '<= 2 µs; flat from 1k to 100k' }))).toEqual({
      checked: '<= 2 µs',
      met: true,
    });
    expect(checkGoal(figure({ value: 2.1, unit: 'µs', goal: '<= 2 µs' })).met).toBe(false);
    expect(checkGoal(figure({ value: 1999, unit: 'jobs/s', goal: '>= 2,000 jobs/s' })).met).toBe(false);
    expect(checkGoal(figure({ value: 10, unit: 's', goal: '< 10 s' })).met).toBe(false);
  });

  it('compares the ratio when the goal is a multiple, not the value', () => {
    expect(checkGoal(figure({ value: 50, ratio: 0.69, goal: '>= 0.7x' })).met).toBe(false);
    expect(checkGoal(figure({ value: 0.1, ratio: 3.4, goal: '>= 3x' })).met).toBe(true);
    expect(checkGoal(figure({ value: 60, ratio: 0.8, unit: 'MB/s', goal: '>= 0.5x gunzip per core' }))).toEqual({
      checked: '>= 0.5x gunzip per core',
      met: true,
    });
  });

  it('compares the value against the baseline for budget goals', () => {
    const baseline = { name: 'memory budget MB', value: 256 };
    expect(checkGoal(figure({ value: 406, baseline, goal: '<= budget + 150 MB' })).met).toBe(true);
    expect(checkGoal(figure({ value: 407, baseline, goal: '<= budget + 150 MB' })).met).toBe(false);
  });

  it('leaves goals it cannot read, or whose quantity is missing, unchecked', () => {
    expect(checkGoal(figure({ goal: 'near 2' }))).toEqual({ checked: null, met: null });
    expect(checkGoal(figure({ value: 5, goal: '>= 3x' }))).toEqual({ checked: null, met: null });
    expect(checkGoal(figure({ value: 5, unit: 'MB', goal: '<= 300 ms' }))).toEqual({ checked: null, met: null });
    expect(checkGoal(figure({}))).toEqual({ checked: null, met: null });
  });

  it("takes the benchmark's own verdict when it gives one", () => {
    expect(checkGoal(figure({ value: 9, goal: '|slope| <= 2 standard errors', goalMet: false }))).toEqual({
      checked: '|slope| <= 2 standard errors',
      met: false,
    });
  });
});

describe('recordOf', () => {
  it('carries every field, null where it does not apply', () => {
    expect(recordOf(figure({ name: 'n', value: 3, unit: 'x' }))).toEqual({
      name: 'n',
      value: 3,
      unit: 'x',
      baseline: null,
      ratio: null,
      goal: null,
      goalChecked: null,
      goalMet: null,
    });
  });
});
