/**
 * How the memory budget is split: each CPU thread's reserve comes off the top, the core keeps
 * the data it holds within the rest, and a budget too small for the threads and one chunk
 * each is refused with a line that says what to change.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../core/limits.ts';
import {
  cpuSlotReserveMb,
  defaultBudgetMb,
  memoryPlan,
  minimumBudgetMb,
  slotReserveMb,
} from '../../cmd/worker/memory-plan.ts';
import { ConfigError, loadWorkerConfig } from '../../cmd/worker/worker-config.ts';

const mebibyte = 1024 * 1024;

describe('the memory plan', () => {
  it("leaves the core the budget less the threads' reserve, and room for its gathering parts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 0, max: 8192 }),
        (threads, chunkMb, extraMb) => {
          const budgetMb = minimumBudgetMb(threads, chunkMb) + extraMb;
          const plan = memoryPlan(budgetMb, threads, chunkMb);
          if (typeof plan === 'string') throw new Error(plan);
          const slots = Math.max(1, threads);
          expect(plan.dataBudgetBytes).toBeGreaterThanOrEqual((slots + 1) * chunkMb * mebibyte);
          expect(plan.dataBudgetBytes).toBe((budgetMb - slots * cpuSlotReserveMb) * mebibyte);
          expect(plan.jobsActiveMax).toBeGreaterThanOrEqual(slots);
          expect(plan.jobsActiveMax).toBeLessThanOrEqual(Math.max(slots, defaultLimits.jobsActiveMax));
          if (plan.jobsActiveMax > slots) {
            expect(plan.jobsActiveMax * defaultLimits.partBytes + chunkMb * mebibyte).toBeLessThanOrEqual(
              plan.dataBudgetBytes,
            );
          }
        },
      ),
    );
  });

  it('refuses a budget below the minimum, naming the minimum', () => {
    const refusal = memoryPlan(minimumBudgetMb(4, 32) - 1, 4, 32);
    expect(refusal).toMatch(new RegExp(`at least ${minimumBudgetMb(4, 32)}\\b`));
  });

  it('has a default that every thread count and chunk size accepts', () => {
    for (const threads of [0, 1, 2, 16, 64])
      for (const chunkMb of [1, 32, 128]) {
        expect(typeof memoryPlan(defaultBudgetMb(threads, chunkMb), threads, chunkMb)).toBe('object');
      }
  });

  it('is checked with the rest of the configuration: exit 2 and one line', () => {
    expect(() => loadWorkerConfig(['--threads', '2', '--memory-budget-mb', '100'], {})).toThrow(ConfigError);
    expect(loadWorkerConfig(['--threads', '2'], {}).memoryBudgetMb).toBe(defaultBudgetMb(2, 32));
  });
});

describe('the content schema', () => {
  it('reserves more per CPU slot, so its minimum and default budgets are larger by that much', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: 64 }), (threads, chunkMb) => {
        const slots = Math.max(1, threads);
        const more = slots * (slotReserveMb('content') - slotReserveMb('index'));
        expect(more).toBeGreaterThan(0);
        expect(minimumBudgetMb(threads, chunkMb, 'content')).toBe(minimumBudgetMb(threads, chunkMb) + more);
        expect(defaultBudgetMb(threads, chunkMb, 'content')).toBe(defaultBudgetMb(threads, chunkMb) + more);
        const plan = memoryPlan(minimumBudgetMb(threads, chunkMb, 'content'), threads, chunkMb, 'content');
        if (typeof plan === 'string') throw new Error(plan);
        expect(plan.dataBudgetBytes).toBe((slots + 1) * chunkMb * mebibyte);
        expect(memoryPlan(minimumBudgetMb(threads, chunkMb), threads, chunkMb, 'content')).toMatch(/--schema content/);
      }),
    );
  });

  it('reads --schema and --content-max-kb from flag, environment or file, and refuses bad values in one line', () => {
    const base = ['--input', 'x.warc.gz', '--threads', '1'];
    expect(loadWorkerConfig(base, {})).toMatchObject({ schema: 'index', contentMaxKb: 4096 });
    expect(loadWorkerConfig([...base, '--schema', 'content', '--content-max-kb', '64'], {})).toMatchObject({
      schema: 'content',
      contentMaxKb: 64,
    });
    expect(loadWorkerConfig(base, { SCHEMA: 'content', CONTENT_MAX_KB: '1' })).toMatchObject({
      schema: 'content',
      contentMaxKb: 1,
    });
    for (const [flags, message] of [
      [['--schema', 'payload'], /--schema must be one of index, content/],
      [['--content-max-kb', '0'], /--content-max-kb must be an integer ≥ 1/],
      [['--content-max-kb', '70000'], /--content-max-kb must be at most 65536/],
    ] as const) {
      const error = (() => {
        try {
          loadWorkerConfig([...base, ...flags], {});
        } catch (caught) {
          return caught;
        }
        return null;
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});
