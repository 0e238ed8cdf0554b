import type { CaptureRow, ContentRow } from '../../core/capture-row.ts';
import type { RecordWarningCode } from '../../core/record-reasons.ts';
import type { DerivedContent } from './derived-records.ts';
import { httpHeadersJson } from './http-headers.ts';
import { decodePayload, type PayloadBounds } from './payload-decoding.ts';
import type { ParsedRecord } from './warc-record-parser.ts';

const noBytes = new Uint8Array(0);
const noWarnings: readonly RecordWarningCode[] = [];

/**
 * Adds the content schema's columns to a capture's index row, after the row is built (and,
 * where a filter runs, kept): only then is the payload decoded, so a dropped capture costs
 * header parsing alone. The row object is extended in place, its index columns untouched but
 * `content_truncated`, which also says `length` when the payload was cut.
 */
export function addContentColumns(
  row: CaptureRow,
  record: ParsedRecord,
  bounds: PayloadBounds,
): { readonly row: ContentRow; readonly warnings: readonly RecordWarningCode[] } {
  const content = row as ContentRow;
  content.warc_record_id = record.warc.get('warc-record-id');
  content.warc_refers_to = record.warc.get('warc-refers-to');
  content.http_headers = record.http === null || record.type === 'resource' ? null : httpHeadersJson(record.http);
  if (record.payload === null || record.type === 'revisit') {
    // A revisit's payload is the one of the record it refers to; this record holds none.
    content.content = noBytes;
    content.content_length = null;
    content.content_encoding_error = null;
    return { row: content, warnings: noWarnings };
  }
  const truncatedBefore = row.content_truncated;
  const decoded = decodePayload(
    record.payload,
    record.type === 'resource' ? null : record.http,
    truncatedBefore !== null,
    bounds,
  );
  content.content = decoded.content;
  content.content_length = decoded.contentLength;
  content.content_encoding_error = decoded.encodingError;
  // The crawler's own reason stands; a cut of ours is CommonCrawl's `length`.
  if (truncatedBefore === null && decoded.cut) content.content_truncated = 'length';
  return { row: content, warnings: decoded.warnings };
}

/**
 * The content columns of a WET or WAT row: its text or envelope is the content, with no HTTP
 * headers and nothing to decode. A block the parser kept only in part (`content_truncated`
 * already `length`) has no known length; one longer than `--content-max-kb` is cut as a
 * payload is.
 */
export function addDerivedContentColumns(
  row: CaptureRow,
  derived: DerivedContent,
  bounds: PayloadBounds,
): {
  readonly row: ContentRow;
  readonly warnings: readonly RecordWarningCode[];
} {
  const content = row as ContentRow;
  const bytes = derived.content;
  const keptWhole = row.content_truncated === null;
  content.warc_record_id = derived.warcRecordId;
  content.warc_refers_to = derived.warcRefersTo;
  content.http_headers = null;
  content.content_length = keptWhole ? bytes.length : null;
  content.content_encoding_error = null;
  if (bytes.length > bounds.contentBytesMax) {
    content.content = bytes.subarray(0, bounds.contentBytesMax);
    content.content_truncated = 'length';
  } else content.content = bytes;
  return { row: content, warnings: noWarnings };
}
