/**
 * Proves the AIMD rule of each remote: one burst of throttling cuts the limit once (not once
 * per failed request), repeated bursts drive it down to the floor, and successes bring it back
 * to the ceiling, additively.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aimdLimit, allowed, onSuccess, onThrottle } from '../../core/aimd-limit.ts';

describe('AIMD concurrency limit', () => {
  it('cuts once for a burst of throttles from requests sent before the cut', () => {
    const aimd = aimdLimit(1, 32);
    // 32 requests in flight (dispatch numbers 0..31) all come back 503.
    for (let dispatch = 0; dispatch < 32; dispatch++) onThrottle(aimd, 0.5, dispatch, 32);
    expect(allowed(aimd)).toBe(16);
    expect(aimd.decreases).toBe(1);
  });

  it('falls to the floor under repeated bursts and recovers to the ceiling on successes', () => {
    const aimd = aimdLimit(2, 40);
    let nextDispatch = 0;
    for (let burst = 0; burst < 10; burst++) {
      const sent = nextDispatch;
      nextDispatch += allowed(aimd);
      onThrottle(aimd, 0.5, sent, nextDispatch);
    }
    expect(allowed(aimd)).toBe(2);
    let successes = 0;
    while (allowed(aimd) < 40 && successes < 10_000) {
      onSuccess(aimd);
      successes += 1;
    }
    expect(allowed(aimd)).toBe(40);
    // Additive: about limit successes per +1, so 2→40 takes about the sum 2+3+…+39 of them.
    expect(successes).toBeGreaterThan(700);
    expect(successes).toBeLessThan(800);
  });

  it('stays within [floor, ceiling] for any sequence of successes and throttles', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 8, max: 64 }),
        fc.array(fc.boolean(), { maxLength: 500 }),
        (floor, ceiling, events) => {
          const aimd = aimdLimit(floor, ceiling);
          events.forEach((throttled, dispatch) => {
            if (throttled) onThrottle(aimd, 0.5, dispatch, dispatch + 1);
            else onSuccess(aimd);
            expect(allowed(aimd)).toBeGreaterThanOrEqual(floor);
            expect(allowed(aimd)).toBeLessThanOrEqual(ceiling);
          });
        },
      ),
    );
  });
});
