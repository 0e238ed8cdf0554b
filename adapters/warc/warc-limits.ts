/**
 * Bounds of the WARC decoder, named in one place, units last. Every buffer the decoder holds
 * is bounded by one of these, so a hostile or broken input cannot grow memory without limit.
 */
const kibibyte = 1024;
const mebibyte = 1024 * kibibyte;

export const warcLimits = {
  /** One header line (WARC, HTTP or a metadata body line). */
  headerLineBytesMax: 64 * kibibyte,
  /** One header block (WARC or HTTP). */
  headerBlockBytesMax: 1 * mebibyte,
  /** Lines read from a metadata record's body; the rest is skipped (CommonCrawl's are < 2 KiB). */
  metadataBodyBytesMax: 1 * mebibyte,
  /**
   * Bytes kept of one WET `conversion` or WAT `metadata` block, whose text or JSON is the row's
   * content. CommonCrawl cuts the WARC payloads these derive from at a few MiB, and a
   * page's text or envelope is smaller than its payload, so 16 MiB leaves room; past this a
   * WET text is cut (`content_truncated` `length`) and a WAT envelope is a bad record.
   */
  keptBlockBytesMax: 16 * mebibyte,
  /** CR and LF bytes tolerated between the end of a block and the next `WARC/`. */
  trailerBytesMax: 64,
  /**
   * Bytes after a block, up to a line end, that are taken as the block's own when the next
   * record follows them: a Content-Length a byte or two short (warcio reads such a record).
   * Past it the Content-Length is wrong and the record is counted bad.
   */
  blockRestBytesMax: 64,
  /**
   * Compressed bytes of one gzip member inflated in one piece with `inflateRawSync`. A larger
   * member (a whole-file gzip) is inflated by a streaming inflater instead, so the carry
   * between chunks never grows past this.
   */
  memberBufferBytesMax: 64 * mebibyte,
  /** Inflated bytes of one member inflated in one piece; past it the member is streamed. */
  memberOutputBytesMax: 64 * mebibyte,
  /** Compressed bytes fed to the streaming inflater at a time (aligned to the member start). */
  streamPieceBytes: 1 * mebibyte,
  /**
   * Inflated bytes of one streaming piece held before they go to the parser. A piece of real
   * text inflates to a few MiB; a run of one byte inflates about 1,000 times (a 1 MiB piece to
   * 1 GiB), so without this bound a small hostile member could fill the memory.
   */
  streamPieceOutputBytesMax: 16 * mebibyte,
  /** FNAME and FCOMMENT of a gzip header; real ones are a file name, a few hundred bytes. */
  gzipHeaderStringBytesMax: 64 * kibibyte,
};

/** The limits as a type, so tests can shrink them (to reach the streaming path with small files). */
export type WarcLimits = Readonly<typeof warcLimits>;

/** Bounds of the content schema's payloads, units last. */
export const payloadLimits = {
  /** `--content-max-kb`'s default: bytes of decoded payload a row keeps (CommonCrawl's fetcher keeps 1 MiB; 4 MiB holds nearly every HTML page whole). */
  contentKibDefault: 4096,
  /**
   * Bytes held of an encoded body, to be decoded. A gzip body of HTML decodes to 4-10 times
   * its size, so 32 MiB holds every payload a 4 MiB row can be cut from; past it the rest is
   * counted, not held, and the row's content_length is null.
   */
  encodedHeldBytesMax: 32 * mebibyte,
  /**
   * Bytes one coding may decode to: the bound on a record's decoding work and memory. A
   * payload past it (a zip bomb: gzip inflates up to 1,032 times, brotli far more) stops
   * there; the row keeps its first `--content-max-kb` and says `length`.
   */
  decodedBytesMax: 64 * mebibyte,
};
