/**
 * Compiles a checked `--where` (where-plan.ts) once into a closure over the row: the decoder
 * calls it for every capture, so no plan is walked per row. Values follow SQL's three-valued
 * logic as DuckDB does: a comparison with a null is null (unknown), AND and OR combine
 * unknowns by their truth tables, NOT of unknown is unknown, and the row is kept only when the
 * condition is true.
 */
import type { CaptureRow } from '../../core/capture-row.ts';
import { duckdbLower, duckdbUpper } from './duckdb-case.ts';
import { compileLike } from './like-pattern.ts';
import type { CompareKind, ComparisonOperator, ConditionPlan, ValuePlan } from './where-plan.ts';

type Value = string | number | null;
type Getter = (row: CaptureRow) => Value;
type Test = (row: CaptureRow) => boolean | null;

/** Whether the row is kept: the condition is true (not false, not unknown). */
export function compileWhere(plan: ConditionPlan): (row: CaptureRow) => boolean {
  const test = condition(plan);
  return (row) => test(row) === true;
}

/**
 * Strings in code point order, which is the UTF-8 byte order DuckDB compares VARCHARs in.
 * JavaScript's `<` compares UTF-16 code units, which puts U+E000…U+FFFF after the surrogate
 * pairs of U+10000 and up: where both differing units are past U+D7FF, they are shifted back
 * into code point order.
 */
export function compareText(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    if (x < 0xd800 || y < 0xd800) return x - y;
    return (x >= 0xe000 ? x - 0x800 : x + 0x2000) - (y >= 0xe000 ? y - 0x800 : y + 0x2000);
  }
  return a.length - b.length;
}

function value(plan: ValuePlan): Getter {
  switch (plan.k) {
    case 'column': {
      const column = plan.column;
      return (row) => row[column];
    }
    case 'text':
    case 'number': {
      const constant = plan.value;
      return () => constant;
    }
    case 'null':
      return () => null;
    case 'case': {
      const arg = value(plan.arg);
      const map = plan.to === 'lower' ? duckdbLower : duckdbUpper;
      return (row) => {
        const text = arg(row);
        return typeof text === 'string' ? map(text) : null;
      };
    }
  }
}

function ordered(op: ComparisonOperator, kind: CompareKind): (a: string | number, b: string | number) => boolean {
  if (op === '=') return (a, b) => a === b;
  if (op === '<>') return (a, b) => a !== b;
  if (kind === 'text') {
    const text = (test: (order: number) => boolean) => (a: string | number, b: string | number) =>
      test(compareText(a as string, b as string));
    if (op === '<') return text((order) => order < 0);
    if (op === '<=') return text((order) => order <= 0);
    if (op === '>') return text((order) => order > 0);
    return text((order) => order >= 0);
  }
  if (op === '<') return (a, b) => a < b;
  if (op === '<=') return (a, b) => a <= b;
  if (op === '>') return (a, b) => a > b;
  return (a, b) => a >= b;
}

function condition(plan: ConditionPlan): Test {
  switch (plan.k) {
    case 'constant': {
      const constant = plan.value;
      return () => constant;
    }
    case 'compare': {
      const left = value(plan.left);
      const right = value(plan.right);
      const test = ordered(plan.op, plan.kind);
      return (row) => {
        const a = left(row);
        if (a === null) return null;
        const b = right(row);
        return b === null ? null : test(a, b);
      };
    }
    case 'in': {
      const arg = value(plan.arg);
      const values = new Set<string | number>(plan.values);
      const missing = plan.listHasNull ? null : false;
      return (row) => {
        const a = arg(row);
        if (a === null) return null;
        return values.has(a) ? true : missing;
      };
    }
    case 'like': {
      const arg = value(plan.arg);
      const matches = compileLike(plan.pattern, plan.escape);
      return (row) => {
        const a = arg(row);
        return typeof a === 'string' ? matches(a) : null;
      };
    }
    case 'valueIsNull': {
      const arg = value(plan.arg);
      return (row) => arg(row) === null;
    }
    case 'conditionIsNull': {
      const arg = condition(plan.arg);
      return (row) => arg(row) === null;
    }
    case 'not': {
      const arg = condition(plan.arg);
      return (row) => {
        const a = arg(row);
        return a === null ? null : !a;
      };
    }
    case 'and': {
      const left = condition(plan.left);
      const right = condition(plan.right);
      return (row) => {
        const a = left(row);
        if (a === false) return false;
        const b = right(row);
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    }
    case 'or': {
      const left = condition(plan.left);
      const right = condition(plan.right);
      return (row) => {
        const a = left(row);
        if (a === true) return true;
        const b = right(row);
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    }
  }
}
