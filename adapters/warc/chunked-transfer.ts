/**
 * Removes HTTP/1.1 chunked transfer coding, reading broken chunking as warcio (the reference the
 * interop tests hold the export to) and browsers read it, so that no payload is lost to it:
 * - a first chunk that does not parse means the body was not chunked after all: it is kept as sent;
 * - a later chunk size line that does not parse, or a chunk not followed by CR LF: the chunks
 *   before it, then the rest of the bytes as sent;
 * - bytes that end inside a chunk (a truncated record): the chunks and the part of the last one.
 * Each of these is `broken`. Trailer fields after the last chunk are dropped.
 */
export interface Unchunked {
  readonly bytes: Buffer;
  readonly broken: boolean;
}

/** warcio reads a chunk size line of at most 64 bytes; a longer one is no size line. */
const sizeLineBytesMax = 64;
/** warcio's bound on one chunk's size; a larger one is read as broken chunking. */
const chunkBytesMax = 2 ** 32;
const lineFeed = 0x0a;

export function removeChunking(body: Buffer): Unchunked {
  const pieces: Buffer[] = [];
  let index = 0;
  let first = true;
  // Each turn consumes a size line of at least one byte, or ends.
  while (index < body.length) {
    const lineEnd = sizeLineEnd(body, index);
    const line = body.subarray(index, lineEnd);
    const size = Number.parseInt(line.toString('latin1'), 16);
    if (Number.isNaN(size) || size > chunkBytesMax) return brokenAt(pieces, body, index, first);
    const dataStart = lineEnd;
    const dataEnd = dataStart + size;
    if (dataEnd > body.length) {
      // Cut inside the chunk: its bytes so far end the payload.
      if (first) return { bytes: body, broken: true };
      pieces.push(body.subarray(dataStart));
      return { bytes: Buffer.concat(pieces), broken: true };
    }
    if (body[dataEnd] !== 0x0d || body[dataEnd + 1] !== lineFeed) {
      if (first) return { bytes: body, broken: true };
      pieces.push(body.subarray(dataStart));
      return { bytes: Buffer.concat(pieces), broken: true };
    }
    if (size === 0) return { bytes: Buffer.concat(pieces), broken: false };
    pieces.push(body.subarray(dataStart, dataEnd));
    first = false;
    index = dataEnd + 2;
  }
  // The bytes ended where the next size line should be: no last chunk came.
  return { bytes: Buffer.concat(pieces), broken: !first || body.length > 0 };
}

/** The end of the size line that starts at `start`: after its line feed, or 64 bytes on. */
function sizeLineEnd(body: Buffer, start: number): number {
  const limit = Math.min(body.length, start + sizeLineBytesMax);
  const lineFeedAt = body.subarray(start, limit).indexOf(lineFeed);
  return lineFeedAt === -1 ? limit : start + lineFeedAt + 1;
}

function brokenAt(pieces: Buffer[], body: Buffer, index: number, first: boolean): Unchunked {
  if (first) return { bytes: body, broken: true };
  pieces.push(body.subarray(index));
  return { bytes: Buffer.concat(pieces), broken: true };
}
