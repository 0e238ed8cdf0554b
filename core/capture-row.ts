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
