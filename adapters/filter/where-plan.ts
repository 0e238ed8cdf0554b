/**
 * A `--where` expression once parsed and typed: plain data, so the main thread can check it
 * (and exit 2 on a mistake) and send it to every CPU thread, which compiles it into a closure
 * (where-compiler.ts) without loading the SQL parser. Every literal is already cast to the
 * type it is compared with, as DuckDB's binder casts it.
 */
import type { IndexColumn } from './index-column-types.ts';

/** How two values are compared: strings by code point (UTF-8 byte order), numbers, or timestamps in microseconds. */
export type CompareKind = 'text' | 'number' | 'timestamp';

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** A value: a column, a literal, or lower/upper of a text value. */
export type ValuePlan =
  | { readonly k: 'column'; readonly column: IndexColumn; readonly kind: CompareKind }
  | { readonly k: 'text'; readonly value: string }
  | { readonly k: 'number'; readonly value: number }
  | { readonly k: 'null' }
  | { readonly k: 'case'; readonly to: 'lower' | 'upper'; readonly arg: ValuePlan };

/** A condition, of SQL's three values: true, false or null (unknown). */
export type ConditionPlan =
  | { readonly k: 'constant'; readonly value: boolean | null }
  | {
      readonly k: 'compare';
      readonly op: ComparisonOperator;
      readonly kind: CompareKind;
      readonly left: ValuePlan;
      readonly right: ValuePlan;
    }
  | {
      readonly k: 'in';
      readonly kind: CompareKind;
      readonly arg: ValuePlan;
      readonly values: readonly (string | number)[];
      readonly listHasNull: boolean;
    }
  | { readonly k: 'like'; readonly arg: ValuePlan; readonly pattern: string; readonly escape: string | null }
  | { readonly k: 'valueIsNull'; readonly arg: ValuePlan }
  | { readonly k: 'conditionIsNull'; readonly arg: ConditionPlan }
  | { readonly k: 'not'; readonly arg: ConditionPlan }
  | { readonly k: 'and' | 'or'; readonly left: ConditionPlan; readonly right: ConditionPlan };
