// The writer's and the schema's modules, not the package's index: the index also loads its reader,
// and with it the AWS SDK's S3 client, which costs each thread that encodes about 110 ms of CPU
// at start (require of the index 200-225 ms, of these two 89-106 ms, five runs each).
import { ParquetEnvelopeWriter } from '@dsnp/parquetjs/dist/lib/writer.js';
import { ParquetSchema } from '@dsnp/parquetjs/dist/lib/schema.js';
import type { FieldDefinition, WriterOptions } from '@dsnp/parquetjs';
import type { RowGroupExt } from '@dsnp/parquetjs/dist/lib/declare.js';
import { type ExportColumn, type ExportRow, type OutputSchema, schemaColumns } from '../../core/capture-row.ts';
import { at } from '../../core/checked-access.ts';
import { contentRowGroupBytes } from '../../core/limits.ts';
import type { DetachedRowGroups, Encoder, JobEncoder } from '../../core/encoder.ts';
import { assert } from '../../core/failure.ts';
import { ByteCollector, joined } from './byte-collector.ts';
import { detachedFooter, detachedRowGroups, parquetHead } from './detached-row-groups.ts';
import { type FlatColumn, flatColumns } from './flat-columns.ts';
import { fileFooter } from './file-footer.ts';
import { encodeFlatRowGroup } from './flat-row-group.ts';
import type { PageCompression } from './page-compression.ts';

/** The compressions this encoder offers (`--compression`; see parquetCompressionDefault for their costs). */
export type ParquetEncoderCompression = PageCompression;

export interface ParquetEncoderOptions {
  readonly compression?: ParquetEncoderCompression;
  /** The columns written; `index` by default. */
  readonly schema?: OutputSchema;
  /** Payload bytes of one row group; `contentRowGroupBytes` by default (tests make it small). */
  readonly rowGroupPayloadBytes?: number;
}

/**
 * GZIP. Measured with test/bench/encode.ts: 1,000,000 index-like rows in row groups of 20,000,
 * every compression encoding each row group in turn, Node 20, a shared 2-core machine under
 * a load of 5 (so rows/s are low and moved by a third between runs; the ratios held):
 *
 *   compression    rows/s      bytes/row   vs JSON.stringify (speed)
 *   UNCOMPRESSED   33-36 k     575         0.29
 *   SNAPPY         27-34 k     216         0.24-0.28   (then parquetjs's pages and snappyjs)
 *   GZIP           22-25 k     121         0.20        (node's native zlib, level 6)
 *
 * For one CommonCrawl WARC file (~40 k rows) GZIP spends about 0.4 s more CPU than SNAPPY and
 * writes 4.8 MB instead of 8.6 MB; over a 90,000-file crawl that is ~10 CPU-hours against
 * ~340 GB less to upload, to store every month and, with Athena, to scan and pay for on every
 * query. Every reader we target (Spark, Trino/Athena, DuckDB, pyarrow) reads GZIP. No ZSTD here
 * (node 20's zlib has none), which would be the better trade-off; BROTLI runs at zlib's slowest
 * quality (11). Those rates were parquetjs's page writer's; the pages are now this project's and
 * SNAPPY native (page-compression.ts): on content rows SNAPPY's encode costs 0.29 times GZIP's
 * CPU for 1.56 times its bytes (docs/figures.md, "Content export").
 */
export const parquetCompressionDefault: ParquetEncoderCompression = 'GZIP';

/**
 * One data page per column chunk, as flat-row-group.ts writes them; with this page size
 * parquetjs's own writer (the tests' reference) does the same, closing pages only where row
 * groups end. At the worker's 20,000 rows a row group, the largest page (the url column) holds
 * about 1.2 MB before compression, near the 1 MB pages parquet-mr and Arrow write; without a
 * page index (below) readers cannot skip single pages anyway.
 */
const pageRowsMax = Number.MAX_SAFE_INTEGER;

const optionalString: FieldDefinition = { type: 'UTF8', optional: true };
/** No min/max statistics: they would copy a payload or a header object into the footer, and no reader skips on them. */
const optionalBulkString: FieldDefinition = { type: 'UTF8', optional: true, statistics: false };
const requiredString: FieldDefinition = { type: 'UTF8', optional: false };

/**
 * Column types of the output schema (docs/architecture.md). `fetch_status` is INT32 with the INT_16 converted
 * type because Parquet has no 16-bit physical type; readers (DuckDB included) read it as SMALLINT.
 * `fetch_time` is INT64 with TIMESTAMP_MILLIS, which the Parquet spec defines as UTC. Both are
 * optional: real captures can lack them (a WARC-Date that cannot be read; a revisit written
 * without HTTP headers), and such a capture is kept with a null rather than lost.
 */
const columnTypes: Record<ExportColumn, FieldDefinition> = {
  url_surtkey: requiredString,
  url: requiredString,
  url_host_name: optionalString,
  url_host_tld: optionalString,
  url_host_2nd_last_part: optionalString,
  url_host_3rd_last_part: optionalString,
  url_host_4th_last_part: optionalString,
  url_host_5th_last_part: optionalString,
  url_host_registry_suffix: optionalString,
  url_host_registered_domain: optionalString,
  url_host_private_suffix: optionalString,
  url_host_private_domain: optionalString,
  url_host_name_reversed: optionalString,
  url_protocol: optionalString,
  url_port: { type: 'INT32', optional: true },
  url_path: optionalString,
  url_query: optionalString,
  fetch_time: { type: 'TIMESTAMP_MILLIS', optional: true },
  fetch_status: { type: 'INT_16', optional: true },
  fetch_redirect: optionalString,
  content_digest: optionalString,
  content_mime_type: optionalString,
  content_mime_detected: optionalString,
  content_charset: optionalString,
  content_languages: optionalString,
  content_truncated: optionalString,
  warc_filename: requiredString,
  warc_record_offset: { type: 'INT64', optional: false },
  warc_record_length: { type: 'INT64', optional: false },
  warc_segment: optionalString,
  crawl: optionalString,
  subset: optionalString,
  // The content schema's columns (core/capture-row.ts). `content` is BYTE_ARRAY with no
  // UTF8 annotation: a payload is bytes in whatever charset the page used, or none.
  warc_record_id: optionalString,
  content: { type: 'BYTE_ARRAY', optional: false, statistics: false },
  content_length: { type: 'INT64', optional: true },
  content_encoding_error: optionalString,
  http_headers: optionalBulkString,
  warc_refers_to: optionalString,
};

/** The Parquet schema of the output, columns in `schemaColumns` order. */
export function captureSchema(compression: ParquetEncoderCompression, schema: OutputSchema = 'index'): ParquetSchema {
  const fields: Record<string, FieldDefinition> = {};
  for (const column of schemaColumns(schema)) {
    fields[column] = { ...columnTypes[column], compression };
  }
  return new ParquetSchema(fields);
}

/**
 * Writer options, with the reasons for leaving parquetjs's defaults:
 * - `pageIndex: false`: with one page per column chunk a page index lets a reader skip nothing
 *   the row group statistics do not, and parquetjs 1.8.8 fills its `null_pages` from a null
 *   count it accumulates over the column chunk instead of per page (wrong from the second page
 *   on, which could make a reader skip pages that hold values).
 * - `useDataPageV2: false`: version 1 data pages are what every Parquet reader reads (Spark,
 *   Trino/Athena, DuckDB, pyarrow, older Hive); version 2 is still patchy in some of them.
 */
export function parquetWriterOptions(): WriterOptions {
  return { pageIndex: false, useDataPageV2: false, pageSize: pageRowsMax };
}

type EncoderState = 'open' | 'finished' | 'broken';

/**
 * One job's Parquet file. Row groups are encoded by `encodeFlatRowGroup` (flat-row-group.ts),
 * one for each call (or more, when payloads pass the row group's bound: the caller, not a row
 * count, decides where row groups end); parquetjs's envelope writer writes the magic and keeps
 * the offsets and the metadata of written row groups, from which `fileFooter` writes the
 * footer. Between calls the encoder holds no rows.
 */
class ParquetJobEncoder implements JobEncoder {
  private readonly collector = new ByteCollector();
  private readonly columns: readonly FlatColumn[];
  private envelope: ParquetEnvelopeWriter | undefined;
  private state: EncoderState = 'open';

  constructor(
    private readonly schema: ParquetSchema,
    private readonly compression: ParquetEncoderCompression,
    private readonly payloadBytesMax: number,
  ) {
    this.columns = flatColumns(schema);
  }

  /**
   * Encodes the rows as one row group, or as several when their payloads pass
   * `payloadBytesMax` (content rows only: index rows carry none).
   */
  async writeRowGroup(rows: readonly ExportRow[]): Promise<readonly Uint8Array[]> {
    const envelope = await this.openedEnvelope();
    // A zero-row row group is legal Parquet but useless; writing nothing keeps the file clean.
    if (rows.length === 0) return this.collector.take();
    for (const group of rowGroupsByPayload(rows, this.payloadBytesMax)) {
      this.guarded(() => this.appendRowGroup(envelope, group));
    }
    return this.collector.take();
  }

  /**
   * Encodes the rows as row groups standing alone (detached-row-groups.ts): the file's magic is
   * dropped (`Encoder.head` gives it) and the writer's offsets restart at 0, so the row groups
   * count from their own first byte. The encoder is finished afterwards: it wrote no footer.
   */
  async writeDetached(rows: readonly ExportRow[]): Promise<DetachedRowGroups> {
    const envelope = await this.openedEnvelope();
    assert(envelope.rowGroups.length === 0, 'parquet encoder: detached rows on a used encoder');
    const head = this.collector.takeJoined();
    assert(
      Buffer.compare(head, parquetHead) === 0,
      'parquet encoder: parquetjs began a file with other bytes than PAR1',
    );
    envelope.offset.setValue(0);
    // Detached row groups cross threads as one buffer with their footer entries (split decoding).
    const bytes = joined(await this.writeRowGroup(rows));
    this.state = 'finished';
    return detachedRowGroups(bytes, envelope.rowGroups);
  }

  async finish(): Promise<readonly Uint8Array[]> {
    const envelope = await this.openedEnvelope();
    // The collector's stream writes and ends synchronously, so nothing here is left to await.
    this.guarded(() => {
      envelope.writeSection(fileFooter(this.schema, envelope.rowGroups, envelope.rowCount.valueOf()));
      envelope.close();
    });
    this.state = 'finished';
    return this.collector.take();
  }

  private appendRowGroup(envelope: ParquetEnvelopeWriter, rows: readonly ExportRow[]): void {
    const encoded = encodeFlatRowGroup(this.columns, rows, this.compression, envelope.offset.valueOf());
    for (const piece of encoded.pieces) envelope.writeSection(piece);
    envelope.rowGroups.push(encoded.metadata as RowGroupExt);
    envelope.rowCount.setValue(envelope.rowCount.valueOf() + rows.length);
  }

  /** The envelope is made on first use because `open()` is synchronous and parquetjs's factory is not. */
  private async openedEnvelope(): Promise<ParquetEnvelopeWriter> {
    if (this.state !== 'open')
      throw new Error(`parquet encoder: used after it was ${this.state} (a bug in the caller)`);
    if (this.envelope === undefined) {
      this.envelope = await ParquetEnvelopeWriter.openStream(
        this.schema,
        this.collector.stream as never,
        parquetWriterOptions(),
      );
      this.envelope.writeHeader();
    }
    return this.envelope;
  }

  /**
   * A row group that fails (a value outside its column type: a bug upstream) writes nothing, but
   * its rows are lost to the file; refuse further use rather than commit a file without them.
   */
  private guarded(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.state = 'broken';
      throw error;
    }
  }
}

/**
 * Consecutive runs of rows whose payloads add up to at most `payloadBytesMax`; a row whose
 * payload alone passes it is a row group of its own. Rows without payload make one run.
 */
export function rowGroupsByPayload(rows: readonly ExportRow[], payloadBytesMax: number): (readonly ExportRow[])[] {
  const groups: (readonly ExportRow[])[] = [];
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < rows.length; index += 1) {
    const payload = at(rows, index).content?.byteLength ?? 0;
    if (index > start && bytes + payload > payloadBytesMax) {
      groups.push(rows.slice(start, index));
      start = index;
      bytes = 0;
    }
    bytes += payload;
  }
  groups.push(start === 0 ? rows : rows.slice(start));
  return groups;
}

/** The `Encoder` port over @dsnp/parquetjs. */
export function createParquetEncoder(options: ParquetEncoderOptions = {}): Encoder {
  const compression = options.compression ?? parquetCompressionDefault;
  const schema = captureSchema(compression, options.schema ?? 'index');
  const payloadBytesMax = options.rowGroupPayloadBytes ?? contentRowGroupBytes;
  return {
    extension: '.parquet',
    open: () => new ParquetJobEncoder(schema, compression, payloadBytesMax),
    encodeDetached: (rows) => new ParquetJobEncoder(schema, compression, payloadBytesMax).writeDetached(rows),
    head: parquetHead,
    footer: (groups) => detachedFooter(schema, groups),
  };
}
