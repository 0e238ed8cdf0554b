/**
 * Reads that cannot miss, said with a check rather than a `!` or a cast. Each throws, as
 * `assert` does, when the caller's reasoning was wrong: a miss here is a bug, never input.
 * Arrays and maps read so hold no `undefined` values.
 */

/** The item at `index`, which the caller's own bound keeps within `items`. */
export function at<T>(items: ArrayLike<T>, index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`invariant broken: index ${index} outside 0..${items.length - 1}`);
  return item;
}

/** The value under `key`, which the caller put there first; `what` names it in the error. */
export function entryOf<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`invariant broken: no ${what} ${String(key)}`);
  return value;
}

/**
 * The byte at `index`, for parsers' loops over bytes: kept apart from `at` so that this read
 * only ever sees byte arrays and stays as fast as a plain one.
 */
export function byteAt(bytes: Uint8Array, index: number): number {
  const byte = bytes[index];
  if (byte === undefined) throw new Error(`invariant broken: byte ${index} outside 0..${bytes.length - 1}`);
  return byte;
}
