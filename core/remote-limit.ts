import type { WorkerLimits } from './limits.ts';

/**
 * Adaptive concurrency of one remote (the source or the sink). A remote answers a few
 * throttles (503 SlowDown, 429) at any load, so one throttle says little; many in a short
 * span say the remote is full. What tells the two apart is what noise cannot do: its share of
 * the answers does not depend on the rate, a ceiling's does. So the `windowed` rule learns the
 * remote's noise floor from windows sent well below the level of its last cut, where a
 * ceiling that refused there refuses nothing, and cuts a window of `remoteWindowAnswers`
 * answers only when its throttles are too many for that floor (`cutShare`): at least
 * `remoteThrottlesToCutMin`, and a share of the answers so far above the floor by
 * `remoteNoiseDeviations` standard deviations (never under `remoteCutShareMin`, never over
 * `remoteCutShareMax`). With no noise a ceiling is cut at a few refusals in a window; with 1–5%
 * of random 503s the threshold rises with them. A cut multiplies what the worker had in flight
 * by `remoteDecreaseFactor`, at most once a window. Then the limit climbs back along a cubic,
 * as TCP CUBIC does: fast at first, slowly near `remoteRecoveryTargetFraction` of the level of
 * the cut (just below where the remote refused), then faster beyond it; never slower than
 * `remoteProbeSlotsPerRound` slots a round. Its clock is successes, not time: a round is as
 * many successes as that level. A cut after which the windows below its level heard no
 * throttle met a ceiling (noise would have been heard there too): then the limit does not
 * speed up past the target but creeps on at the probe's pace, as TCP CUBIC plateaus near the
 * window of its last loss.
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
  /** Whether every request of this window went out at a limit well below the last cut's level. */
  windowBelowCut: boolean;
  /** Answers and throttles of such windows: the remote's noise, where a ceiling refuses nothing. */
  noiseAnswers: number;
  noiseThrottles: number;
  /** Answers and throttles heard below the level of the last cut since it: many, none of them throttled, say the cut met a ceiling. */
  answersBelowCut: number;
  throttlesBelowCut: number;
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
    windowBelowCut: false,
    noiseAnswers: 0,
    noiseThrottles: 0,
    answersBelowCut: 0,
    throttlesBelowCut: 0,
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
    // Never slower than a fraction of a slot a round: at a small limit the cubic's flat
    // approach would take more requests than a remote sent little gets. Slowest after a
    // ceiling, where the whole fleet creeping up together is what refuses.
    const pace = metCeiling(remote, limits) ? limits.remoteProbeSlotsPerRound : limits.remoteRecoverySlotsPerRound;
    const probe = Math.min(remote.ceiling, remote.limit + pace / remote.limit);
    remote.limit = Math.max(probe, cubicLimit(remote, limits));
    if (remote.windowBelowCut && remote.limit > limits.remoteNoiseLevelFraction * remote.limitBeforeCut)
      learnNoise(remote, limits);
  }
  if (dispatchSeq < remote.windowFirstDispatch) return;
  remote.windowAnswers += 1;
  if (throttled) remote.windowThrottles += 1;
  // Judged on the answers so far, so a remote that answers little is heard too, once it has
  // refused a few times; but as if there were `remoteCutAnswersMin` at least, since a test
  // repeated at each of a window's first few answers would often take two 503s for many.
  const judged = Math.max(remote.windowAnswers, limits.remoteCutAnswersMin);
  if (
    remote.windowThrottles >= limits.remoteThrottlesToCutMin &&
    remote.windowThrottles > cutShare(remote, limits, judged) * judged
  ) {
    // A worker busy elsewhere (its CPU, its memory) may use far less than its limit: cut
    // what it used, or a cut would change nothing it sends.
    cut(remote, Math.min(remote.limit, answer.inFlight), limits, answer.nextDispatchSeq);
  } else if (remote.windowAnswers >= limits.remoteWindowAnswers) {
    closeWindow(remote, limits);
  }
}

/**
 * The remote's noise floor: the share of throttles among answers to windows sent well below
 * the last cut, after `remoteNoisePriorAnswers` answers at `remoteNoisePriorShare` (what a
 * healthy remote is assumed to answer before any such window is heard).
 */
export function noiseShare(remote: RemoteLimit, limits: WorkerLimits): number {
  const priorAnswers = limits.remoteNoisePriorAnswers;
  return (remote.noiseThrottles + limits.remoteNoisePriorShare * priorAnswers) / (remote.noiseAnswers + priorAnswers);
}

/** The share of `answers` answers above which throttles are more than the remote's noise. */
export function cutShare(remote: RemoteLimit, limits: WorkerLimits, answers: number): number {
  const noise = noiseShare(remote, limits);
  const deviation = Math.sqrt((noise * (1 - noise)) / Math.max(1, answers));
  const share = noise + limits.remoteNoiseDeviations * deviation;
  return Math.min(limits.remoteCutShareMax, Math.max(limits.remoteCutShareMin, share));
}

/**
 * A full window that did not cut: a new one opens on the next answer (only a cut skips the
 * requests already in flight); one sent well below the last cut teaches the noise floor.
 */
function closeWindow(remote: RemoteLimit, limits: WorkerLimits): void {
  if (remote.windowBelowCut) learnNoise(remote, limits);
  openWindow(remote, limits);
}

/**
 * The window so far, sent well below the last cut and not cut, joins the noise floor; the
 * rest of it does not. Part of a window counts, as the limit climbs past that level within
 * about a window of a cut.
 */
function learnNoise(remote: RemoteLimit, limits: WorkerLimits): void {
  remote.windowBelowCut = false;
  remote.noiseAnswers += remote.windowAnswers;
  remote.noiseThrottles += remote.windowThrottles;
  remote.answersBelowCut += remote.windowAnswers;
  remote.throttlesBelowCut += remote.windowThrottles;
  // Bounded, and the older half forgotten: a remote's noise changes over a crawl.
  if (remote.noiseAnswers > limits.remoteNoiseAnswersMax) {
    remote.noiseAnswers /= 2;
    remote.noiseThrottles /= 2;
  }
}

function openWindow(remote: RemoteLimit, limits: WorkerLimits): void {
  remote.windowAnswers = 0;
  remote.windowThrottles = 0;
  remote.windowBelowCut = remote.cuts > 0 && remote.limit <= limits.remoteNoiseLevelFraction * remote.limitBeforeCut;
}

function cut(remote: RemoteLimit, from: number, limits: WorkerLimits, nextDispatchSeq: number): void {
  remote.limitBeforeCut = from;
  remote.limit = Math.max(remote.floor, Math.floor(from * limits.remoteDecreaseFactor));
  remote.limitAfterCut = remote.limit;
  remote.successesSinceCut = 0;
  remote.answersBelowCut = 0;
  remote.throttlesBelowCut = 0;
  remote.cuts += 1;
  remote.windowFirstDispatch = nextDispatchSeq;
  openWindow(remote, limits);
}

/**
 * The limit `successesSinceCut` after a cut: a cubic through the limit after the cut (round
 * 0) and, flat, the target (round `remoteRecoveryRounds`), a fraction of the level of the cut.
 * Past the target it grows on as fast as it came, unless the cut met a ceiling: nothing was
 * refused below the level of the cut, which noise would have been. Then it stays at the
 * target and only the probe (`remoteProbeSlotsPerRound`) climbs on, as a ceiling is where it
 * was. The step is at least one, so a limit cut to the floor still climbs.
 */
function cubicLimit(remote: RemoteLimit, limits: WorkerLimits): number {
  const rounds = remote.successesSinceCut / Math.max(1, remote.limitBeforeCut);
  const target = limits.remoteRecoveryTargetFraction * remote.limitBeforeCut;
  const step = Math.max(1, target - remote.limitAfterCut);
  const beyond = rounds > limits.remoteRecoveryRounds;
  if (beyond && metCeiling(remote, limits)) return Math.min(remote.ceiling, Math.max(remote.floor, target));
  const limit = target + step * (rounds / limits.remoteRecoveryRounds - 1) ** 3;
  return Math.min(remote.ceiling, Math.max(remote.floor, limit));
}

/**
 * Whether the last cut met a ceiling: its level refused, and at least `remoteCutAnswersMin`
 * answers below it (enough to hear 1% of noise in one of five) refused nothing. A limit cut at
 * the floor, or a remote sent little, hears too little below to say.
 */
export function metCeiling(remote: RemoteLimit, limits: WorkerLimits): boolean {
  return remote.cuts > 0 && remote.throttlesBelowCut === 0 && remote.answersBelowCut >= limits.remoteCutAnswersMin;
}

function onAimdAnswer(remote: RemoteLimit, limits: WorkerLimits, answer: RemoteAnswer): void {
  if (!answer.throttled) remote.limit = Math.min(remote.ceiling, remote.limit + 1 / remote.limit);
  else if (answer.dispatchSeq >= remote.windowFirstDispatch) cut(remote, remote.limit, limits, answer.nextDispatchSeq);
}
