import type { CaptureRow, ExportRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { BadRecordCode, RecordWarningCode, SkippedRecordCode } from '../../core/record-reasons.ts';
import { readUrl } from './url-columns.ts';
import { parseWarcDate } from './warc-date.ts';
import type { ParsedRecord } from './warc-record-parser.ts';

/**
 * A row (with what was odd about it, each counted); the reason a record that should have made one
 * cannot (damage); or the reason a record of a row type is not a capture of the web (skipped).
 */
export type RowResult =
  | { readonly kind: 'row'; readonly row: CaptureRow; readonly warnings: readonly RecordWarningCode[] }
  | { readonly kind: 'bad'; readonly reason: BadRecordCode }
  | { readonly kind: 'skipped'; readonly reason: SkippedRecordCode };

const noWarnings: readonly RecordWarningCode[] = [];

/** Record types that become rows, as in CommonCrawl's index. */
export const rowRecordTypes: ReadonlySet<string> = new Set(['response', 'revisit', 'resource']);

const statusPattern = /^HTTP\/\S+\s+(\d{3})(?:\s|$)/;

/**
 * Builds the row of a response, revisit or resource record, joined with the metadata record
 * that followed it (or null). Column meanings are cc-index-table's; see docs/architecture.md, "Output schema".
 */
export function buildCaptureRow(record: ParsedRecord, metadata: ParsedRecord | null, input: InputRef): RowResult {
  const url = targetUri(record);
  if (url === null) return { kind: 'bad', reason: 'missing_warc_target_uri' };
  const status = fetchStatus(record);
  if (status === null && record.type !== 'revisit') {
    if (notHttp(record, url)) return { kind: 'skipped', reason: 'not_http_capture' };
    return { kind: 'bad', reason: 'no_http_status_line' };
  }
  // A revisit without HTTP headers (pywb's and warcit's identical-payload revisits) is a row with no status.
  if (status === null && notHttpScheme(url)) return { kind: 'skipped', reason: 'not_http_capture' };
  const fetchTime = captureTime(record.warc.get('warc-date'));
  const { columns, readable } = readUrl(url);
  const { indexed } = input;
  // Every property written in schema order in one literal: rows share one hidden class, which
  // measured about 10% of decode time faster than spreading the URL columns in.
  return {
    kind: 'row',
    warnings: rowWarnings(fetchTime !== null, readable),
    row: {
      url_surtkey: columns.url_surtkey,
      url,
      url_host_name: columns.url_host_name,
      url_host_tld: columns.url_host_tld,
      url_host_2nd_last_part: columns.url_host_2nd_last_part,
      url_host_3rd_last_part: columns.url_host_3rd_last_part,
      url_host_4th_last_part: columns.url_host_4th_last_part,
      url_host_5th_last_part: columns.url_host_5th_last_part,
      url_host_registry_suffix: columns.url_host_registry_suffix,
      url_host_registered_domain: columns.url_host_registered_domain,
      url_host_private_suffix: columns.url_host_private_suffix,
      url_host_private_domain: columns.url_host_private_domain,
      url_host_name_reversed: columns.url_host_name_reversed,
      url_protocol: columns.url_protocol,
      url_port: columns.url_port,
      url_path: columns.url_path,
      url_query: columns.url_query,
      fetch_time: fetchTime,
      fetch_status: status,
      fetch_redirect: status === null ? null : redirect(record, status, url),
      // The record's own values first; a picked range's index row fills what it lacks.
      content_digest: digest(record.warc.get('warc-payload-digest')) ?? indexed?.content_digest ?? null,
      content_mime_type: status === null ? 'warc/revisit' : mimeType(record),
      content_mime_detected: record.warc.get('warc-identified-payload-type') ?? indexed?.content_mime_detected ?? null,
      content_charset: metadata?.metadata?.get('charset-detected') ?? indexed?.content_charset ?? null,
      content_languages:
        languages(metadata?.metadata?.get('languages-cld2') ?? null) ?? indexed?.content_languages ?? null,
      content_truncated: record.warc.get('warc-truncated'),
      warc_filename: input.filename,
      warc_record_offset: record.offset,
      warc_record_length: record.length,
      warc_segment: input.segment,
      crawl: input.crawl,
      subset: input.subset,
    },
  };
}

/** What was odd about a kept row; the common row, with nothing odd, shares one empty list. */
function rowWarnings(dateRead: boolean, urlRead: boolean): readonly RecordWarningCode[] {
  if (dateRead && urlRead) return noWarnings;
  if (dateRead) return ['unparseable_warc_target_uri'];
  return urlRead ? ['unreadable_warc_date'] : ['unreadable_warc_date', 'unparseable_warc_target_uri'];
}

/**
 * The WARC-Date as a capture time, or null when it cannot be read. An instant before 1970 is
 * no web capture, and Parquet's TIMESTAMP_MILLIS as written here holds none: it is null too.
 */
export function captureTime(value: string | null): number | null {
  const time = parseWarcDate(value);
  return time === null || time < 0 ? null : time;
}

/** WARC 1.0's grammar wraps the URI in angle brackets; some writers (and the 0.18 draft) do. */
export function targetUri(record: ParsedRecord): string | null {
  return unbracketedUri(record.warc.get('warc-target-uri'));
}

/** A URI without the angle brackets WARC 1.0's grammar puts around it; null when empty or absent. */
export function unbracketedUri(value: string | null): string | null {
  if (value === null || value.length === 0) return null;
  return value.startsWith('<') && value.endsWith('>') ? value.slice(1, -1) : value;
}

/**
 * Resource records carry no HTTP exchange: a stored resource is a capture that succeeded, so
 * it gets 200, the reading of CommonCrawl's index this project was given (warcio's CDX
 * indexer writes no status for them; CommonCrawl's own WARCs hold no resource records to
 * check against). Revisits carry the status line of the response they repeat, when the writer
 * kept it; one without (Content-Length 0, or no HTTP headers) has none, as in cdxj-indexer,
 * and its mime type is `warc/revisit`.
 */
function fetchStatus(record: ParsedRecord): number | null {
  if (record.type === 'resource') return 200;
  const match = record.httpStatusLine === null ? null : statusPattern.exec(record.httpStatusLine);
  return match === null ? null : Number(match[1]);
}

/**
 * A response or revisit with no HTTP status line that is not meant to hold HTTP: its target
 * is not an http(s) URI (Heritrix's `dns:` and `whois:` lookups), or its WARC Content-Type
 * names another block (`text/dns`). Such a record is skipped, not counted as damage.
 */
function notHttp(record: ParsedRecord, url: string): boolean {
  if (notHttpScheme(url)) return true;
  const type = record.warc.get('content-type');
  return type !== null && !type.trimStart().toLowerCase().startsWith('application/http');
}

function notHttpScheme(url: string): boolean {
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  return scheme !== 'http:' && scheme !== 'https:';
}

function redirect(record: ParsedRecord, status: number, url: string): string | null {
  if (status < 300 || status >= 400) return null;
  const location = record.http?.get('location') ?? null;
  if (location === null || location.length === 0) return null;
  try {
    return new URL(location, url).href;
  } catch (error) {
    // A Location that does not resolve is still what the server said.
    if ((error as { code?: unknown } | null)?.code === 'ERR_INVALID_URL') return location;
    throw error;
  }
}

/** A `WARC-Payload-Digest` as the index writes it: without its `sha1:`. */
export function digest(value: string | null): string | null {
  if (value === null) return null;
  return value.toLowerCase().startsWith('sha1:') ? value.slice(5) : value;
}

/** HTTP Content-Type for HTTP records; the WARC Content-Type for resource records. */
function mimeType(record: ParsedRecord): string | null {
  const value =
    record.type === 'resource' ? record.warc.get('content-type') : (record.http?.get('content-type') ?? null);
  if (value === null) return null;
  const parameters = value.indexOf(';');
  const bare = (parameters === -1 ? value : value.slice(0, parameters)).trim().toLowerCase();
  return bare.length === 0 ? null : bare;
}

/**
 * ISO-639-3 codes of `languages-cld2`, in its order, repeats left out: what CommonCrawl's
 * WARC-to-index code (ia-web-commons, WEATExtractor) writes as the identified languages.
 */
export function languages(value: string | null): string | null {
  if (value === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    // Metadata that is no JSON names no language; a bug here is not taken for that.
    if (error instanceof SyntaxError) return null;
    throw error;
  }
  const list = (parsed as { languages?: unknown } | null)?.languages;
  if (!Array.isArray(list)) return null;
  return languageCodes(list.map((entry) => (entry as Record<string, unknown> | null)?.['code-iso-639-3']));
}

/** At most this many languages are read: CLD2 names three, and a hostile list is cut here. */
const languagesMax = 16;

/** Language codes as `content_languages` writes them: in order, comma-joined, repeats and blanks left out. */
export function languageCodes(candidates: readonly unknown[]): string | null {
  const codes: string[] = [];
  for (const candidate of candidates.slice(0, languagesMax)) {
    const code = typeof candidate === 'string' ? candidate.trim() : null;
    if (code !== null && code.length > 0 && code !== 'null' && !codes.includes(code)) codes.push(code);
  }
  return codes.length === 0 ? null : codes.join(',');
}

/**
 * Whether a metadata record describes the record before it: the same target URI and, when
 * the metadata names one, the record it is concurrent to or refers to.
 */
export function metadataDescribes(metadata: ParsedRecord, record: ParsedRecord): boolean {
  if (targetUri(metadata) !== targetUri(record)) return false;
  const recordId = record.warc.get('warc-record-id');
  const link = metadata.warc.get('warc-concurrent-to') ?? metadata.warc.get('warc-refers-to');
  return link === null || recordId === null || link === recordId;
}

/**
 * Fixed cost of one row beyond its characters: the object (32 slots and its header) and a
 * header per string. Measured on CommonCrawl-like rows: 1,169 bytes of heap a row where 320
 * here estimated 861.
 */
const rowOverheadBytes = 640;

/**
 * Estimated in-memory size of a row, for the memory budget: V8 stores these strings mostly
 * as one byte a character, but two is the safe bound, plus the fixed per-row overhead and
 * the content schema's payload bytes.
 */
export function estimateRowBytes(row: ExportRow): number {
  let characters = 0;
  let bytes = 0;
  for (const value of Object.values(row)) {
    if (typeof value === 'string') characters += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
  }
  return characters * 2 + bytes + rowOverheadBytes;
}
