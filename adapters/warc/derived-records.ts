/**
 * Rows of CommonCrawl's derived files: WET (`*.warc.wet.gz`, the text of each HTML page, one
 * `conversion` record a page) and WAT (`*.warc.wat.gz`, one `metadata` record holding a JSON
 * envelope for each record of the WARC file). Each row has the index columns, as far as the
 * record tells them, and a `DerivedContent` the content schema places in its own columns.
 *
 * Field paths in the WAT envelope are those of CommonCrawl's ia-web-commons writer and of
 * cc-pyspark's readers: `Envelope.WARC-Header-Metadata` holds the described record's WARC
 * header (`WARC-Type`, `WARC-Target-URI`, `WARC-Date`), and for a response
 * `Envelope.Payload-Metadata.HTTP-Response-Metadata.Response-Message.Status` its HTTP status.
 */
import type { CaptureRow } from '../../core/capture-row.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { BadRecordCode, RecordWarningCode, SkippedRecordCode } from '../../core/record-reasons.ts';
import { captureTime, digest, languageCodes, targetUri, unbracketedUri } from './capture-row-builder.ts';
import { readUrl } from './url-columns.ts';
import type { KeepsBlock, ParsedRecord } from './warc-record-parser.ts';

/** Which of CommonCrawl's derived formats an input holds, if any. */
export type DerivedFormat = 'wet' | 'wat';

/** What a derived row carries besides the index columns: the content schema's columns. */
export interface DerivedContent {
  /** WET: the page's text, UTF-8 as stored; WAT: the JSON envelope as stored. */
  readonly content: Uint8Array;
  /** `WARC-Refers-To`: the WARC record the text or envelope was made from. */
  readonly warcRefersTo: string | null;
  readonly warcRecordId: string | null;
}

export type DerivedRowResult =
  | {
      readonly kind: 'row';
      readonly row: CaptureRow;
      readonly content: DerivedContent;
      readonly warnings: readonly RecordWarningCode[];
    }
  | { readonly kind: 'bad'; readonly reason: BadRecordCode }
  | { readonly kind: 'skipped'; readonly reason: SkippedRecordCode };

/** The record type that makes a row in each format. */
export const derivedRowType: Readonly<Record<DerivedFormat, string>> = { wet: 'conversion', wat: 'metadata' };

const derivedNamePattern = /\.warc\.(wet|wat)(?:\.gz)?$/i;

/**
 * The derived format of an input: CommonCrawl's `wet/` or `wat/` subset, or a name ending in
 * `.warc.wet[.gz]` or `.warc.wat[.gz]`. Told by name, not by content, because a WARC file may
 * hold `metadata` and `conversion` records of its own, which are not rows there.
 */
export function derivedFormatOf(input: InputRef): DerivedFormat | null {
  if (input.subset === 'wet' || input.subset === 'wat') return input.subset;
  const match = derivedNamePattern.exec(input.filename) ?? derivedNamePattern.exec(input.uri);
  const format = match?.[1]?.toLowerCase();
  return format === 'wet' || format === 'wat' ? format : null;
}

/** The parser keeps only the blocks that become a row's content. */
export function keepsDerivedBlock(format: DerivedFormat): KeepsBlock {
  const rowType = derivedRowType[format];
  return (type) => type === rowType;
}

/** The row of a WET `conversion` or WAT `metadata` record. */
export function buildDerivedRow(format: DerivedFormat, record: ParsedRecord, input: InputRef): DerivedRowResult {
  return format === 'wet' ? buildWetRow(record, input) : buildWatRow(record, input);
}

/**
 * A WET text: the URL and date of the page it was extracted from (the conversion record
 * repeats them), no HTTP status (the text is no HTTP exchange), the languages CommonCrawl
 * identified, and `content_digest` the digest of the text itself, the row's content.
 */
function buildWetRow(record: ParsedRecord, input: InputRef): DerivedRowResult {
  const url = targetUri(record);
  if (url === null) return { kind: 'bad', reason: 'missing_warc_target_uri' };
  const fetchTime = captureTime(record.warc.get('warc-date'));
  const block = record.block;
  const content = block?.bytes ?? new Uint8Array(0);
  const cut = block?.cut === true;
  return row(
    url,
    {
      fetchTime,
      status: null,
      digest: digest(record.warc.get('warc-payload-digest')),
      mimeType: 'text/plain',
      languages: languageList(record.warc.get('warc-identified-content-language')),
      truncated: cut ? 'length' : record.warc.get('warc-truncated'),
    },
    record,
    input,
    contentOf(record, content),
  );
}

/**
 * A WAT envelope: the URL, date and status of the record it describes, read from the JSON.
 * An envelope that is no JSON, or describes a record with no URL, is bad; one that describes
 * the WARC file's `warcinfo` (the first of every WAT file) is no capture and is skipped.
 */
function buildWatRow(record: ParsedRecord, input: InputRef): DerivedRowResult {
  const block = record.block;
  if (block === undefined || block.cut) return { kind: 'bad', reason: 'wat_envelope_too_long' };
  const envelope = parseEnvelope(block.bytes);
  if (envelope === null) return { kind: 'bad', reason: 'wat_envelope_not_json' };
  const header = field(envelope, 'WARC-Header-Metadata');
  const url = unbracketedUri(text(header, 'WARC-Target-URI'));
  if (url === null) {
    if (text(header, 'WARC-Type') === 'warcinfo') return { kind: 'skipped', reason: 'describes_warcinfo' };
    return { kind: 'bad', reason: 'wat_envelope_without_url' };
  }
  return row(
    url,
    {
      fetchTime: captureTime(text(header, 'WARC-Date')),
      status: responseStatus(envelope),
      digest: digest(record.warc.get('warc-payload-digest')),
      mimeType: 'application/json',
      languages: null,
      truncated: null,
    },
    record,
    input,
    contentOf(record, block.bytes),
  );
}

interface DerivedColumns {
  readonly fetchTime: number | null;
  readonly status: number | null;
  readonly digest: string | null;
  readonly mimeType: string;
  readonly languages: string | null;
  readonly truncated: string | null;
}

const noWarnings: readonly RecordWarningCode[] = [];

function row(
  url: string,
  columns: DerivedColumns,
  record: ParsedRecord,
  input: InputRef,
  content: DerivedContent,
): DerivedRowResult {
  const { columns: urlColumns, readable } = readUrl(url);
  const warnings: RecordWarningCode[] = [];
  if (columns.fetchTime === null) warnings.push('unreadable_warc_date');
  if (!readable) warnings.push('unparseable_warc_target_uri');
  return {
    kind: 'row',
    warnings: warnings.length === 0 ? noWarnings : warnings,
    content,
    row: {
      url_surtkey: urlColumns.url_surtkey,
      url,
      url_host_name: urlColumns.url_host_name,
      url_host_tld: urlColumns.url_host_tld,
      url_host_2nd_last_part: urlColumns.url_host_2nd_last_part,
      url_host_3rd_last_part: urlColumns.url_host_3rd_last_part,
      url_host_4th_last_part: urlColumns.url_host_4th_last_part,
      url_host_5th_last_part: urlColumns.url_host_5th_last_part,
      url_host_registry_suffix: urlColumns.url_host_registry_suffix,
      url_host_registered_domain: urlColumns.url_host_registered_domain,
      url_host_private_suffix: urlColumns.url_host_private_suffix,
      url_host_private_domain: urlColumns.url_host_private_domain,
      url_host_name_reversed: urlColumns.url_host_name_reversed,
      url_protocol: urlColumns.url_protocol,
      url_port: urlColumns.url_port,
      url_path: urlColumns.url_path,
      url_query: urlColumns.url_query,
      fetch_time: columns.fetchTime,
      fetch_status: columns.status,
      fetch_redirect: null,
      content_digest: columns.digest,
      content_mime_type: columns.mimeType,
      content_mime_detected: null,
      content_charset: null,
      content_languages: columns.languages,
      content_truncated: columns.truncated,
      warc_filename: input.filename,
      warc_record_offset: record.offset,
      warc_record_length: record.length,
      warc_segment: input.segment,
      crawl: input.crawl,
      subset: input.subset,
    },
  };
}

function contentOf(record: ParsedRecord, content: Uint8Array): DerivedContent {
  return {
    content,
    warcRefersTo: record.warc.get('warc-refers-to'),
    warcRecordId: record.warc.get('warc-record-id'),
  };
}

/**
 * `WARC-Identified-Content-Language`: ISO-639-3 codes, comma-separated, most of the text
 * first (`eng,fra`), as the index's `content_languages` writes them.
 */
function languageList(value: string | null): string | null {
  if (value === null) return null;
  return languageCodes(value.split(','));
}

type Json = Readonly<Record<string, unknown>>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The envelope object of a WAT record, or null when the block is no JSON object with one. */
function parseEnvelope(bytes: Uint8Array): Json | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    // Bytes that are no UTF-8 (TypeError from the fatal decoder) or no JSON (SyntaxError) are
    // the record's damage; anything else is a bug here.
    if (error instanceof SyntaxError || error instanceof TypeError) return null;
    throw error;
  }
  const envelope = field(isObject(parsed) ? parsed : null, 'Envelope');
  return envelope;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(object: Json | null, name: string): Json | null {
  const value = object?.[name];
  return isObject(value) ? value : null;
}

function text(object: Json | null, name: string): string | null {
  const value = object?.[name];
  return typeof value === 'string' ? value : null;
}

/** The HTTP status of a described response, a three-digit string in the envelope. */
function responseStatus(envelope: Json): number | null {
  const message = field(field(field(envelope, 'Payload-Metadata'), 'HTTP-Response-Metadata'), 'Response-Message');
  const status = text(message, 'Status') ?? numberText(message?.['Status']);
  return status !== null && /^\d{3}$/.test(status) ? Number(status) : null;
}

function numberText(value: unknown): string | null {
  return typeof value === 'number' && Number.isInteger(value) ? String(value) : null;
}
