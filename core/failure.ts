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

/** Asserts what must never happen: a broken invariant is a bug and crashes loudly. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${message}`);
}
