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

  take(): Uint8Array {
    // One piece (a footer, a lone page) is handed on as it is: a copy of it would only cost.
    const bytes = this.pieces.length === 1 ? (this.pieces[0] ?? Buffer.alloc(0)) : Buffer.concat(this.pieces);
    this.pieces = [];
    return bytes;
  }
}
