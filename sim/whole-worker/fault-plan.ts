import type { SeededRandom } from '../../core/seeded-random.ts';
import { uniform } from '../random-streams.ts';

/**
 * The faults a whole-worker simulation injects at the port boundary, on top of what the
 * scenario's models already draw (request latencies, 503s, timeouts, ledger call failures).
 * Every fault is drawn from the run's seed, so a seed replays the same run.
 */
export interface FaultPlan {
  /** Probability that a port call fails retryably (a reset connection) before it reaches the remote. */
  readonly errorRate: number;
  /** Probability that a source or sink request is answered 503 SlowDown. */
  readonly throttleRate: number;
  /** Probability that a ledger write takes effect and its answer is lost (a connection dropped after COMMIT). */
  readonly writeThenFailRate: number;
  /** Probability that a call is slowed by `latencySpikeMs` (a GC pause, a congested link). */
  readonly latencySpikeRate: number;
  readonly latencySpikeMs: number;
  /** Probability that the instance dies at a port call: before the call is made, or after it took effect. */
  readonly crashRate: number;
  /** Crashes of one instance at most, so that a run ends. */
  readonly crashesPerInstanceMax: number;
  /** From a crash until a new worker runs on the instance. */
  readonly restartMs: number;
  /** Inputs of which every read fails, the input's fault (not WARC, gone): they must fail for good and publish nothing. */
  readonly badInputs: number;
}

export const noFaults: FaultPlan = {
  errorRate: 0,
  throttleRate: 0,
  writeThenFailRate: 0,
  latencySpikeRate: 0,
  latencySpikeMs: 0,
  crashRate: 0,
  crashesPerInstanceMax: 0,
  restartMs: 1_000,
  badInputs: 0,
};

/**
 * A plan drawn from the seed, for property runs: each kind of fault from off to often, so that
 * some runs stress one kind and some all. The rates are per call; a small run makes a few
 * hundred calls, so 0.1 is a fault every few jobs.
 */
export function drawFaultPlan(random: SeededRandom): FaultPlan {
  const rate = (max: number): number => (uniform(random) < 0.25 ? 0 : uniform(random) * max);
  return {
    errorRate: rate(0.1),
    throttleRate: rate(0.1),
    writeThenFailRate: rate(0.2),
    latencySpikeRate: rate(0.05),
    latencySpikeMs: 2_000 + Math.floor(uniform(random) * 20_000),
    crashRate: rate(0.01),
    crashesPerInstanceMax: 3,
    restartMs: 1_000 + Math.floor(uniform(random) * 30_000),
    badInputs: Math.floor(uniform(random) * 2),
  };
}
