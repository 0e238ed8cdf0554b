/**
 * The least-squares trend of a series sampled over time, with a standard error that accounts
 * for neighbouring samples being alike: RSS sampled every second rises and falls with the
 * garbage collector's cycles, so its residuals are correlated and the textbook standard error
 * would claim a precision the samples do not have.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Trend {
  readonly slope: number;
  readonly intercept: number;
  /** Standard error of the slope, widened for lag-1 autocorrelation of the residuals. */
  readonly standardError: number;
  /** Lag-1 autocorrelation of the residuals (0 when they look independent). */
  readonly autocorrelation: number;
  /** How many independent samples the series is worth: n (1 - r) / (1 + r). */
  readonly effectiveSamples: number;
  readonly samples: number;
}

/** Residuals more alike than this are treated as this alike, so the effective count stays above zero. */
const autocorrelationMax = 0.98;

export function leastSquares(points: readonly Point[]): Trend {
  const samples = points.length;
  if (samples < 3) throw new Error(`a trend needs at least 3 points, got ${samples}`);
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / samples;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / samples;
  let sxx = 0;
  let sxy = 0;
  for (const point of points) {
    sxx += (point.x - meanX) ** 2;
    sxy += (point.x - meanX) * (point.y - meanY);
  }
  if (sxx === 0) throw new Error('a trend needs points at more than one x');
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const residuals = points.map((point) => point.y - (intercept + slope * point.x));
  const autocorrelation = lag1Autocorrelation(residuals);
  const effectiveSamples = (samples * (1 - autocorrelation)) / (1 + autocorrelation);
  const residualSquares = residuals.reduce((sum, residual) => sum + residual ** 2, 0);
  const textbookError = Math.sqrt(residualSquares / (samples - 2) / sxx);
  // Fewer independent samples widen the error by sqrt(n / n_eff); below 3 the series says nothing.
  const standardError = effectiveSamples < 3 ? Infinity : textbookError * Math.sqrt(samples / effectiveSamples);
  return { slope, intercept, standardError, autocorrelation, effectiveSamples, samples };
}

/** Clamped to [0, autocorrelationMax]: negative correlation would narrow the error, which we never claim. */
function lag1Autocorrelation(values: readonly number[]): number {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  let numerator = 0;
  let denominator = 0;
  values.forEach((value, index) => {
    denominator += (value - mean) ** 2;
    if (index > 0) numerator += (value - mean) * ((values[index - 1] as number) - mean);
  });
  if (denominator === 0) return 0;
  return Math.min(autocorrelationMax, Math.max(0, numerator / denominator));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('the median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
