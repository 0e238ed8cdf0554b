/**
 * Proves transferablePieces: the pieces that cross from a CPU thread keep the encoder's bytes in
 * order; a large piece that owns its buffer crosses as it is (not copied); small pieces and
 * views into a larger buffer (Node's pool) are joined into buffers of their own; and the
 * transfer list is accepted by a real message port, the bytes arriving unchanged.
 */
import fc from 'fast-check';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { ownedBytes, transferPieceBytesMin, transferablePieces } from '../../cmd/worker/transferable-pieces.ts';

function patterned(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 31 + seed) % 256);
}

/** Posts the pieces with their transfer list and reads them on the other side. */
function crossed(pieces: readonly Uint8Array[], transfer: readonly ArrayBuffer[]): Uint8Array[] {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(pieces, [...transfer]);
    const received = receiveMessageOnPort(port2);
    return (received?.message ?? []) as Uint8Array[];
  } finally {
    port1.close();
    port2.close();
  }
}

describe('transferablePieces', () => {
  test('a large owned piece crosses as it is; small ones around it are joined', () => {
    const large = patterned(transferPieceBytesMin, 1);
    const small = [patterned(10, 2), patterned(20, 3), patterned(30, 4)];
    const { pieces, transfer } = transferablePieces([small[0] as Uint8Array, large, ...small.slice(1)]);
    expect(pieces.map((piece) => piece.length)).toEqual([10, transferPieceBytesMin, 50]);
    expect(pieces[1]).toBe(large);
    expect(transfer).toHaveLength(3);
    expect(new Set(transfer).size).toBe(3);
  });

  test('a large view into a bigger buffer (a pool) is copied, not transferred from under its owner', () => {
    const pool = patterned(4 * transferPieceBytesMin, 5);
    const view = pool.subarray(10, 10 + 2 * transferPieceBytesMin);
    const { pieces, transfer } = transferablePieces([view]);
    expect(pieces[0]?.buffer).not.toBe(pool.buffer);
    expect(transfer).not.toContain(pool.buffer);
    expect(Buffer.from(pieces[0] ?? []).equals(Buffer.from(view))).toBe(true);
  });

  test('property: the bytes crossing a message port are the pieces given, in order', () => {
    const piece = fc.oneof(
      fc.record({
        kind: fc.constant('owned' as const),
        length: fc.integer({ min: 0, max: 3 * transferPieceBytesMin }),
      }),
      fc.record({
        kind: fc.constant('pooled' as const),
        length: fc.integer({ min: 0, max: 2 * transferPieceBytesMin }),
      }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (shapes) => {
        const given = shapes.map((shape, index) => {
          if (shape.kind === 'owned') return patterned(shape.length, index);
          return Buffer.from(patterned(shape.length + 7, index)).subarray(7);
        });
        const expected = Buffer.concat(given.map((bytes) => Buffer.from(bytes)));
        const { pieces, transfer } = transferablePieces(given);
        const received = crossed(pieces, transfer);
        expect(Buffer.concat(received).equals(expected)).toBe(true);
        expect(received.every((bytes) => bytes.length > 0)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('ownedBytes: a Buffer view of a larger buffer is copied into one of its own, a whole buffer kept', () => {
    const pooled = Buffer.from("a few bytes in node's shared pool");
    expect(pooled.byteLength).toBeLessThan(pooled.buffer.byteLength);
    const owned = ownedBytes(pooled.subarray(2, 9));
    expect(owned.buffer).not.toBe(pooled.buffer);
    expect(owned.byteLength).toBe(owned.buffer.byteLength);
    expect(Buffer.from(owned).toString()).toBe('few byt');
    const shared = new Uint8Array(new SharedArrayBuffer(8)).fill(7);
    expect(ownedBytes(shared).buffer).toBeInstanceOf(ArrayBuffer);
    const whole = new Uint8Array(16);
    expect(ownedBytes(whole)).toBe(whole);
    expect(crossed([owned], [owned.buffer as ArrayBuffer])[0]).toEqual(new Uint8Array(Buffer.from('few byt')));
  });
});
