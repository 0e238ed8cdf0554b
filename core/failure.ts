/**
 * Whose fault a failure is. The input's (a broken or missing file: retrying cannot help),
 * the remote's (a 503, a timeout, a reset connection: retrying may help), or ours (a bug or
 * a local resource limit).
 */
export type Fault = 'input' | 'remote' | 'ours';

/** What the core needs to know about a failed task to decide what comes next. */
export interface Failure {
  readonly reason: string;
  readonly fault: Fault;
  /** Trying the same task again may succeed. */
  readonly retryable: boolean;
  /** The remote asked us to slow down (HTTP 503 SlowDown, 429); implies retryable. */
  readonly throttled: boolean;
}

export function inputFault(reason: string): Failure {
  return { reason, fault: 'input', retryable: false, throttled: false };
}

export function remoteFault(reason: string, options: { throttled?: boolean; retryable?: boolean } = {}): Failure {
  const throttled = options.throttled ?? false;
  return { reason, fault: 'remote', retryable: throttled || (options.retryable ?? true), throttled };
}

export function ourFault(reason: string, retryable = false): Failure {
  return { reason, fault: 'ours', retryable, throttled: false };
}

/** An error an adapter throws to carry a classified failure to the driver. */
export class FailureError extends Error {
  readonly failure: Failure;
  constructor(failure: Failure, options?: { cause?: unknown }) {
    super(failure.reason, options);
    this.name = 'FailureError';
    this.failure = failure;
  }
}

/** The numbers an invariant was checked against, named as the state names them. */
export type InvariantValues = Readonly<Record<string, number | string | boolean>>;

/**
 * A rule of the core's state that does not hold: a bug, ours. It names the rule and carries
 * the numbers that broke it, so the crash says what went wrong without a debugger.
 */
export class InvariantError extends Error {
  readonly invariant: string;
  readonly values: InvariantValues;
  constructor(invariant: string, detail: string, values: InvariantValues) {
    const numbers = Object.entries(values)
      .map(([name, value]) => `${name}=${String(value)}`)
      .join(', ');
    super(`invariant broken: ${invariant}: ${detail} (${numbers})`);
    this.name = 'InvariantError';
    this.invariant = invariant;
    this.values = values;
  }
}

/** Asserts what must never happen: a broken invariant is a bug and crashes loudly. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${message}`);
}
