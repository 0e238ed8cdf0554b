/** fast-check rows of either output schema, with the awkward values real captures bring (nulls, any Unicode, 64-bit offsets). */
import fc from 'fast-check';
import type { CaptureRow, ContentColumns, ExportRow, OutputSchema } from '../../core/capture-row.ts';

// Strings of any Unicode code point except lone surrogates, which a UTF-8 decoder never produces.
const text = fc.string({ unit: 'binary', maxLength: 40 });
const optionalText = fc.option(text, { nil: null, freq: 3 });

export const captureRowArbitrary: fc.Arbitrary<CaptureRow> = fc.record({
  url_surtkey: text,
  url: text,
  url_host_name: optionalText,
  url_host_tld: optionalText,
  url_host_2nd_last_part: optionalText,
  url_host_3rd_last_part: optionalText,
  url_host_4th_last_part: optionalText,
  url_host_5th_last_part: optionalText,
  url_host_registry_suffix: optionalText,
  url_host_registered_domain: optionalText,
  url_host_private_suffix: optionalText,
  url_host_private_domain: optionalText,
  url_host_name_reversed: optionalText,
  url_protocol: optionalText,
  url_port: fc.option(fc.integer(), { nil: null, freq: 3 }),
  url_path: optionalText,
  url_query: optionalText,
  // TIMESTAMP_MILLIS from 1970 to the end of year 9999; parquetjs refuses instants before 1970.
  fetch_time: fc.option(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), { nil: null, freq: 5 }),
  fetch_status: fc.option(fc.integer({ min: -32768, max: 32767 }), { nil: null, freq: 5 }),
  fetch_redirect: optionalText,
  content_digest: optionalText,
  content_mime_type: optionalText,
  content_mime_detected: optionalText,
  content_charset: optionalText,
  content_languages: optionalText,
  content_truncated: optionalText,
  warc_filename: text,
  warc_record_offset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  warc_record_length: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  warc_segment: optionalText,
  crawl: optionalText,
  subset: optionalText,
});

/** The content schema's columns; payloads up to `payloadBytesMax` bytes, empty ones included (revisits). */
function contentColumnsArbitrary(payloadBytesMax: number): fc.Arbitrary<ContentColumns> {
  return fc.record({
    warc_record_id: optionalText,
    content: fc.uint8Array({ maxLength: payloadBytesMax }),
    content_length: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: null, freq: 5 }),
    content_encoding_error: optionalText,
    http_headers: optionalText,
    warc_refers_to: optionalText,
  });
}

/** Rows of `schema`: index rows, or index rows with content columns. */
export function exportRowArbitrary(schema: OutputSchema, payloadBytesMax = 300): fc.Arbitrary<ExportRow> {
  if (schema === 'index') return captureRowArbitrary;
  return fc
    .tuple(captureRowArbitrary, contentColumnsArbitrary(payloadBytesMax))
    .map(([index, content]) => ({ ...index, ...content }));
}
