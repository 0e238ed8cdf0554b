// Writes WET and WAT files as CommonCrawl lays them out (a warcinfo, then one gzip member a
// conversion or metadata record) with warcio's writer, not the project's: the decoder's tests
// then read records neither written nor parsed by the code they check. WAT envelopes follow the
// field paths of CommonCrawl's fixture (`Envelope.WARC-Header-Metadata`, `Payload-Metadata`).
import { WARCRecord, WARCSerializer } from 'warcio';

export interface DerivedRecord {
  readonly type: 'conversion' | 'metadata';
  /** The record's own WARC-Target-URI; none when undefined. */
  readonly url?: string;
  readonly date?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly block: Uint8Array | string;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function serialized(record: DerivedRecord): Promise<Uint8Array> {
  const block = typeof record.block === 'string' ? new TextEncoder().encode(record.block) : record.block;
  const created = WARCRecord.create(
    {
      type: record.type,
      date: record.date ?? '2024-05-18T01:58:10Z',
      warcVersion: 'WARC/1.0',
      ...(record.url === undefined ? {} : { url: record.url }),
      warcHeaders: {
        'Content-Type': record.type === 'conversion' ? 'text/plain' : 'application/json',
        ...record.headers,
      },
    },
    once(block),
  );
  return WARCSerializer.serialize(created, { gzip: true });
}

/** A gzip member a record, after a warcinfo, as CommonCrawl's WET and WAT files are. */
export async function derivedFile(records: readonly DerivedRecord[]): Promise<Buffer> {
  const info = WARCRecord.createWARCInfo(
    { filename: 'generated.warc.wet.gz', warcVersion: 'WARC/1.0' },
    { software: 'test' },
  );
  const members = [await WARCSerializer.serialize(info, { gzip: true })];
  for (const record of records) members.push(await serialized(record));
  return Buffer.concat(members);
}

/** A WAT envelope describing a record of the WARC file: its WARC header, and an HTTP status for a response. */
export function watEnvelope(header: Readonly<Record<string, string>>, status?: string): string {
  const payload =
    status === undefined
      ? { 'Actual-Content-Type': 'application/http; msgtype=request' }
      : {
          'Actual-Content-Type': 'application/http; msgtype=response',
          'HTTP-Response-Metadata': { 'Response-Message': { Version: 'HTTP/1.1', Status: status, Reason: 'OK' } },
        };
  return JSON.stringify({
    Container: { Filename: 'CC-MAIN-x.warc.gz', Compressed: true, Offset: '0' },
    Envelope: { Format: 'WARC/1.0', 'WARC-Header-Metadata': header, 'Payload-Metadata': payload },
  });
}
