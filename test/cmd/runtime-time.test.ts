/**
 * The node runtime takes all its time from its `RuntimeClock` (cmd/worker/runtime-clock.ts):
 * no real clock or timer of its own, or the whole-worker simulation, which gives it virtual
 * time, would no longer be reproducible (a seed would not replay its run).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

/** The runtime's files that run under simulation; the clock itself is the one place time is read. */
const files = ['cmd/worker/node-runtime.ts', 'cmd/worker/progress-reporter.ts'];
const realTime = /\b(performance\.now|Date\.now|new Date\(|setTimeout|setInterval|setImmediate|process\.hrtime)\b/;

describe('the node runtime on injected time', () => {
  test.each(files)('%s reads no real clock and arms no real timer', (file) => {
    const lines = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
    const offending = lines
      .map((line, index) => `${index + 1}: ${line.trim()}`)
      .filter((line) => realTime.test(line) && !/^\d+: (\/\/|\*|\/\*\*)/.test(line));
    expect(offending).toEqual([]);
  });

  test('the pattern finds real time where there is some', () => {
    expect(realTime.test('const t = performance.now();')).toBe(true);
    expect(realTime.test('this.timer = setTimeout(() => x, 5);')).toBe(true);
    expect(realTime.test('this.clock.after(delayMs, () => x);')).toBe(false);
  });
});
