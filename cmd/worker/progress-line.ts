import type { WorkerCounters } from '../../core/worker-state.ts';
import { totalCount } from '../../core/record-counters.ts';

const refreshMs = 1_000;

/** One line of the terminal progress display, from the worker's counters. */
export function progressText(counters: WorkerCounters, filesTotal: number, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1_000, 1e-3);
  const filesDone = counters.jobsCommitted + counters.jobsFailed;
  const inRate = counters.bytesIn / 1e6 / seconds;
  const outRate = counters.bytesOut / 1e6 / seconds;
  const remaining = Math.max(0, filesTotal - filesDone);
  const eta = filesDone === 0 ? '?' : `${Math.round((remaining * seconds) / filesDone)} s`;
  const failed = counters.jobsFailed > 0 ? ` (${counters.jobsFailed} failed)` : '';
  return (
    `files ${filesDone}/${filesTotal}${failed}, records ${totalCount(counters.records.byType)}, ` +
    `in ${inRate.toFixed(1)} MB/s, out ${outRate.toFixed(2)} MB/s, ETA ${eta}`
  );
}

/**
 * A live progress line on a terminal, rewritten in place every second; on a pipe or a file
 * nothing is written (logs stay JSON lines there).
 */
export class ProgressLine {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedMs = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly read: () => WorkerCounters,
    private readonly filesTotal: number,
  ) {}

  start(): void {
    if (!this.stream.isTTY) return;
    this.timer = setInterval(() => this.draw(), refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    this.stream.write(`\r\x1b[K${progressText(this.read(), this.filesTotal, Date.now() - this.startedMs)}`);
  }
}
