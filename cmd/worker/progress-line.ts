import type { WorkerCounters } from '../../core/worker-state.ts';
import { bytesText, countText, durationText, rateText } from '../../core/units-text.ts';

/** The line is redrawn this often: often enough to look live, rarely enough to cost nothing. */
const refreshMs = 1_000;
/**
 * The rate shown is over the last this many ms: long enough to smooth the burst of one chunk
 * (a 16 MB fetch lands at once), short enough that a stall shows within seconds, where an
 * average since start would still show the speed of an hour ago.
 */
export const rateWindowMs = 10_000;
/** Samples the window holds: one a redraw, plus the one at its far edge. */
const rateSamplesMax = Math.ceil(rateWindowMs / refreshMs) + 1;

/** What the run holds, as known when the worker starts. */
export interface ProgressTotals {
  /** Inputs of the run (listed at this start). */
  readonly files: number;
  /** Their bytes, when every listed input has a size (local files, listed S3); null for a `cc:` manifest. */
  readonly bytes: number | null;
  /** Files and bytes the ledger held done (or failed) before this worker started: a resumed run starts where it was. */
  readonly filesBefore: number;
  readonly bytesBefore: number;
}

/** The worker at one moment, as the line shows it. */
export interface ProgressMoment {
  readonly counters: WorkerCounters;
  readonly elapsedMs: number;
  /** Bytes per second over the recent window; null before any byte was read. */
  readonly bytesPerSecond: number | null;
  /** While draining, the time left before running jobs are released; null otherwise. */
  readonly drainLeftMs: number | null;
}

/** Bytes and files done so far, the run's earlier progress included. */
function done(totals: ProgressTotals, counters: WorkerCounters): { files: number; bytes: number } {
  return {
    files: totals.filesBefore + counters.jobsCommitted + counters.jobsFailed,
    bytes: totals.bytesBefore + counters.bytesIn,
  };
}

function percentText(part: number, whole: number): string {
  return whole <= 0 ? '100%' : `${Math.min(100, Math.floor((part / whole) * 100))}%`;
}

/**
 * The ETA: from bytes when the run's size is known (remaining bytes at the recent rate); for a
 * manifest, whose files are sized only when claimed, from the files this worker finished.
 */
function etaText(totals: ProgressTotals, moment: ProgressMoment): string | null {
  const { files, bytes } = done(totals, moment.counters);
  if (totals.bytes !== null) {
    // Every byte read but files still encoding or uploading: the bytes say nothing more.
    if (moment.bytesPerSecond === null || moment.bytesPerSecond <= 0 || bytes >= totals.bytes) return null;
    return durationText(((totals.bytes - bytes) / moment.bytesPerSecond) * 1_000);
  }
  const finishedHere = moment.counters.jobsCommitted + moment.counters.jobsFailed;
  if (finishedHere === 0) return null;
  return durationText((Math.max(0, totals.files - files) * moment.elapsedMs) / finishedHere);
}

/** One line of the terminal progress display. Parts with nothing to say yet (rate, ETA) are left out. */
export function progressText(totals: ProgressTotals, moment: ProgressMoment): string {
  const { files, bytes } = done(totals, moment.counters);
  const parts: string[] = [];
  if (moment.drainLeftMs !== null)
    parts.push(`draining, ${durationText(moment.drainLeftMs)} left, Ctrl-C again to stop now`);
  if (totals.bytes !== null) {
    parts.push(`${bytesText(bytes)} of ${bytesText(totals.bytes)} (${percentText(bytes, totals.bytes)})`);
    parts.push(`${files} of ${countText(totals.files, 'file')}`);
  } else {
    parts.push(`${files} of ${countText(totals.files, 'file')} (${percentText(files, totals.files)})`);
    parts.push(`${bytesText(bytes)} read`);
  }
  if (moment.bytesPerSecond !== null) parts.push(rateText(moment.bytesPerSecond));
  parts.push(`elapsed ${durationText(moment.elapsedMs)}`);
  const eta = etaText(totals, moment);
  const finished = files >= totals.files;
  if (eta !== null && moment.drainLeftMs === null && !finished) parts.push(`ETA ${eta}`);
  if (moment.counters.jobsFailed > 0) parts.push(`${moment.counters.jobsFailed} failed`);
  return parts.join(', ');
}

/** The byte rate over the last `rateWindowMs`, from samples of a growing byte count. */
export class RecentRate {
  private readonly samples: { atMs: number; bytes: number }[] = [];

  sample(atMs: number, bytes: number): void {
    // Samples closer than a redraw apart (a report every 1,000 records comes many times a
    // second) move the newest one instead of adding, so the samples held span the window.
    const previous = this.samples[this.samples.length - 2];
    if (previous !== undefined && atMs - previous.atMs < refreshMs) this.samples.pop();
    this.samples.push({ atMs, bytes });
    // Keep one sample at or past the window's far edge, so the window is always spanned.
    while (this.samples.length > rateSamplesMax || (this.samples.length > 2 && this.olderThanWindow(atMs))) {
      this.samples.shift();
    }
  }

  /** Bytes per second across the samples held; null until a byte was read. */
  bytesPerSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.bytes === 0 || last.atMs <= first.atMs) return null;
    return ((last.bytes - first.bytes) * 1_000) / (last.atMs - first.atMs);
  }

  private olderThanWindow(nowMs: number): boolean {
    const second = this.samples[1];
    return second !== undefined && nowMs - second.atMs >= rateWindowMs;
  }
}

/** Where the line is written: stderr, or a test's stand-in. */
export interface LineStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const clearLine = '\r\x1b[K';

/**
 * A live progress line on a terminal, rewritten in place every second. Every other write to
 * the same stream goes through `writeAbove`, which clears the line, writes, and draws it again
 * below, so a log line never runs into it. On a pipe or a file no line is drawn (the logs stay
 * plain JSON lines there) and `writeAbove` writes through.
 */
export class ProgressLine {
  private timer: NodeJS.Timeout | null = null;
  private shown = false;
  private source: { read: () => WorkerCounters; totals: ProgressTotals; startedMs: number } | null = null;
  private drainDeadlineMs: number | null = null;
  private readonly rate = new RecentRate();

  constructor(
    private readonly stream: LineStream,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Starts drawing, on a terminal only. */
  start(read: () => WorkerCounters, totals: ProgressTotals): void {
    this.source = { read, totals, startedMs: this.nowMs() };
    if (this.stream.isTTY !== true) return;
    this.shown = true;
    this.draw();
    this.timer = setInterval(() => this.draw(), refreshMs);
    this.timer.unref();
  }

  /** The drain began: the line counts down to `deadlineMs` (this clock's ms). */
  draining(deadlineMs: number): void {
    this.drainDeadlineMs = deadlineMs;
    if (this.shown) this.draw();
  }

  /** Writes `text` (whole lines) above the line. */
  writeAbove(text: string): void {
    if (!this.shown) {
      this.stream.write(text);
      return;
    }
    this.stream.write(clearLine + text);
    this.stream.write(this.currentText());
  }

  /** Draws the last state and leaves it on the terminal, with the cursor on the next line. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (!this.shown) return;
    this.draw();
    this.shown = false;
    this.stream.write('\n');
  }

  /** Samples the byte count and draws the line. */
  draw(): void {
    if (this.source === null) return;
    this.rate.sample(this.nowMs(), this.source.read().bytesIn);
    this.stream.write(clearLine + this.currentText());
  }

  private currentText(): string {
    if (this.source === null) return '';
    const now = this.nowMs();
    return progressText(this.source.totals, {
      counters: this.source.read(),
      elapsedMs: now - this.source.startedMs,
      bytesPerSecond: this.rate.bytesPerSecond(),
      drainLeftMs: this.drainDeadlineMs === null ? null : Math.max(0, this.drainDeadlineMs - now),
    });
  }
}
