import { at } from './checked-access.ts';

/**
 * A binary min-heap ordered by a comparator. The core and the simulator keep their ready
 * queues and timers in these, so each push and pop is O(log n) whatever the queue length.
 * Items are objects, so an empty slot and an item are never confused.
 */
export class BinaryHeap<T extends object> {
  private readonly items: T[] = [];
  /** `before(a, b)` is true when `a` must come out before `b`. */
  readonly before: (a: T, b: T) => boolean;

  /** `before(a, b)` is true when `a` must come out before `b`. */
  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (last !== undefined && items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Items in no particular order; for snapshots and tests. */
  toArray(): readonly T[] {
    return this.items;
  }

  private siftUp(start: number): void {
    const items = this.items;
    let index = start;
    const item = at(items, index);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = at(items, parentIndex);
      if (!this.before(item, parent)) break;
      items[index] = parent;
      index = parentIndex;
    }
    items[index] = item;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const length = items.length;
    let index = start;
    const item = at(items, index);
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      let childItem = at(items, left);
      if (right < length) {
        const rightItem = at(items, right);
        if (this.before(rightItem, childItem)) {
          child = right;
          childItem = rightItem;
        }
      }
      if (!this.before(childItem, item)) break;
      items[index] = childItem;
      index = child;
    }
    items[index] = item;
  }
}
