import type { WorkerLimits } from './limits.ts';

/**
 * Adaptive concurrency of one remote (the source or the sink). A remote answers a few
 * throttles (503 SlowDown, 429) at any load, so one throttle says little; many in a short
 * span say the remote is full. The `windowed` rule counts the throttles among a window of
 * `remoteWindowAnswers` answers and cuts only when they are at least `remoteThrottlesToCutMin`
 * and more than `remoteHealthyThrottleFraction` of the window's answers so far, at most once
 * a window: it multiplies what the worker had in flight by `remoteDecreaseFactor`. Then the
 * limit climbs back along a cubic, as TCP CUBIC does: fast at first, slowly near the level of
 * the cut (where the remote refused), then faster beyond it; never slower than one slot a
 * round. Its clock is successes, not time: a round is as many successes as that level.
 *
 * Requests sent before a cut saw the old, higher limit, so a cut opens a new window that
 * counts only requests dispatched after it; dispatch sequence numbers tell which, no clock.
 *
 * The `aimd` rule is the one before it, kept for comparison: every throttle of a request sent
 * after the last cut halves the limit, and each success adds 1/limit.
 */
export const throttleRules = ['windowed', 'aimd'] as const;
export type ThrottleRule = (typeof throttleRules)[number];

export interface RemoteLimit {
  /** Current limit; fractional, as it grows between whole values. */
  limit: number;
  readonly floor: number;
  readonly ceiling: number;
  /** The level of the last cut (the limit, or fewer requests in flight): recovery heads back to it. */
  limitBeforeCut: number;
  limitAfterCut: number;
  successesSinceCut: number;
  /** The window counts answers to requests dispatched from this sequence number on. */
  windowFirstDispatch: number;
  windowAnswers: number;
  windowThrottles: number;
  cuts: number;
}

export function remoteLimit(floor: number, ceiling: number): RemoteLimit {
  return {
    limit: ceiling,
    floor,
    ceiling,
    limitBeforeCut: ceiling,
    limitAfterCut: ceiling,
    successesSinceCut: 0,
    windowFirstDispatch: 0,
    windowAnswers: 0,
    windowThrottles: 0,
    cuts: 0,
  };
}

/** Requests that may be in flight now. */
export function allowed(remote: RemoteLimit): number {
  return Math.floor(remote.limit);
}

/** An answer of the remote, throttled or not, to the request dispatched as number `dispatchSeq`. */
export interface RemoteAnswer {
  readonly throttled: boolean;
  readonly dispatchSeq: number;
  /** The number the next request will get. */
  readonly nextDispatchSeq: number;
  /** Requests to this remote in flight when it came, this one included. */
  readonly inFlight: number;
}

export function onRemoteAnswer(remote: RemoteLimit, limits: WorkerLimits, answer: RemoteAnswer): void {
  const { throttled, dispatchSeq } = answer;
  if (limits.throttleRule === 'aimd') return onAimdAnswer(remote, limits, answer);
  // Before any cut the limit is the ceiling already.
  if (!throttled && remote.cuts > 0) {
    remote.successesSinceCut += 1;
    // Never slower than one slot a round, as the additive rule grew: at a small limit the
    // cubic's flat approach would take more requests than a remote sent little gets.
    const additive = Math.min(remote.ceiling, remote.limit + 1 / remote.limit);
    remote.limit = Math.max(additive, cubicLimit(remote, limits.remoteRecoveryRounds));
  }
  if (dispatchSeq < remote.windowFirstDispatch) return;
  remote.windowAnswers += 1;
  if (throttled) remote.windowThrottles += 1;
  // Judged on the answers so far, so a remote that answers little is heard too, once it has
  // refused a few times: fewer say nothing, as a healthy remote's noise comes in ones and twos.
  if (
    remote.windowThrottles >= limits.remoteThrottlesToCutMin &&
    remote.windowThrottles > limits.remoteHealthyThrottleFraction * remote.windowAnswers
  ) {
    // A worker busy elsewhere (its CPU, its memory) may use far less than its limit: cut
    // what it used, or a cut would change nothing it sends.
    cut(remote, Math.min(remote.limit, answer.inFlight), limits.remoteDecreaseFactor, answer.nextDispatchSeq);
  } else if (remote.windowAnswers >= limits.remoteWindowAnswers) {
    remote.windowAnswers = 0;
    remote.windowThrottles = 0;
  }
}

function cut(remote: RemoteLimit, from: number, decreaseFactor: number, nextDispatchSeq: number): void {
  remote.limitBeforeCut = from;
  remote.limit = Math.max(remote.floor, Math.floor(from * decreaseFactor));
  remote.limitAfterCut = remote.limit;
  remote.successesSinceCut = 0;
  remote.windowFirstDispatch = nextDispatchSeq;
  remote.windowAnswers = 0;
  remote.windowThrottles = 0;
  remote.cuts += 1;
}

/**
 * The limit `successesSinceCut` after a cut: a cubic through the limit after the cut (round
 * 0) and, flat, the limit before it (round `recoveryRounds`), growing on past it as fast as it
 * came. The step is at least one, so a limit cut to the floor still climbs.
 */
function cubicLimit(remote: RemoteLimit, recoveryRounds: number): number {
  const rounds = remote.successesSinceCut / Math.max(1, remote.limitBeforeCut);
  const step = Math.max(1, remote.limitBeforeCut - remote.limitAfterCut);
  const limit = remote.limitBeforeCut + step * (rounds / recoveryRounds - 1) ** 3;
  return Math.min(remote.ceiling, Math.max(remote.floor, limit));
}

function onAimdAnswer(remote: RemoteLimit, limits: WorkerLimits, answer: RemoteAnswer): void {
  if (!answer.throttled) remote.limit = Math.min(remote.ceiling, remote.limit + 1 / remote.limit);
  else if (answer.dispatchSeq >= remote.windowFirstDispatch)
    cut(remote, remote.limit, limits.remoteDecreaseFactor, answer.nextDispatchSeq);
}
