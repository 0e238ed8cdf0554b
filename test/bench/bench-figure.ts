/** One figure a benchmark prints, with the baseline it was measured against in the same run. */
export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the value is compared with, measured in the same run (machines here are shared and noisy). */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** value / baseline.value, or whatever ratio the goal is stated in. */
  readonly ratio?: number;
  /** The goal in words, e.g. ">= 0.7x zlib". */
  readonly goal?: string;
}

/** Prints figures as an aligned table on stdout. */
export function printFigures(title: string, figures: readonly BenchFigure[]): void {
  console.log(`\n${title}`);
  for (const figure of figures) {
    const ratio = figure.ratio === undefined ? '' : `  ratio ${figure.ratio.toFixed(2)}`;
    const baseline = figure.baseline ? `  (baseline ${figure.baseline.name}: ${figure.baseline.value.toFixed(2)})` : '';
    const goal = figure.goal ? `  goal ${figure.goal}` : '';
    console.log(`  ${figure.name.padEnd(44)} ${figure.value.toFixed(2).padStart(12)} ${figure.unit}${ratio}${baseline}${goal}`);
  }
}
