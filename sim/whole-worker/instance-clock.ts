import type { RuntimeClock, TimerHandle } from '../../cmd/worker/runtime-clock.ts';
import { assert } from '../../core/failure.ts';
import type { EventQueue } from '../event-queue.ts';

interface VirtualTimer {
  cancelled: boolean;
}

/**
 * One life of a simulated worker's time: the node runtime's clock and timers, and the ports'
 * sleeps, all on the simulation's event queue. `kill` is the process dying: every timer,
 * deferred turn and sleep of this life is dropped, so the runtime it drove never runs again.
 */
export class InstanceClock implements RuntimeClock {
  private alive = true;

  constructor(private readonly queue: EventQueue) {}

  get isAlive(): boolean {
    return this.alive;
  }

  kill(): void {
    this.alive = false;
  }

  nowMs(): number {
    return this.queue.nowMs;
  }

  after(delayMs: number, callback: () => void): TimerHandle {
    const timer: VirtualTimer = { cancelled: false };
    this.queue.after(delayMs, () => {
      if (this.alive && !timer.cancelled) callback();
    });
    return { id: timer };
  }

  every(intervalMs: number, callback: () => void): TimerHandle {
    assert(intervalMs > 0, `an interval lasts more than 0 ms, got ${intervalMs}`);
    const timer: VirtualTimer = { cancelled: false };
    const tick = (): void => {
      if (!this.alive || timer.cancelled) return;
      callback();
      this.queue.after(intervalMs, tick);
    };
    this.queue.after(intervalMs, tick);
    return { id: timer };
  }

  cancel(handle: TimerHandle): void {
    (handle.id as VirtualTimer).cancelled = true;
  }

  soon(callback: () => void): void {
    this.queue.after(0, () => {
      if (this.alive) callback();
    });
  }

  /** Settles `milliseconds` of virtual time from now; never, if this life ends first. */
  sleep(milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      this.queue.after(milliseconds, () => {
        if (this.alive) resolve();
      });
    });
  }

  /** A call whose caller died: it never answers. */
  never<T>(): Promise<T> {
    return new Promise<T>(() => undefined);
  }
}
