import { type WarcLimits, warcLimits } from './warc-limits.ts';

const lineFeed = 0x0a;
const carriageReturn = 0x0d;
const colon = 0x3a;
const noBytes = Buffer.alloc(0);

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
  /** The line `readRange` read last; reused, as a line is used before the next is read. */
  readonly line = new LineRange();

  constructor(private readonly limits: WarcLimits = warcLimits) {}

  /** Bytes of the line read so far that are held over from earlier pieces. */
  get heldBytes(): number {
    return this.partialBytes;
  }

  clear(): void {
    this.partialPieces = [];
    this.partialBytes = 0;
    // The last line's piece may be a chunk its caller reuses; it is not kept past the record.
    this.line.bytes = noBytes;
  }

  /**
   * As `read`, without decoding the line: its bytes are left at `line` (a piece fed in, or the
   * held pieces joined), for `HeaderFields.addBytes` to decode only the parts it keeps.
   */
  readRange(bytes: Buffer, start: number, limit: number): LineResult['kind'] {
    const lineEnd = bytes.indexOf(lineFeed, start);
    if (lineEnd === -1 || lineEnd >= limit) return this.hold(bytes, start, limit).kind;
    if (this.partialBytes + (lineEnd - start) > this.limits.headerLineBytesMax) {
      this.clear();
      return 'too-long';
    }
    if (this.partialBytes === 0) this.line.set(bytes, start, lineEnd, lineEnd + 1);
    else {
      const whole = this.joinedHeld(bytes, start, lineEnd);
      this.line.set(whole, 0, whole.length, lineEnd + 1);
    }
    return 'line';
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
    const whole = this.joinedHeld(bytes, start, lineEnd);
    return decodeLine(whole, 0, whole.length);
  }

  private joinedHeld(bytes: Buffer, start: number, lineEnd: number): Buffer {
    const whole = Buffer.allocUnsafe(this.partialBytes + (lineEnd - start));
    let position = 0;
    for (const piece of this.partialPieces) {
      whole.set(piece, position);
      position += piece.length;
    }
    whole.set(bytes.subarray(start, lineEnd), position);
    this.clear();
    return whole;
  }
}

/** The line `LineReader.readRange` read last: `bytes[start, end)`, the CRs before its LF dropped. */
export class LineRange {
  bytes: Buffer = noBytes;
  start = 0;
  end = 0;
  /** Index after the line feed in the piece the line ended in. */
  next = 0;

  set(bytes: Buffer, start: number, lineEnd: number, next: number): void {
    let end = lineEnd;
    while (end > start && bytes[end - 1] === carriageReturn) end--;
    this.bytes = bytes;
    this.start = start;
    this.end = end;
    this.next = next;
  }

  get empty(): boolean {
    return this.end === this.start;
  }

  /** The line as `read` gives it. */
  text(): string {
    return this.bytes.toString('utf8', this.start, this.end);
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

  /**
   * Adds the line at `bytes[start, end)` (no line end) as `add` adds it decoded as UTF-8, but
   * decodes only the value, and that only when it is kept: the name is looked up by its bytes
   * (`fieldNames`). A line with a name that is not plain ASCII, or a folded line, goes through `add`.
   */
  addBytes(bytes: Buffer, start: number, end: number): void {
    const first = bytes[start];
    if (first === 0x20 || first === 0x09) return this.add(bytes.toString('utf8', start, end));
    const nameEnd = colonIndex(bytes, start, end);
    // No colon, or a colon first: `add` keeps nothing of the line either.
    if (nameEnd === -1 || nameEnd === start) return;
    const name = fieldNames.lookup(bytes, start, nameEnd);
    if (name === null) return this.add(bytes.toString('utf8', start, end));
    this.lastName = name;
    if (this.all === null && this.fields.has(name)) {
      this.lastName = null;
      return;
    }
    const value = trimmedUtf8(bytes, nameEnd + 1, end);
    this.all?.push([name, value]);
    if (!this.fields.has(name)) this.fields.set(name, value);
    else this.lastName = null;
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

/** Index of the first colon in `bytes[start, end)`, or -1. */
function colonIndex(bytes: Buffer, start: number, end: number): number {
  for (let index = start; index < end; index++) if (bytes[index] === colon) return index;
  return -1;
}

/** JavaScript's `trim` removes these ASCII bytes (TAB, LF, VT, FF, CR and space); others are non-ASCII. */
function isAsciiSpace(byte: number | undefined): boolean {
  return byte === 0x20 || (byte !== undefined && byte >= 0x09 && byte <= 0x0d);
}

/**
 * `bytes[start, end)` decoded as UTF-8 and trimmed, as `toString('utf8').trim()` gives it: the
 * ASCII spaces at either end are dropped before decoding; a non-ASCII byte left at an end may
 * start or end a Unicode space (U+00A0, U+3000, ...), so then the decoded text is trimmed too.
 */
export function trimmedUtf8(bytes: Buffer, start: number, end: number): string {
  let from = start;
  let to = end;
  while (from < to && isAsciiSpace(bytes[from])) from++;
  while (to > from && isAsciiSpace(bytes[to - 1])) to--;
  if (from === to) return '';
  const text = bytes.toString('utf8', from, to);
  return (bytes[from] ?? 0) >= 0x80 || (bytes[to - 1] ?? 0) >= 0x80 ? text.trim() : text;
}

/**
 * Slots of the field-name table: a header has some 10 to 30 names, a file a few dozen to a few
 * hundred in all. At 1,024 the 40 most usual WARC, HTTP and metadata names take a slot each.
 */
const fieldNameSlots = 1024;

/**
 * Lower-cased field names by their bytes, so a name seen before is not decoded, trimmed and
 * lower-cased again on every line. One name a slot, a later name with the same hash replacing
 * it: the table stays `fieldNameSlots` strings whatever the input holds.
 */
class FieldNameTable {
  private readonly names: (string | null)[] = new Array<string | null>(fieldNameSlots).fill(null);

  /**
   * The name of `bytes[start, end)` as `add` makes it (trimmed, lower-cased), or null when it
   * holds a byte outside visible ASCII (a space, a control or a UTF-8 byte): `add` reads those.
   */
  lookup(bytes: Buffer, start: number, end: number): string | null {
    let hash = end - start;
    for (let index = start; index < end; index++) {
      const byte = bytes[index] ?? 0;
      if (byte <= 0x20 || byte >= 0x7f) return null;
      hash = (Math.imul(hash, 31) + lowerAscii(byte)) | 0;
    }
    // Mixed, so that names alike (`warc-record-id`, `warc-target-uri`) spread over the slots.
    hash = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
    const slot = (hash ^ (hash >>> 16)) & (fieldNameSlots - 1);
    const known = this.names[slot] ?? null;
    if (known !== null && sameName(known, bytes, start, end)) return known;
    const name = bytes.toString('latin1', start, end).toLowerCase();
    this.names[slot] = name;
    return name;
  }
}

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

function sameName(name: string, bytes: Buffer, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let index = 0; index < name.length; index++) {
    if (name.charCodeAt(index) !== lowerAscii(bytes[start + index] ?? 0)) return false;
  }
  return true;
}

/** The thread's table: parsing is synchronous, and the names are the same in every file. */
const fieldNames = new FieldNameTable();
