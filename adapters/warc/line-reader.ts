import { type WarcLimits, warcLimits } from './warc-limits.ts';

const lineFeed = 0x0a;
const carriageReturn = 0x0d;

/** What one attempt to read a line gives. */
export type LineResult =
  /** A whole line, without its CR LF or LF; `next` is the index after the line feed. */
  | { readonly kind: 'line'; readonly text: string; readonly next: number }
  /** The bytes up to `limit` hold no line feed; they were kept, feed the next bytes. */
  | { readonly kind: 'partial' }
  /** The line is longer than the limit; nothing more is kept. */
  | { readonly kind: 'too-long' };

/**
 * Reads lines that may straddle the pieces they arrive in. A line within one piece is decoded
 * straight from it (the common case: no copy); only a line cut by a piece boundary is copied,
 * and never more than `headerLineBytesMax` of it.
 */
export class LineReader {
  private partialPieces: Uint8Array[] = [];
  private partialBytes = 0;

  constructor(private readonly limits: WarcLimits = warcLimits) {}

  /** Bytes of the line read so far that are held over from earlier pieces. */
  get heldBytes(): number {
    return this.partialBytes;
  }

  clear(): void {
    this.partialPieces = [];
    this.partialBytes = 0;
  }

  read(bytes: Buffer, start: number, limit: number): LineResult {
    const lineEnd = bytes.indexOf(lineFeed, start);
    if (lineEnd === -1 || lineEnd >= limit) return this.hold(bytes, start, limit);
    if (this.partialBytes + (lineEnd - start) > this.limits.headerLineBytesMax) {
      this.clear();
      return { kind: 'too-long' };
    }
    const text = this.partialBytes === 0 ? decodeLine(bytes, start, lineEnd) : this.joinHeld(bytes, start, lineEnd);
    return { kind: 'line', text, next: lineEnd + 1 };
  }

  private hold(bytes: Buffer, start: number, limit: number): LineResult {
    if (this.partialBytes + (limit - start) > this.limits.headerLineBytesMax) {
      this.clear();
      return { kind: 'too-long' };
    }
    if (limit > start) {
      // Copied (Buffer#slice would be a view): the piece may be a chunk whose memory its caller
      // reuses once the decoder's push returns (test/adapters/decoder-chunk-reuse.test.ts).
      this.partialPieces.push(Uint8Array.prototype.slice.call(bytes, start, limit));
      this.partialBytes += limit - start;
    }
    return { kind: 'partial' };
  }

  private joinHeld(bytes: Buffer, start: number, lineEnd: number): string {
    const whole = Buffer.allocUnsafe(this.partialBytes + (lineEnd - start));
    let position = 0;
    for (const piece of this.partialPieces) {
      whole.set(piece, position);
      position += piece.length;
    }
    whole.set(bytes.subarray(start, lineEnd), position);
    this.clear();
    return decodeLine(whole, 0, whole.length);
  }
}

/**
 * Decodes a line as UTF-8 (WARC 1.1 allows UTF-8 values), dropping the CRs before its LF: one
 * as written, or more where CR LF went through a stream that turns LF into CR LF (CR CR LF).
 */
function decodeLine(bytes: Buffer, start: number, lineEnd: number): string {
  let end = lineEnd;
  while (end > start && bytes[end - 1] === carriageReturn) end--;
  return bytes.toString('utf8', start, end);
}

/**
 * Collects `Name: value` lines into a map with lower-cased names. A line that starts with a
 * space or tab continues the previous value (folding, allowed by WARC 1.0 and HTTP/1.0); the
 * first value of a repeated name wins, as a single value is all a column can hold.
 */
export class HeaderFields {
  private readonly fields = new Map<string, string>();
  private lastName: string | null = null;
  /**
   * Every field in order, repeats and all, when the caller asked for them (the content schema's
   * `http_headers`); null otherwise, so the index export pays nothing for it.
   */
  private readonly all: [name: string, value: string][] | null;

  constructor(keepAll = false) {
    this.all = keepAll ? [] : null;
  }

  add(line: string): void {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      this.foldAll(line.trim());
      if (this.lastName !== null) {
        const previous = this.fields.get(this.lastName) ?? '';
        this.fields.set(this.lastName, `${previous} ${line.trim()}`.trim());
        return;
      }
      // A continuation of nothing the map keeps is read as a field of its own, as before.
      if (this.all !== null && this.all.length > 0) return this.addToMapOnly(line);
    }
    this.addField(line);
  }

  private addField(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    this.all?.push([name, value]);
    this.lastName = name;
    if (!this.fields.has(name)) this.fields.set(name, value);
    else this.lastName = null;
  }

  get(name: string): string | null {
    return this.fields.get(name) ?? null;
  }

  /** Every field in order, repeats included; empty unless made with `keepAll`. */
  entries(): readonly (readonly [name: string, value: string])[] {
    return this.all ?? [];
  }

  private foldAll(continuation: string): void {
    const last = this.all === null ? undefined : this.all[this.all.length - 1];
    if (last !== undefined) last[1] = `${last[1]} ${continuation}`.trim();
  }

  private addToMapOnly(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const name = line.slice(0, colon).trim().toLowerCase();
    this.lastName = name;
    if (!this.fields.has(name)) this.fields.set(name, line.slice(colon + 1).trim());
    else this.lastName = null;
  }
}
