/**
 * `--where`: parses the expression with sqlparser-rs's DuckDB dialect (through its WASM build,
 * @guanmingchiu/sqlparser-ts), then types it against the index columns as DuckDB's binder
 * would, into a `ConditionPlan`. Every mistake is a `WhereError` whose one-line message names
 * what to fix and where (line and column of the expression as the user wrote it).
 *
 * The parser reads whole statements, so the expression is parsed as `SELECT 1 WHERE` + a line
 * break + the text, and the statement is then checked to be exactly that: nothing before the
 * text (it starts a line of its own) and nothing after it (no ORDER BY, LIMIT, second statement).
 */
import { init, parse } from '@guanmingchiu/sqlparser-ts';
import { whereOperatorsMax, whereDepthMax, whereTextMaxChars } from './filter-limits.ts';
import {
  indexColumnTypes,
  integerRanges,
  payloadColumns,
  type IndexColumn,
  type IndexColumnType,
} from './index-column-types.ts';
import { likeTokens } from './like-pattern.ts';
import { castToInteger, timestampMilliseconds } from './sql-literals.ts';
import type { CompareKind, ComparisonOperator, ConditionPlan, ValuePlan } from './where-plan.ts';

/** A position in the expression as written, from 1. */
export interface WherePosition {
  readonly line: number;
  readonly column: number;
}

export class WhereError extends Error {
  override readonly name = 'WhereError';
  constructor(
    readonly problem: string,
    readonly position: WherePosition,
  ) {
    super(`--where: ${problem} (at line ${position.line}, column ${position.column})`);
  }
}

const prefix = 'SELECT 1 WHERE\n';
const dialect = 'duckdb';

let initialized: Promise<void> | null = null;

/** Parses and types a `--where` expression; throws `WhereError` on the user's mistakes. */
export async function parseWhere(text: string): Promise<ConditionPlan> {
  initialized ??= init();
  await initialized;
  return checkWhere(text);
}

function checkWhere(text: string): ConditionPlan {
  if (text.length > whereTextMaxChars)
    throw new WhereError(`the expression is longer than ${whereTextMaxChars} characters`, { line: 1, column: 1 });
  if (text.trim() === '') throw new WhereError('the expression is empty: give a condition', { line: 1, column: 1 });
  if (operatorCount(text) > whereOperatorsMax)
    throw new WhereError(
      `more than ${whereOperatorsMax} operators (AND, OR, comparisons): write a long OR of values as IN (…)`,
      { line: 1, column: 1 },
    );
  const selection = selectionOf(text);
  return new Checker(text).condition(selection, 0);
}

/** Quoted strings and names, whose characters are no operators. */
const quoted = /'(?:[^']|'')*'|"(?:[^"]|"")*"/g;
const operators = /\b(?:and|or)\b|\|\||<=|>=|<>|!=|==|[-+*/%=<>^&|~]/gi;

/**
 * Binary operators outside quotes: each chains one level deeper, and a chain of about 800
 * exhausts the parser's WASM stack, after which the module is broken. Counted before parsing.
 */
function operatorCount(text: string): number {
  return text.replace(quoted, "''").match(operators)?.length ?? 0;
}

/** The WHERE of the wrapped statement, after checking nothing else was written. */
function selectionOf(text: string): unknown {
  let statements: unknown[];
  try {
    statements = parse(`${prefix}${text}`, dialect) as unknown[];
  } catch (error) {
    throw syntaxError(error, text);
  }
  const [first, second] = statements;
  if (second !== undefined)
    throw new WhereError('a second statement after the expression: give one condition', endOf(text, first));
  const select = path(first, ['Query', 'body', 'Select']);
  const selection = path(select, ['selection']);
  if (selection === undefined || selection === null) throw new WhereError('no condition found', { line: 1, column: 1 });
  if (shapeOf(first, selection) !== templateShape())
    throw new WhereError('more than one condition: nothing may follow it (ORDER BY, LIMIT, …)', endOf(text, selection));
  return selection;
}

let template: string | null = null;

/** The statement `SELECT 1 WHERE TRUE` with its spans and its condition left out. */
function templateShape(): string {
  if (template === null) {
    const [statement] = parse(`${prefix}TRUE`, dialect) as unknown[];
    template = shapeOf(statement, path(statement, ['Query', 'body', 'Select', 'selection']));
  }
  return template;
}

function shapeOf(statement: unknown, selection: unknown): string {
  return JSON.stringify(statement, function (this: unknown, key, value: unknown) {
    if (key === 'span' || value === selection) return undefined;
    return value;
  });
}

function path(node: unknown, keys: readonly string[]): unknown {
  let at = node;
  for (const key of keys) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
  return at;
}

/** A parser error as the user's mistake, at the place in their text the parser names. */
function syntaxError(error: unknown, text: string): WhereError {
  if (!(error instanceof Error) || error.name !== 'ParserError') throw error;
  const location = (error as { location?: { line: number; column: number } }).location;
  const message = error.message.replace(/^sql parser error: /, '').replace(/ at Line: \d+, Column: \d+$/, '');
  const position = location === undefined ? textEnd(text) : fromStatement(location);
  return new WhereError(`syntax error: ${message}`, position);
}

/** A position in the wrapped statement as one in the user's text: the text starts at line 2. */
function fromStatement(location: { line: number; column: number }): WherePosition {
  return location.line <= 1 ? { line: 1, column: 1 } : { line: location.line - 1, column: location.column };
}

function textEnd(text: string): WherePosition {
  const lines = text.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1 };
}

/** The first span under a node, depth first: where a mistake in it is shown. */
function spanOf(node: unknown, depth = 0): { start: WherePosition; end: WherePosition } | null {
  if (typeof node !== 'object' || node === null || depth > whereDepthMax) return null;
  const span = (node as { span?: { start?: WherePosition; end?: WherePosition } }).span;
  if (span?.start !== undefined && span.end !== undefined) return { start: span.start, end: span.end };
  for (const value of Object.values(node)) {
    const found = spanOf(value, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/** The last span end under a node: just after what the parser took as the condition. */
function endOf(text: string, node: unknown): WherePosition {
  let last: WherePosition | null = null;
  const walk = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > whereDepthMax) return;
    const end = (value as { span?: { end?: WherePosition } }).span?.end;
    if (
      end !== undefined &&
      (last === null || end.line > last.line || (end.line === last.line && end.column > last.column))
    )
      last = end;
    for (const child of Object.values(value)) walk(child, depth + 1);
  };
  walk(node, 0);
  return last === null ? textEnd(text) : fromStatement(last);
}

/** The node's one variant: `{ BinaryOp: {…} }` is ['BinaryOp', {…}]; a bare string (`"Null"`) is itself. */
function variant(node: unknown): [string, unknown] {
  if (typeof node === 'string') return [node, null];
  if (typeof node === 'object' && node !== null) {
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const key = keys[0] as string;
      return [key, (node as Record<string, unknown>)[key]];
    }
  }
  return ['', node];
}

function field(node: unknown, key: string): unknown {
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
}

/** A value's type as DuckDB's binder sees it: an unquoted string literal takes the type it is compared with. */
type ValueType = 'VARCHAR' | 'NUMBER' | 'TIMESTAMP' | 'STRING_LITERAL' | 'NULL';

interface Typed {
  readonly plan: ValuePlan;
  readonly type: ValueType;
  /** An integer column's range, for a string literal cast to its type. */
  readonly range?: readonly [number, number];
  /** What the user wrote, for messages. */
  readonly said: string;
  readonly node: unknown;
}

const comparisons: Readonly<Record<string, ComparisonOperator>> = {
  Eq: '=',
  NotEq: '<>',
  Lt: '<',
  LtEq: '<=',
  Gt: '>',
  GtEq: '>=',
};

/** SQL for the parser's names of conditions --where does not take, for the message. */
const constructNames: Readonly<Record<string, string>> = {
  ILike: 'ILIKE',
  SimilarTo: 'SIMILAR TO',
  RLike: 'RLIKE',
  IsDistinctFrom: 'IS DISTINCT FROM',
  IsNotDistinctFrom: 'IS NOT DISTINCT FROM',
  IsTrue: 'IS TRUE',
  IsFalse: 'IS FALSE',
  IsNotTrue: 'IS NOT TRUE',
  IsNotFalse: 'IS NOT FALSE',
  InSubquery: 'IN (SELECT …)',
  Exists: 'EXISTS',
  Subquery: 'a subquery',
  Case: 'CASE',
  Cast: 'CAST',
  Function: 'a function',
};

const supported =
  'comparisons, IN, LIKE, BETWEEN, IS [NOT] NULL, AND, OR, NOT, lower(), upper(), string and number literals, TIMESTAMP literals';

class Checker {
  /** The wrapped statement's lines as code points, split once: `said` slices them for every value. */
  private readonly lines: readonly (readonly string[])[];

  constructor(private readonly text: string) {
    this.lines = `${prefix}${text}`.split('\n').map((line) => [...line]);
  }

  private fail(problem: string, node: unknown): never {
    const span = spanOf(node);
    throw new WhereError(problem, span === null ? textEnd(this.text) : fromStatement(span.start));
  }

  private deeper(depth: number, node: unknown): number {
    if (depth >= whereDepthMax) this.fail(`the expression nests deeper than ${whereDepthMax} levels`, node);
    return depth + 1;
  }

  condition(node: unknown, depth: number): ConditionPlan {
    const next = this.deeper(depth, node);
    const [kind, body] = variant(node);
    switch (kind) {
      case 'Nested':
        return this.condition(body, next);
      case 'BinaryOp':
        return this.binary(body, next);
      case 'UnaryOp':
        if (field(body, 'op') === 'Not') return { k: 'not', arg: this.condition(field(body, 'expr'), next) };
        return this.fail('a number is not a condition: compare it with a column', node);
      case 'IsNull':
      case 'IsNotNull': {
        const test = this.isNull(body, next);
        return kind === 'IsNull' ? test : { k: 'not', arg: test };
      }
      case 'InList':
        return this.inList(body, next);
      case 'Like':
        return this.like(body, next);
      case 'Between':
        return this.between(body, next);
      case 'Value': {
        const [valueKind, value] = variant(field(body, 'value'));
        if (valueKind === 'Boolean') return { k: 'constant', value: value === true };
        if (valueKind === 'Null') return { k: 'constant', value: null };
        return this.fail('a literal is not a condition: compare a column with it', node);
      }
      case 'Identifier':
      case 'CompoundIdentifier':
        this.value(node, next);
        return this.fail(
          `${this.said(node)} is a column, not a condition: compare it, as in url_host_tld = 'org'`,
          node,
        );
      default:
        return this.fail(`${constructNames[kind] ?? kind} is not supported in --where (supported: ${supported})`, node);
    }
  }

  private binary(body: unknown, depth: number): ConditionPlan {
    const op = field(body, 'op');
    const left = field(body, 'left');
    const right = field(body, 'right');
    if (op === 'And' || op === 'Or')
      return { k: op === 'And' ? 'and' : 'or', left: this.condition(left, depth), right: this.condition(right, depth) };
    const operator = typeof op === 'string' ? comparisons[op] : undefined;
    if (operator === undefined)
      return this.fail(`the operator ${String(op)} is not supported (supported: ${supported})`, body);
    return this.compare(operator, this.value(left, depth), this.value(right, depth));
  }

  private compare(op: ComparisonOperator, left: Typed, right: Typed): ConditionPlan {
    const [kind, leftPlan, rightPlan] = this.unify(left, right);
    if (kind === null) return { k: 'constant', value: null };
    return { k: 'compare', op, kind, left: leftPlan, right: rightPlan };
  }

  /**
   * The kind two values are compared as, each cast as DuckDB casts it; null when either is the
   * NULL literal (the comparison is then unknown for every row).
   */
  private unify(left: Typed, right: Typed): [CompareKind | null, ValuePlan, ValuePlan] {
    if (left.type === 'NULL' || right.type === 'NULL') return [null, left.plan, right.plan];
    const text = (value: Typed) => value.type === 'VARCHAR' || value.type === 'STRING_LITERAL';
    if (text(left) && text(right)) return ['text', left.plan, right.plan];
    if (left.type === 'STRING_LITERAL') return this.castLiteral(left, right, true);
    if (right.type === 'STRING_LITERAL') return this.castLiteral(right, left, false);
    if (left.type === right.type && left.type !== 'VARCHAR')
      return [left.type === 'NUMBER' ? 'number' : 'timestamp', left.plan, right.plan];
    return this.fail(
      `cannot compare ${left.said} (${this.typeName(left)}) with ${right.said} (${this.typeName(right)}): DuckDB would refuse it`,
      left.node,
    );
  }

  /** A string literal compared with a number or a timestamp, cast to its type. */
  private castLiteral(literal: Typed, other: Typed, literalFirst: boolean): [CompareKind, ValuePlan, ValuePlan] {
    const text = literal.plan.k === 'text' ? literal.plan.value : '';
    let cast: ValuePlan;
    let kind: CompareKind;
    if (other.type === 'TIMESTAMP') {
      const value = timestampMilliseconds(text);
      if (typeof value === 'string') return this.fail(value, literal.node);
      cast = { k: 'number', value };
      kind = 'timestamp';
    } else if (other.type === 'NUMBER' && other.range !== undefined) {
      const value = castToInteger(text, other.range);
      if (typeof value === 'string') return this.fail(`${value}, the range of ${other.said}`, literal.node);
      cast = { k: 'number', value };
      kind = 'number';
    } else {
      return this.fail(`compare ${literal.said} with a column, not with ${other.said}`, literal.node);
    }
    return literalFirst ? [kind, cast, other.plan] : [kind, other.plan, cast];
  }

  private typeName(value: Typed): string {
    return value.type === 'NUMBER' ? 'a number' : value.type === 'TIMESTAMP' ? 'a timestamp' : 'a string';
  }

  private isNull(arg: unknown, depth: number): ConditionPlan {
    if (this.isValueNode(arg)) {
      const value = this.value(arg, depth);
      if (value.type === 'NULL') return { k: 'constant', value: true };
      return { k: 'valueIsNull', arg: value.plan };
    }
    return { k: 'conditionIsNull', arg: this.condition(arg, depth) };
  }

  /** Whether an IS [NOT] NULL tests a value (a column, a literal, a function) rather than a condition. */
  private isValueNode(node: unknown): boolean {
    const [kind, body] = variant(node);
    if (kind === 'Nested') return this.isValueNode(body);
    if (kind === 'Value') return variant(field(body, 'value'))[0] !== 'Boolean';
    if (kind === 'UnaryOp') return field(body, 'op') !== 'Not';
    return ['Identifier', 'CompoundIdentifier', 'Function', 'TypedString'].includes(kind);
  }

  private inList(body: unknown, depth: number): ConditionPlan {
    const arg = this.value(field(body, 'expr'), depth);
    const list = field(body, 'list');
    if (!Array.isArray(list)) return this.fail('IN needs a list of values', body);
    const values: (string | number)[] = [];
    let listHasNull = false;
    let kind: CompareKind | null = null;
    for (const item of list) {
      const typed = this.value(item, depth);
      if (
        !(typed.plan.k === 'text' || typed.plan.k === 'number' || typed.plan.k === 'null') ||
        typed.type === 'VARCHAR'
      )
        return this.fail(`IN takes literal values: ${typed.said} is not one`, item);
      const [itemKind, , cast] = this.unify(arg, typed);
      if (itemKind === null) {
        listHasNull = true;
        continue;
      }
      kind = itemKind;
      if (cast.k === 'text' || cast.k === 'number') values.push(cast.value);
    }
    if (arg.type === 'NULL') return { k: 'constant', value: null };
    const condition: ConditionPlan =
      kind === null ? { k: 'constant', value: null } : { k: 'in', kind, arg: arg.plan, values, listHasNull };
    return field(body, 'negated') === true ? { k: 'not', arg: condition } : condition;
  }

  private like(body: unknown, depth: number): ConditionPlan {
    if (field(body, 'any') === true) return this.fail('LIKE ANY is not supported: join LIKEs with OR', body);
    const arg = this.value(field(body, 'expr'), depth);
    const pattern = this.value(field(body, 'pattern'), depth);
    if (arg.type !== 'VARCHAR' && arg.type !== 'STRING_LITERAL' && arg.type !== 'NULL')
      return this.fail(`LIKE applies to text columns, and ${arg.said} is ${this.typeName(arg)}`, arg.node);
    if (pattern.type === 'NULL' || arg.type === 'NULL') return { k: 'constant', value: null };
    if (pattern.plan.k !== 'text')
      return this.fail(`the pattern of LIKE must be a string literal, as in url LIKE '%.pdf'`, pattern.node);
    const escape = this.escapeOf(field(body, 'escape_char'));
    const tokens = likeTokens(pattern.plan.value, escape);
    if (typeof tokens === 'string') return this.fail(tokens, pattern.node);
    const condition: ConditionPlan = { k: 'like', arg: arg.plan, pattern: pattern.plan.value, escape };
    return field(body, 'negated') === true ? { k: 'not', arg: condition } : condition;
  }

  private escapeOf(node: unknown): string | null {
    if (node === null || node === undefined) return null;
    const [kind, value] = variant(field(node, 'value'));
    if (kind !== 'SingleQuotedString' || typeof value !== 'string')
      return this.fail('ESCAPE takes a string literal of one character', node);
    if ([...value].length > 1) return this.fail('ESCAPE takes one character or none', node);
    return value === '' ? null : value;
  }

  private between(body: unknown, depth: number): ConditionPlan {
    const arg = this.value(field(body, 'expr'), depth);
    const low = this.value(field(body, 'low'), depth);
    const high = this.value(field(body, 'high'), depth);
    const condition: ConditionPlan = {
      k: 'and',
      left: this.compare('>=', arg, low),
      right: this.compare('<=', arg, high),
    };
    return field(body, 'negated') === true ? { k: 'not', arg: condition } : condition;
  }

  private value(node: unknown, depth: number): Typed {
    const next = this.deeper(depth, node);
    const [kind, body] = variant(node);
    const said = this.said(node);
    switch (kind) {
      case 'Nested':
        return this.value(body, next);
      case 'Identifier':
        return this.column(field(body, 'value'), node);
      case 'CompoundIdentifier':
        return this.fail(`${said}: name the column alone, without a table`, node);
      case 'Value':
        return this.literal(field(body, 'value'), node, said);
      case 'TypedString':
        return this.typedString(body, node, said);
      case 'UnaryOp':
        return this.signed(body, node, next, said);
      case 'Function':
        return this.caseFunction(body, node, next, said);
      default:
        return this.fail(`${said} is not a value --where supports (supported: ${supported})`, node);
    }
  }

  private column(name: unknown, node: unknown): Typed {
    const folded = String(name).toLowerCase();
    if (payloadColumns.has(folded))
      return this.fail(
        `${folded} is a payload column, which --where cannot see: it runs before the payload is read, on the index columns`,
        node,
      );
    const type = indexColumnTypes.get(folded as IndexColumn);
    if (type === undefined)
      return this.fail(
        `unknown column "${String(name)}" (the index columns: ${[...indexColumnTypes.keys()].join(', ')})`,
        node,
      );
    const column = folded as IndexColumn;
    return this.columnTyped(column, type, node);
  }

  private columnTyped(column: IndexColumn, type: IndexColumnType, node: unknown): Typed {
    if (type === 'VARCHAR') return { plan: { k: 'column', column, kind: 'text' }, type: 'VARCHAR', said: column, node };
    if (type === 'TIMESTAMP')
      return { plan: { k: 'column', column, kind: 'timestamp' }, type: 'TIMESTAMP', said: column, node };
    return {
      plan: { k: 'column', column, kind: 'number' },
      type: 'NUMBER',
      range: integerRanges[type],
      said: column,
      node,
    };
  }

  private literal(value: unknown, node: unknown, said: string): Typed {
    const [kind, body] = variant(value);
    if (kind === 'Null') return { plan: { k: 'null' }, type: 'NULL', said: 'NULL', node };
    if (kind === 'SingleQuotedString' && typeof body === 'string')
      return { plan: { k: 'text', value: body }, type: 'STRING_LITERAL', said: `'${body}'`, node };
    if (kind === 'Number' && Array.isArray(body) && typeof body[0] === 'string') {
      const number = Number(body[0]);
      if (!Number.isFinite(number)) return this.fail(`the number ${body[0]} is out of range`, node);
      return { plan: { k: 'number', value: number }, type: 'NUMBER', said: body[0], node };
    }
    if (kind === 'DoubleQuotedString')
      return this.fail(`"${String(body)}" in double quotes names a column; write a string in single quotes`, node);
    return this.fail(`${said} is not a literal --where supports: write 'text', 42, 4.2 or TIMESTAMP '…'`, node);
  }

  private typedString(body: unknown, node: unknown, said: string): Typed {
    const [typeName, typeBody] = variant(field(body, 'data_type'));
    const [, text] = variant(field(field(body, 'value'), 'value'));
    const timezone = Array.isArray(typeBody) ? typeBody[1] : undefined;
    if (typeName !== 'Timestamp' || timezone !== 'None' || typeof text !== 'string')
      return this.fail(`${said}: of typed literals, --where takes TIMESTAMP '…' only`, node);
    const value = timestampMilliseconds(text);
    if (typeof value === 'string') return this.fail(value, node);
    return { plan: { k: 'number', value }, type: 'TIMESTAMP', said, node };
  }

  private signed(body: unknown, node: unknown, depth: number, said: string): Typed {
    const op = field(body, 'op');
    const operand = this.value(field(body, 'expr'), depth);
    if ((op === 'Minus' || op === 'Plus') && operand.plan.k === 'number' && operand.type === 'NUMBER')
      return {
        ...operand,
        plan: { k: 'number', value: op === 'Minus' ? -operand.plan.value : operand.plan.value },
        said,
      };
    if (op === 'Not') return this.fail(`NOT applies to a condition, not to ${operand.said}`, node);
    return this.fail(`${said}: a sign applies to a number literal only`, node);
  }

  private caseFunction(body: unknown, node: unknown, depth: number, said: string): Typed {
    const nameParts = field(body, 'name');
    const name = Array.isArray(nameParts) && nameParts.length === 1 ? field(variant(nameParts[0])[1], 'value') : null;
    const to = typeof name === 'string' ? name.toLowerCase() : '';
    if (to !== 'lower' && to !== 'upper')
      return this.fail(`${said}: of functions, --where takes lower() and upper()`, node);
    const args = field(field(body, 'args'), 'List');
    const list = field(args, 'args');
    const extras = ['filter', 'over'].some((key) => {
      const value = field(body, key);
      return value !== null && value !== undefined;
    });
    if (!Array.isArray(list) || list.length !== 1 || extras || field(args, 'duplicate_treatment'))
      return this.fail(`${to}() takes one text value`, node);
    const [argKind, argBody] = variant(list[0]);
    const [exprKind, expr] = variant(argBody);
    if (argKind !== 'Unnamed' || exprKind !== 'Expr') return this.fail(`${to}() takes one text value`, node);
    const arg = this.value(expr, depth);
    if (arg.type === 'NULL') return { ...arg, said };
    if (arg.type !== 'VARCHAR' && arg.type !== 'STRING_LITERAL')
      return this.fail(`${to}() takes text, and ${arg.said} is ${this.typeName(arg)}`, node);
    return { plan: { k: 'case', to, arg: arg.plan }, type: 'VARCHAR', said, node };
  }

  /** What the user wrote for a node, from its span when it is one line; else its kind. */
  private said(node: unknown): string {
    const span = spanOf(node);
    const [kind] = variant(node);
    if (span === null || span.start.line !== span.end.line) return kind === '' ? 'this' : kind;
    const line = this.lines[span.start.line - 1] ?? [];
    const start = line.slice(span.start.column - 1, span.end.column - 1).join('');
    return start === '' ? kind : start;
  }
}
