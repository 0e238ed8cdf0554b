/**
 * Encoded pieces made ready to cross from a CPU thread to the event loop without copying the
 * large ones. A page of content (megabytes) owns its buffer, so it is transferred as it is;
 * small pieces (page headers, column metadata, pages of short columns) may be views of Node's
 * shared pool, which cannot be transferred, so runs of them are joined into one buffer of their
 * own. Joining every piece, as before, copied the whole output into fresh memory once more.
 */

/**
 * Pieces shorter than this are joined with their neighbours: a copy of a few KB is cheaper
 * than a transferred buffer each (an entry in the message and a buffer on the other side).
 */
export const transferPieceBytesMin = 64 * 1024;

export interface TransferablePieces {
  readonly pieces: readonly Uint8Array[];
  /** Every buffer behind `pieces`, each once: the message's transfer list. */
  readonly transfer: readonly ArrayBuffer[];
}

/** Whether `bytes` are the whole of an ArrayBuffer (not shared memory, not part of a larger buffer). */
function isWholeBuffer(bytes: Uint8Array): boolean {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength;
}

/** Whether `piece` is the whole of an ArrayBuffer no other piece in `seen` holds. */
function ownsItsBuffer(piece: Uint8Array, seen: ReadonlySet<ArrayBufferLike>): boolean {
  return isWholeBuffer(piece) && !seen.has(piece.buffer);
}

/** The pieces in one new buffer of their own (Buffer.concat of a few KB would take Node's pool). */
function joinedOwned(pieces: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const piece of pieces) length += piece.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.byteLength;
  }
  return joined;
}

/**
 * `bytes` in an ArrayBuffer of their own, to transfer: as they are when they are one, else a
 * copy. Not `bytes.slice()`: on a Buffer that is a view of the same memory, and transferring a
 * view of Node's shared pool copies it in node 20 and throws in later versions.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  return isWholeBuffer(bytes) ? bytes : new Uint8Array(bytes);
}

/** The same bytes in the same order: large owned pieces as they are, runs of the others joined. */
export function transferablePieces(pieces: readonly Uint8Array[]): TransferablePieces {
  const out: Uint8Array[] = [];
  const transfer = new Set<ArrayBuffer>();
  let run: Uint8Array[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    const joined = joinedOwned(run);
    out.push(joined);
    transfer.add(joined.buffer as ArrayBuffer);
    run = [];
  };
  for (const piece of pieces) {
    if (piece.byteLength === 0) continue;
    if (piece.byteLength >= transferPieceBytesMin && ownsItsBuffer(piece, transfer)) {
      flush();
      out.push(piece);
      transfer.add(piece.buffer as ArrayBuffer);
    } else {
      run.push(piece);
    }
  }
  flush();
  return { pieces: out, transfer: [...transfer] };
}
