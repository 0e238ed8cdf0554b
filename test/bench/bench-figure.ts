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
  /** Whether the goal is met, when the benchmark decides it; otherwise read from the goal's words. */
  readonly goalMet?: boolean;
}

/** A figure as the JSON document carries it: every field present, null where it does not apply. */
export interface FigureRecord {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: { readonly name: string; readonly value: number } | null;
  readonly ratio: number | null;
  readonly goal: string | null;
  /** The part of the goal that was checked ("<= 2 µs" of "<= 2 µs; flat from 1k to 100k"), null if none could be. */
  readonly goalChecked: string | null;
  readonly goalMet: boolean | null;
}

function holds(operator: string, left: number, right: number): boolean {
  if (operator === '<=') return left <= right;
  if (operator === '>=') return left >= right;
  return operator === '<' ? left < right : left > right;
}

const number = '([\\d,]+(?:\\.\\d+)?)';
const operator = '(<=|>=|<|>)';
const againstRatio = new RegExp(`^${operator}\\s*${number}\\s*x\\b`);
const againstBudget = new RegExp(`^${operator}\\s*budget\\s*\\+\\s*${number}\\s*(.*)$`);
const againstValue = new RegExp(`^${operator}\\s*${number}\\s*(.*)$`);

/**
 * Checks the first clause of a goal written as the benchmarks write them: "<= 2 µs" (the
 * value, in the figure's unit), ">= 0.7x" (the ratio), "<= budget + 150 MB" (the value
 * against the baseline). Anything else ("near 2") is left unchecked: null.
 */
export function checkGoal(figure: BenchFigure): { checked: string | null; met: boolean | null } {
  if (figure.goal === undefined) return { checked: null, met: null };
  if (figure.goalMet !== undefined) return { checked: figure.goal, met: figure.goalMet };
  const clause = (figure.goal.split(';')[0] as string).trim();
  const amount = (text: string) => Number(text.replaceAll(',', ''));
  const ratio = againstRatio.exec(clause);
  if (ratio && figure.ratio !== undefined)
    return { checked: clause, met: holds(ratio[1] as string, figure.ratio, amount(ratio[2] as string)) };
  const budget = againstBudget.exec(clause);
  if (budget && figure.baseline && (budget[3] === '' || budget[3] === figure.unit)) {
    return {
      checked: clause,
      met: holds(budget[1] as string, figure.value, figure.baseline.value + amount(budget[2] as string)),
    };
  }
  const value = againstValue.exec(clause);
  if (value && !ratio && (value[3] === '' || value[3] === figure.unit)) {
    return { checked: clause, met: holds(value[1] as string, figure.value, amount(value[2] as string)) };
  }
  return { checked: null, met: null };
}

export function recordOf(figure: BenchFigure): FigureRecord {
  const { checked, met } = checkGoal(figure);
  return {
    name: figure.name,
    value: figure.value,
    unit: figure.unit,
    baseline: figure.baseline ?? null,
    ratio: figure.ratio ?? null,
    goal: figure.goal ?? null,
    goalChecked: checked,
    goalMet: met,
  };
}

/** Prints figures as an aligned table on stdout. */
export function printFigures(title: string, figures: readonly BenchFigure[]): void {
  console.log(`\n${title}`);
  for (const figure of figures) {
    const ratio = figure.ratio === undefined ? '' : `  ratio ${figure.ratio.toFixed(2)}`;
    const baseline = figure.baseline ? `  (baseline ${figure.baseline.name}: ${figure.baseline.value.toFixed(2)})` : '';
    const { met } = checkGoal(figure);
    const verdict = met === null ? '' : met ? ' [met]' : ' [NOT met]';
    const goal = figure.goal ? `  goal ${figure.goal}${verdict}` : '';
    console.log(
      `  ${figure.name.padEnd(44)} ${figure.value.toFixed(2).padStart(12)} ${figure.unit}${ratio}${baseline}${goal}`,
    );
  }
}
