import { BinaryHeap } from '../core/binary-heap.ts';
import { assert } from '../core/failure.ts';

/** One scheduled happening: at `atMs`, run `action`. Ties run in the order they were scheduled. */
interface ScheduledEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly action: () => void;
}

/**
 * The simulator's clock and agenda: a binary heap of events in virtual time. Time only moves
 * when an event is taken, so a simulated hour costs what its events cost, not an hour.
 * The heap is bounded by `eventsMax` taken events: a run that would go on forever (a
 * livelock in the core or a model) stops and says so instead of hanging.
 */
export class EventQueue {
  private readonly heap = new BinaryHeap<ScheduledEvent>((a, b) =>
    a.atMs !== b.atMs ? a.atMs < b.atMs : a.seq < b.seq,
  );
  private nextSeq = 0;
  private nowMsValue = 0;
  private processed = 0;

  constructor(private readonly eventsMax: number) {}

  get nowMs(): number {
    return this.nowMsValue;
  }

  /** Events taken so far. */
  get eventsProcessed(): number {
    return this.processed;
  }

  get pending(): number {
    return this.heap.size;
  }

  /** Schedules `action` at `atMs`, which must not be in the past. */
  at(atMs: number, action: () => void): void {
    assert(atMs >= this.nowMsValue, `an event scheduled in the past: ${atMs} < ${this.nowMsValue}`);
    this.heap.push({ atMs, seq: this.nextSeq++, action });
  }

  after(delayMs: number, action: () => void): void {
    this.at(this.nowMsValue + Math.max(0, delayMs), action);
  }

  /**
   * Runs events in time order until none is left, `stop()` says so, or the event bound is
   * reached. Returns why it stopped.
   */
  run(stop: () => boolean): 'drained' | 'stopped' | 'event bound reached' {
    for (;;) {
      if (stop()) return 'stopped';
      const event = this.heap.pop();
      if (event === undefined) return 'drained';
      if (this.processed >= this.eventsMax) return 'event bound reached';
      this.processed += 1;
      this.nowMsValue = event.atMs;
      event.action();
    }
  }
}
