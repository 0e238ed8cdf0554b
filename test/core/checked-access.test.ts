import { describe, expect, it } from 'vitest';
import { at, entryOf } from '../../core/checked-access.ts';

describe('checked reads', () => {
  it('at returns the item within bounds and throws naming the index outside them', () => {
    const items = [3, 0, 7];
    expect(items.map((_, index) => at(items, index))).toEqual(items);
    expect(at(new Uint8Array([9, 8]), 1)).toBe(8);
    expect(() => at(items, 3)).toThrow('invariant broken: index 3 outside 0..2');
    expect(() => at(items, -1)).toThrow('index -1 outside 0..2');
    expect(() => at([], 0)).toThrow('index 0 outside 0..-1');
  });

  it('entryOf returns what the map holds and throws naming what is missing', () => {
    const jobs = new Map([['a', { id: 'a' }]]);
    expect(entryOf(jobs, 'a', 'job')).toEqual({ id: 'a' });
    expect(() => entryOf(jobs, 'b', 'job')).toThrow('invariant broken: no job b');
  });
});
