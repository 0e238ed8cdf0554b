/**
 * Proves the terminal progress line's text at fixed moments (bytes of the total, the recent
 * rate, elapsed time, the ETA from bytes, failures, the drain countdown), and that a log line
 * written while the line is shown clears it first and has it drawn again below.
 */
import { describe, expect, it } from 'vitest';
import { createWorkerState, type WorkerCounters } from '../../core/worker-state.ts';
import { defaultLimits } from '../../core/limits.ts';
import {
  ProgressLine,
  progressText,
  rateWindowMs,
  RecentRate,
  type ProgressTotals,
} from '../../cmd/worker/progress-line.ts';

const freshCounters = (): WorkerCounters => createWorkerState(defaultLimits).counters;
const sized: ProgressTotals = { files: 10, bytes: 1.24e9, filesBefore: 0, bytesBefore: 0 };
const manifest: ProgressTotals = { files: 10, bytes: null, filesBefore: 0, bytesBefore: 0 };
const noDrain = { drainLeftMs: null };

describe('progress line text', () => {
  it('shows no rate and no ETA before any byte is read', () => {
    expect(progressText(sized, { counters: freshCounters(), elapsedMs: 1_000, bytesPerSecond: null, ...noDrain })).toBe(
      '0 B of 1.24 GB (0%), 0 of 10 files, elapsed 1 s',
    );
  });

  it('shows bytes of the total, the recent rate, elapsed time, the ETA from bytes and failures', () => {
    const counters = freshCounters();
    counters.jobsCommitted = 3;
    counters.jobsFailed = 1;
    counters.bytesIn = 412e6;
    // 828 MB left at 48.2 MB/s: 17.2 s.
    expect(progressText(sized, { counters, elapsedMs: 12_000, bytesPerSecond: 48.2e6, ...noDrain })).toBe(
      '412 MB of 1.24 GB (33%), 4 of 10 files, 48.2 MB/s, elapsed 12 s, ETA 17 s, 1 failed',
    );
  });

  it('starts a resumed run where the ledger left it', () => {
    const counters = freshCounters();
    counters.bytesIn = 20e6;
    const resumed: ProgressTotals = { ...sized, filesBefore: 5, bytesBefore: 600e6 };
    expect(progressText(resumed, { counters, elapsedMs: 61_000, bytesPerSecond: 2e6, ...noDrain })).toBe(
      '620 MB of 1.24 GB (50%), 5 of 10 files, 2.00 MB/s, elapsed 1 min 01 s, ETA 5 min 10 s',
    );
  });

  it('counts files, and estimates from them, when sizes are not known yet (a cc: manifest)', () => {
    const counters = freshCounters();
    expect(progressText(manifest, { counters, elapsedMs: 5_000, bytesPerSecond: 1e6, ...noDrain })).toBe(
      '0 of 10 files (0%), 0 B read, 1.00 MB/s, elapsed 5 s',
    );
    counters.jobsCommitted = 2;
    counters.bytesIn = 2.5e9;
    // 2 files in 40 min: 8 more take 160 min.
    expect(progressText(manifest, { counters, elapsedMs: 2_400_000, bytesPerSecond: 1.1e6, ...noDrain })).toBe(
      '2 of 10 files (20%), 2.50 GB read, 1.10 MB/s, elapsed 40 min 00 s, ETA 2 h 40 min',
    );
  });

  it('while draining, counts down and says how to stop at once, in place of the ETA', () => {
    const counters = freshCounters();
    counters.bytesIn = 1e9;
    expect(progressText(sized, { counters, elapsedMs: 90_000, bytesPerSecond: 10e6, drainLeftMs: 23_400 })).toBe(
      'draining, 23 s left, Ctrl-C again to stop now, 1.00 GB of 1.24 GB (80%), 0 of 10 files, 10.0 MB/s, elapsed 1 min 30 s',
    );
  });

  it('drops the ETA once every byte is read, and every file done', () => {
    const counters = freshCounters();
    counters.jobsCommitted = 8;
    counters.bytesIn = 1.24e9;
    expect(progressText(sized, { counters, elapsedMs: 29_000, bytesPerSecond: 41e6, ...noDrain })).toBe(
      '1.24 GB of 1.24 GB (100%), 8 of 10 files, 41.0 MB/s, elapsed 29 s',
    );
    counters.jobsCommitted = 10;
    counters.bytesIn = 1.24e9;
    expect(progressText(sized, { counters, elapsedMs: 30_000, bytesPerSecond: 40e6, ...noDrain })).toBe(
      '1.24 GB of 1.24 GB (100%), 10 of 10 files, 40.0 MB/s, elapsed 30 s',
    );
  });

  it('says "1 file"', () => {
    const one: ProgressTotals = { files: 1, bytes: 1e6, filesBefore: 0, bytesBefore: 0 };
    expect(progressText(one, { counters: freshCounters(), elapsedMs: 0, bytesPerSecond: null, ...noDrain })).toContain(
      '0 of 1 file,',
    );
  });
});

describe('recent rate', () => {
  it('is null before any byte, then the rate over the last window, not the average since start', () => {
    const rate = new RecentRate();
    rate.sample(0, 0);
    rate.sample(1_000, 0);
    expect(rate.bytesPerSecond()).toBeNull();
    // 100 MB/s for 20 s, then a stall: 10 s into the stall the rate is 0, the average 66 MB/s.
    for (let second = 1; second <= 20; second += 1) rate.sample(1_000 + second * 1_000, second * 100e6);
    expect(rate.bytesPerSecond()).toBeCloseTo(100e6, -3);
    for (let second = 21; second <= 21 + rateWindowMs / 1_000; second += 1) rate.sample(1_000 + second * 1_000, 2e9);
    expect(rate.bytesPerSecond()).toBe(0);
  });
});

/** A terminal stand-in that records every write. */
function terminal(isTTY: boolean): { isTTY: boolean; writes: string[]; write: (text: string) => boolean } {
  const writes: string[] = [];
  return { isTTY, writes, write: (text) => writes.push(text) > 0 };
}

describe('progress line on a terminal', () => {
  it('clears the line before a log line and draws it again after', () => {
    let now = 0;
    const stream = terminal(true);
    const line = new ProgressLine(stream, () => now);
    const counters = freshCounters();
    line.start(() => counters, sized);
    now = 2_000;
    counters.bytesIn = 100e6;
    line.draw();
    stream.writes.length = 0;
    line.writeAbove('{"level":"warn","message":"x"}\n');
    expect(stream.writes).toEqual([
      '\r\x1b[K{"level":"warn","message":"x"}\n',
      '100 MB of 1.24 GB (8%), 0 of 10 files, 50.0 MB/s, elapsed 2 s, ETA 23 s',
    ]);
    line.stop();
    expect(stream.writes.at(-1)).toBe('\n');
    // Stopped: a log line is written as it is.
    line.writeAbove('after\n');
    expect(stream.writes.at(-1)).toBe('after\n');
  });

  it('shows the drain countdown as soon as the drain begins', () => {
    let now = 0;
    const stream = terminal(true);
    const line = new ProgressLine(stream, () => now);
    line.start(freshCounters, sized);
    now = 5_000;
    line.draining(now + 30_000);
    expect(stream.writes.at(-1)).toBe(
      '\r\x1b[Kdraining, 30 s left, Ctrl-C again to stop now, 0 B of 1.24 GB (0%), 0 of 10 files, elapsed 5 s',
    );
    line.stop();
  });

  it('draws nothing on a pipe, where log lines pass through untouched', () => {
    const stream = terminal(false);
    const line = new ProgressLine(stream, () => 0);
    line.start(freshCounters, sized);
    line.writeAbove('log\n');
    line.stop();
    expect(stream.writes).toEqual(['log\n']);
  });
});
