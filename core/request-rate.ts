/**
 * A worker's own ceiling on the requests a second it sends one remote: a token bucket on the
 * `nowMs` the driver gives, so it lives in the core's rules beside the adaptive concurrency
 * limit (remote-limit.ts) and the simulator sees it as the node runtime does. A remote that
 * asks clients to be polite (CommonCrawl's HTTPS front end) gets it; S3 has none.
 *
 * The bucket holds `burst` tokens, refills at `perSecond`, and a request starts only with a
 * whole token; without one the core waits until `nextTokenAtMs`.
 */
export interface RequestRate {
  /** Requests a second; null when this remote has no such ceiling. */
  readonly perSecond: number | null;
  /** Requests a quiet worker may send at once. */
  readonly burst: number;
  tokens: number;
  /** When the tokens were last counted; null before the first refill. */
  lastMs: number | null;
  /** Requests that started. */
  sent: number;
}

export function requestRate(perSecond: number | null, burstSeconds: number): RequestRate {
  const burst = perSecond === null ? 0 : Math.max(1, perSecond * burstSeconds);
  return { perSecond, burst, tokens: burst, lastMs: null, sent: 0 };
}

/** Counts the tokens earned since the last refill; time never runs backwards in the core. */
export function refillTokens(rate: RequestRate, nowMs: number): void {
  if (rate.perSecond === null) return;
  if (rate.lastMs !== null) {
    const earned = ((nowMs - rate.lastMs) / 1000) * rate.perSecond;
    rate.tokens = Math.min(rate.burst, rate.tokens + earned);
  }
  rate.lastMs = nowMs;
}

/** Whether a request may start now (as of the last refill). */
export function rateAllows(rate: RequestRate): boolean {
  return rate.perSecond === null || rate.tokens >= 1;
}

/** A request started: it spends a token. */
export function takeToken(rate: RequestRate): void {
  rate.sent += 1;
  if (rate.perSecond !== null) rate.tokens -= 1;
}

/** When the next whole token is there; Infinity when one is there already or there is no ceiling. */
export function nextTokenAtMs(rate: RequestRate): number {
  if (rate.perSecond === null || rate.tokens >= 1 || rate.lastMs === null) return Infinity;
  // A whole millisecond, later than the last refill even when the wait rounds away: a wake-up
  // that found no token wakes once more a millisecond on, never spins.
  const exactMs = rate.lastMs + ((1 - rate.tokens) / rate.perSecond) * 1000;
  return Math.max(Math.ceil(exactMs), Math.floor(rate.lastMs) + 1);
}
