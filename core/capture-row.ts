/**
 * One output row: a capture in the CommonCrawl columnar-index schema
 * (commoncrawl/cc-index-table), so SQL written for that index runs on ours.
 * Optional columns are `null` when the record does not carry them.
 */
export interface CaptureRow {
  url_surtkey: string;
  url: string;
  url_host_name: string | null;
  url_host_tld: string | null;
  url_host_2nd_last_part: string | null;
  url_host_3rd_last_part: string | null;
  url_host_4th_last_part: string | null;
  url_host_5th_last_part: string | null;
  url_host_registry_suffix: string | null;
  url_host_registered_domain: string | null;
  url_host_private_suffix: string | null;
  url_host_private_domain: string | null;
  url_host_name_reversed: string | null;
  url_protocol: string | null;
  /** null when the URL uses its scheme's default port. */
  url_port: number | null;
  url_path: string | null;
  url_query: string | null;
  /** WARC-Date, milliseconds since the epoch, UTC; null when the date cannot be read (the capture is kept). */
  fetch_time: number | null;
  /** HTTP status; null for a revisit that carries no HTTP headers (its mime type is `warc/revisit`). */
  fetch_status: number | null;
  fetch_redirect: string | null;
  content_digest: string | null;
  content_mime_type: string | null;
  content_mime_detected: string | null;
  content_charset: string | null;
  content_languages: string | null;
  content_truncated: string | null;
  warc_filename: string;
  warc_record_offset: number;
  warc_record_length: number;
  warc_segment: string | null;
  crawl: string | null;
  subset: string | null;
}

/** Column names in schema order. */
export const captureColumns = [
  'url_surtkey',
  'url',
  'url_host_name',
  'url_host_tld',
  'url_host_2nd_last_part',
  'url_host_3rd_last_part',
  'url_host_4th_last_part',
  'url_host_5th_last_part',
  'url_host_registry_suffix',
  'url_host_registered_domain',
  'url_host_private_suffix',
  'url_host_private_domain',
  'url_host_name_reversed',
  'url_protocol',
  'url_port',
  'url_path',
  'url_query',
  'fetch_time',
  'fetch_status',
  'fetch_redirect',
  'content_digest',
  'content_mime_type',
  'content_mime_detected',
  'content_charset',
  'content_languages',
  'content_truncated',
  'warc_filename',
  'warc_record_offset',
  'warc_record_length',
  'warc_segment',
  'crawl',
  'subset',
] as const satisfies readonly (keyof CaptureRow)[];

/** Which columns an export writes: `index`, the 32 above; `content`, those and the capture's payload. */
export type OutputSchema = 'index' | 'content';
export const outputSchemas: readonly OutputSchema[] = ['index', 'content'];

/**
 * The columns `--schema content` adds to the index's: the payload and what is needed to read it.
 * `content_truncated` stays the index's column and also says `length` when the payload was cut.
 */
export interface ContentColumns {
  /** WARC-Record-ID, angle brackets included, as CommonCrawl's tools print it. */
  warc_record_id: string | null;
  /**
   * The HTTP payload with chunked transfer coding and Content-Encoding removed (the block, for a
   * resource record; empty for a revisit), cut at `--content-max-kb`; the bytes as sent when
   * the Content-Encoding could not be decoded (`content_encoding_error` says why).
   */
  content: Uint8Array;
  /** The decoded payload's length before any cut; null when decoding stopped at its work bound. */
  content_length: number | null;
  content_encoding_error: string | null;
  /** The HTTP response headers as a JSON object (see http-headers.ts); null for resource records. */
  http_headers: string | null;
  /** WARC-Refers-To: the record a revisit (or a WET conversion) stands for. */
  warc_refers_to: string | null;
}

/** A row of the content schema. */
export type ContentRow = CaptureRow & ContentColumns;

/** A row of either schema: the index columns, and the content columns when the schema has them. */
export type ExportRow = CaptureRow & Partial<ContentColumns>;

export const contentColumns = [
  'warc_record_id',
  'content',
  'content_length',
  'content_encoding_error',
  'http_headers',
  'warc_refers_to',
] as const satisfies readonly (keyof ContentColumns)[];

export type ExportColumn = (typeof captureColumns)[number] | (typeof contentColumns)[number];

/** Column names of a schema, in order: the index's, then the content columns. */
export function schemaColumns(schema: OutputSchema): readonly ExportColumn[] {
  return schema === 'index' ? captureColumns : [...captureColumns, ...contentColumns];
}
