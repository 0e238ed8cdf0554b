// The soak benchmark's arithmetic: least-squares slope and intercept, a standard error that is
// the textbook one for independent residuals and wider for correlated ones, and the median.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leastSquares, median, type Point } from './trend.ts';

const series = (ys: readonly number[]): Point[] => ys.map((y, x) => ({ x, y }));

describe('leastSquares', () => {
  it('recovers an exact line with no error', () => {
    const trend = leastSquares(series([5, 8, 11, 14, 17]));
    expect(trend.slope).toBeCloseTo(3, 12);
    expect(trend.intercept).toBeCloseTo(5, 12);
    expect(trend.standardError).toBeCloseTo(0, 12);
  });

  it('gives the textbook standard error when residuals alternate (worked by hand)', () => {
    // x 0..3, y 0 2 1 3: sxx 5, sxy 4, slope 0.8, intercept 0.3, residuals -0.3 0.9 -0.9 0.3,
    // their squares sum to 1.8, so the error is sqrt(1.8 / 2 / 5); their lag-1 correlation is negative.
    const trend = leastSquares(series([0, 2, 1, 3]));
    expect(trend.slope).toBeCloseTo(0.8, 12);
    expect(trend.intercept).toBeCloseTo(0.3, 12);
    expect(trend.autocorrelation).toBe(0);
    expect(trend.standardError).toBeCloseTo(Math.sqrt(0.18), 12);
  });

  it('widens the error when neighbouring residuals are alike', () => {
    const alternating = Array.from({ length: 60 }, (_, index) => (index % 2 === 0 ? 1 : -1));
    const slowWave = Array.from({ length: 60 }, (_, index) => (Math.floor(index / 10) % 2 === 0 ? 1 : -1));
    const fast = leastSquares(series(alternating));
    const slow = leastSquares(series(slowWave));
    expect(slow.autocorrelation).toBeGreaterThan(0.5);
    expect(slow.effectiveSamples).toBeLessThan(slow.samples / 3);
    expect(slow.standardError).toBeGreaterThan(2 * fast.standardError);
  });

  it('moves with the data: shifting y keeps slope and error, scaling y scales both', () => {
    const ys = fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 4, maxLength: 40 });
    fc.assert(
      fc.property(
        ys,
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
        fc.double({ min: 0.5, max: 4, noNaN: true }),
        (values, shift, scale) => {
          const base = leastSquares(series(values));
          const shifted = leastSquares(series(values.map((y) => y + shift)));
          const scaled = leastSquares(series(values.map((y) => y * scale)));
          const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * (1 + Math.abs(b));
          if (!Number.isFinite(base.standardError)) return;
          expect(near(shifted.slope, base.slope)).toBe(true);
          expect(near(shifted.standardError, base.standardError)).toBe(true);
          expect(near(scaled.slope, base.slope * scale)).toBe(true);
          expect(near(scaled.standardError, base.standardError * scale)).toBe(true);
        },
      ),
    );
  });

  it('refuses fewer than three points', () => {
    expect(() => leastSquares(series([1, 2]))).toThrow(/at least 3/);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
