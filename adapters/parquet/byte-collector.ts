/**
 * Collects what is written to a file's output stream, so each call can hand back exactly the
 * bytes it added. It holds bytes only between a write and the next `take`.
 */
export class ByteCollector {
  private pieces: Buffer[] = [];

  /** The two methods of a writable stream that parquetjs calls (`write` with a callback, `end`). */
  readonly stream = {
    write: (piece: Buffer, callback?: (error?: Error | null) => void): boolean => {
      this.pieces.push(piece);
      callback?.(null);
      return true;
    },
    end: (callback?: () => void): void => {
      callback?.();
    },
  };

  /** The pieces written since the last take, as they were written: no copy. */
  take(): readonly Buffer[] {
    const pieces = this.pieces;
    this.pieces = [];
    return pieces;
  }

  /** The same bytes in one Buffer: for small results (a footer, a magic). */
  takeJoined(): Buffer {
    return joined(this.take());
  }
}

/** Pieces in one Buffer; one piece is handed on as it is: a copy of it would only cost. */
export function joined(pieces: readonly Uint8Array[]): Buffer {
  const only = pieces.length === 1 ? pieces[0] : undefined;
  if (only !== undefined) return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  return Buffer.concat(pieces);
}
