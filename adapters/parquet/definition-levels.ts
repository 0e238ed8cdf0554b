/**
 * Definition levels of a flat optional column (bit width 1: 0 is null, 1 is a value), in
 * Parquet's RLE / bit-packing hybrid with the 4-byte length a version 1 data page puts before
 * them. A stretch of 8 or more equal levels is one RLE run (2-6 bytes whatever its length);
 * anything else is bit-packed, 8 levels a byte. A column that is never or always null, most of
 * them, costs a few bytes.
 */

/** Levels in a bit-packed group, and the shortest stretch written as an RLE run instead. */
const groupLevels = 8;

/** Length of the stretch of levels equal to `levels[start]` from `start`, counted up to `limit`. */
function runLength(levels: Uint8Array, start: number, count: number, limit: number): number {
  const value = levels[start];
  let end = start + 1;
  while (end < count && end - start < limit && levels[end] === value) end += 1;
  return end - start;
}

/** ULEB128, as the hybrid's run headers are written. */
function writeVarint(target: Buffer, offset: number, value: number): number {
  let rest = value;
  let at = offset;
  while (rest >= 0x80) {
    target[at++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  target[at++] = rest;
  return at;
}

/** Bit-packed groups from `start` until a stretch that an RLE run writes better, or the end. */
function bitPackedGroups(levels: Uint8Array, start: number, count: number): number {
  let groups = 0;
  let at = start;
  while (at < count && (groups === 0 || runLength(levels, at, count, groupLevels) < groupLevels)) {
    groups += 1;
    at += groupLevels;
  }
  return groups;
}

function writeBitPacked(
  levels: Uint8Array,
  start: number,
  count: number,
  groups: number,
  target: Buffer,
  offset: number,
): number {
  let at = writeVarint(target, offset, groups * 2 + 1);
  for (let group = 0; group < groups; group += 1) {
    let byte = 0;
    for (let bit = 0; bit < groupLevels; bit += 1) {
      const index = start + group * groupLevels + bit;
      // Levels past the last are padding: readers stop at the page's value count.
      if (index < count && levels[index] === 1) byte |= 1 << bit;
    }
    target[at++] = byte;
  }
  return at;
}

/**
 * `levels[0..count)` (each 0 or 1) encoded, length prefix included. Each step consumes at least
 * one level, so the loop ends after at most `count` steps.
 */
export function encodeDefinitionLevels(levels: Uint8Array, count: number): Buffer {
  // Worst case: every 8 levels cost a byte plus a header of at most 5 bytes.
  const target = Buffer.allocUnsafe(4 + Math.ceil(count / groupLevels) * 6 + 6);
  let at = 4;
  let start = 0;
  while (start < count) {
    const run = runLength(levels, start, count, Number.MAX_SAFE_INTEGER);
    if (run >= groupLevels) {
      at = writeVarint(target, at, run * 2);
      target[at++] = levels[start] ?? 0;
      start += run;
      continue;
    }
    const groups = bitPackedGroups(levels, start, count);
    at = writeBitPacked(levels, start, count, groups, target, at);
    start += groups * groupLevels;
  }
  target.writeUInt32LE(at - 4, 0);
  return target.subarray(0, at);
}
