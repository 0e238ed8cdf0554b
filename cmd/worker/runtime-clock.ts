/**
 * Where the node runtime gets its time: the clock it hands the core and the timers it arms.
 * Production uses the process's monotonic clock and node's timers (`realClock`); the
 * whole-worker simulation (sim/whole-worker/) gives it virtual time on its event queue, so
 * the same runtime code runs there, reproducibly, an hour of leases in milliseconds.
 */
import { performance } from 'node:perf_hooks';

/** A timer armed on a `RuntimeClock`; only that clock's `cancel` knows what it is. */
export interface TimerHandle {
  readonly id: unknown;
}

export interface RuntimeClock {
  /** Milliseconds on a monotonic clock; only differences mean anything. */
  nowMs(): number;
  /** Runs `callback` once, `delayMs` from now. */
  after(delayMs: number, callback: () => void): TimerHandle;
  /** Runs `callback` every `intervalMs` until cancelled; it never keeps the process alive. */
  every(intervalMs: number, callback: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
  /** Runs `callback` once the answers arriving now have arrived: after pending I/O callbacks. */
  soon(callback: () => void): void;
}

/** The process's clock and node's timers. */
export const realClock: RuntimeClock = {
  nowMs: () => performance.now(),
  after: (delayMs, callback) => ({ id: setTimeout(callback, delayMs) }),
  every: (intervalMs, callback) => ({ id: setInterval(callback, intervalMs).unref() }),
  cancel: (handle) => clearTimeout(handle.id as NodeJS.Timeout),
  soon: (callback) => void setImmediate(callback),
};
