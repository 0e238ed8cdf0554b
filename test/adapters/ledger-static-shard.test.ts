/**
 * Proves static shards split a sorted input list into N disjoint strides that together cover
 * it exactly once (a fast-check property), and that `--shard I/N` and the environment
 * (WORKER_INDEX/WORKER_COUNT, Kubernetes and AWS Batch indexes) are parsed or refused with a
 * message that says what to fix.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseShard, shardFromEnvironment, shardInputs } from '../../adapters/ledger/static-shard.ts';

describe('static shards', () => {
  test('worker I of N takes inputs I, I+N, I+2N, …', () => {
    const inputs = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(shardInputs(inputs, 0, 3)).toEqual(['a', 'd', 'g']);
    expect(shardInputs(inputs, 1, 3)).toEqual(['b', 'e']);
    expect(shardInputs(inputs, 2, 3)).toEqual(['c', 'f']);
    expect(shardInputs(inputs, 0, 1)).toEqual(inputs);
    expect(shardInputs(['a'], 3, 4)).toEqual([]);
  });

  test('the shards of any list are disjoint, cover it once and differ in size by at most one', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (values, count) => {
        const shards = Array.from({ length: count }, (_, index) =>
          shardInputs(
            values.map((value, position) => ({ value, position })),
            index,
            count,
          ),
        );
        const positions = shards
          .flat()
          .map((item) => item.position)
          .sort((a, b) => a - b);
        expect(positions).toEqual(values.map((_, position) => position));
        const sizes = shards.map((shard) => shard.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  test("--shard I/N is parsed, and a shard out of range is refused as the user's error", () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    expect(() => parseShard('8/8')).toThrow(/shard index must be in \[0, 7\]/);
    expect(() => parseShard('1/0')).toThrow(/shard count must be a positive integer/);
    expect(() => parseShard('1-4')).toThrow(/--shard must look like I\/N/);
    expect(() => shardInputs([], -1, 2)).toThrow(/user's/);
  });

  test('the environment gives the shard: WORKER_INDEX, or the Kubernetes or AWS Batch index, with WORKER_COUNT', () => {
    expect(shardFromEnvironment({})).toBeUndefined();
    expect(shardFromEnvironment({ WORKER_INDEX: '3', WORKER_COUNT: '4' })).toEqual({ index: 3, count: 4 });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '1', WORKER_COUNT: '2' })).toEqual({ index: 1, count: 2 });
    expect(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: '0', WORKER_COUNT: '5' })).toEqual({ index: 0, count: 5 });
    expect(() => shardFromEnvironment({ WORKER_INDEX: '1' })).toThrow(/WORKER_COUNT/);
  });
});
