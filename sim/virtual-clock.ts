import { BinaryHeap } from '../core/binary-heap.ts';
import { assert } from '../core/failure.ts';

interface Sleeper {
  readonly atMs: number;
  readonly sequence: number;
  readonly wake: () => void;
}

/**
 * Simulated time for the simulator's ports: it moves only when someone calls `advance`, so a
 * test can wait out a five-minute lease in microseconds and every run is reproducible.
 * `sleep` lets a port model latency: the promise settles when time has been advanced past it.
 */
export class VirtualClock {
  private currentMs: number;
  private sequence = 0;
  /** Bounded by `sleepersMax`: a caller that sleeps without anyone advancing is a bug. */
  private readonly sleepers = new BinaryHeap<Sleeper>((a, b) =>
    a.atMs !== b.atMs ? a.atMs < b.atMs : a.sequence < b.sequence,
  );
  private readonly sleepersMax: number;

  constructor(options: { readonly startMs?: number; readonly sleepersMax?: number } = {}) {
    this.currentMs = options.startMs ?? 0;
    this.sleepersMax = options.sleepersMax ?? 100_000;
  }

  nowMs(): number {
    return this.currentMs;
  }

  /** Moves time forward and wakes, in time order, every sleeper that is due. */
  advance(milliseconds: number): void {
    assert(
      Number.isFinite(milliseconds) && milliseconds >= 0,
      `virtual time moves forward only, got ${milliseconds} ms`,
    );
    this.currentMs += milliseconds;
    for (let top = this.sleepers.peek(); top !== undefined && top.atMs <= this.currentMs; top = this.sleepers.peek()) {
      this.sleepers.pop();
      top.wake();
    }
  }

  /** Settles once virtual time reaches now + `milliseconds`; at once for zero. */
  sleep(milliseconds: number): Promise<void> {
    assert(
      Number.isFinite(milliseconds) && milliseconds >= 0,
      `a sleep lasts zero or more milliseconds, got ${milliseconds}`,
    );
    if (milliseconds === 0) return Promise.resolve();
    assert(
      this.sleepers.size < this.sleepersMax,
      `more than ${this.sleepersMax} sleepers on the virtual clock: nobody advances it`,
    );
    return new Promise((resolve) => {
      this.sleepers.push({ atMs: this.currentMs + milliseconds, sequence: this.sequence++, wake: resolve });
    });
  }

  /** How many sleepers wait for time to move. */
  get sleeping(): number {
    return this.sleepers.size;
  }
}
