/**
 * Adaptive concurrency of one remote (the source or the sink), as in TCP congestion control,
 * Netflix concurrency-limits and Vector's adaptive request concurrency: a throttling answer
 * (503 SlowDown, 429) cuts the limit multiplicatively; each success raises it by 1/limit, so
 * a full window of successes raises it by one.
 *
 * One burst of throttling must cut the limit once, not once per failed request: requests that
 * were sent before the last cut saw the old, higher limit, so their throttles are ignored.
 * Dispatch sequence numbers tell which requests those are, with no clock.
 */
export interface AimdLimit {
  /** Current limit; fractional so additive increase can grow by less than one. */
  limit: number;
  readonly floor: number;
  readonly ceiling: number;
  /** Dispatch sequence number at the last decrease. */
  decreasedAtDispatch: number;
  decreases: number;
}

export function aimdLimit(floor: number, ceiling: number): AimdLimit {
  return { limit: ceiling, floor, ceiling, decreasedAtDispatch: -1, decreases: 0 };
}

/** Requests that may be in flight now. */
export function allowed(aimd: AimdLimit): number {
  return Math.floor(aimd.limit);
}

export function onSuccess(aimd: AimdLimit): void {
  aimd.limit = Math.min(aimd.ceiling, aimd.limit + 1 / aimd.limit);
}

/**
 * A throttling answer to a request dispatched as number `dispatchSeq`; `nextDispatchSeq` is
 * the number the next request will get.
 */
export function onThrottle(
  aimd: AimdLimit,
  decreaseFactor: number,
  dispatchSeq: number,
  nextDispatchSeq: number,
): void {
  if (dispatchSeq <= aimd.decreasedAtDispatch) return;
  aimd.limit = Math.max(aimd.floor, Math.floor(aimd.limit * decreaseFactor));
  aimd.decreasedAtDispatch = nextDispatchSeq - 1;
  aimd.decreases += 1;
}
