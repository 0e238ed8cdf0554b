/**
 * WARC files made to fool a decoder that enters a `.warc.gz` mid-file (split decoding): records
 * of every type whose payloads hold gzip magic bytes, whole `.warc.gz` records stored verbatim,
 * and plausible member trailers (an ISIZE equal to the record's own length, as the head-only
 * reader looks for, right before a stored record); members with FEXTRA, FNAME, FCOMMENT and
 * FHCRC fields, stored or deflated; empty members between records; several records in one
 * member; a whole-stream gzip; and plain `.warc`; some cut short or with a byte flipped. As
 * fast-check arbitraries, so a failure shrinks.
 */
import zlib from 'node:zlib';
import fc from 'fast-check';

export const recordTypes = [
  'warcinfo',
  'request',
  'response',
  'metadata',
  'revisit',
  'resource',
  'conversion',
] as const;
export type RecordType = (typeof recordTypes)[number];

export type PayloadPart =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /** Gzip's magic and a flag byte, with nothing valid after them. */
  | { readonly kind: 'magic'; readonly flags: number }
  /** A whole `.warc.gz` record stored in the payload, its member's bytes verbatim when the record is stored. */
  | { readonly kind: 'stored record'; readonly type: RecordType; readonly deflated: boolean }
  /** A CRC and an ISIZE equal to this record's length, then a stored record: a member end to the head-only reader. */
  | { readonly kind: 'plausible trailer'; readonly type: RecordType }
  /** A run of one byte: a record longer than a chunk. */
  | { readonly kind: 'run'; readonly bytes: number };

export interface AdversarialRecord {
  readonly type: RecordType;
  readonly uri: number;
  readonly payload: readonly PayloadPart[];
}

export interface MemberStyle {
  readonly extra: boolean;
  readonly name: boolean;
  readonly comment: boolean;
  readonly headerCrc: boolean;
  /** 0 stores the record, its payload's bytes verbatim in the file. */
  readonly level: 0 | 1 | 6;
  /** An empty member written before this one. */
  readonly emptyBefore: boolean;
  /** This record shares the member of the record before it. */
  readonly joinsPrevious: boolean;
}

export type Layout =
  | { readonly kind: 'members'; readonly styles: readonly MemberStyle[] }
  | { readonly kind: 'whole stream' }
  | { readonly kind: 'plain' };

export interface AdversarialFile {
  readonly records: readonly AdversarialRecord[];
  readonly layout: Layout;
  /** The name's kind: the decoder reads WET and WAT records as rows of their own. */
  readonly naming: 'warc' | 'wet' | 'wat';
  /** Damage: the file cut at this share of its bytes, in thousandths; or a byte flipped there. Null: intact. */
  readonly damage: { readonly kind: 'cut' | 'flip'; readonly perMille: number } | null;
}

const uris = ['https://a.example/', 'https://a.example/x?q=1', 'http://b.example:8080/p', 'https://c.example/z'];

function header(type: RecordType, uri: number, serial: number, blockBytes: number): string {
  const target = uris[uri % uris.length] ?? 'https://a.example/';
  const contentType = {
    warcinfo: 'application/warc-fields',
    request: 'application/http; msgtype=request',
    response: 'application/http; msgtype=response',
    metadata: 'application/warc-fields',
    revisit: 'application/http; msgtype=response',
    resource: 'text/plain',
    conversion: 'text/plain',
  }[type];
  const lines = [
    'WARC/1.0',
    `WARC-Type: ${type}`,
    'WARC-Date: 2024-05-18T01:02:03Z',
    `WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-${String(serial).padStart(12, '0')}>`,
    ...(type === 'warcinfo' ? [] : [`WARC-Target-URI: ${target}`]),
    ...(type === 'revisit' ? ['WARC-Profile: http://netpreserve.org/warc/1.0/revisit/identical-payload-digest'] : []),
    `Content-Type: ${contentType}`,
    `Content-Length: ${blockBytes}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The start of a record's block: what its type holds before the payload. */
function blockHead(type: RecordType, uri: number): string {
  if (type === 'request') return `GET /${uri} HTTP/1.1\r\nHost: a.example\r\n\r\n`;
  if (type === 'response') return 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n';
  if (type === 'revisit') return 'HTTP/1.1 304 Not Modified\r\n\r\n';
  if (type === 'metadata') return 'fetchTimeMs: 120\r\ncharset-detected: UTF-8\r\nlanguages-cld2: {"languages":[]}\r\n';
  if (type === 'warcinfo') return 'software: adversarial\r\nformat: WARC File Format 1.0\r\n';
  return '';
}

function recordText(type: RecordType, uri: number, serial: number, payload: Buffer): Buffer {
  const block = Buffer.concat([Buffer.from(blockHead(type, uri), 'latin1'), payload]);
  return Buffer.concat([
    Buffer.from(header(type, uri, serial, block.length), 'latin1'),
    block,
    Buffer.from('\r\n\r\n'),
  ]);
}

function storedRecord(type: RecordType, serial: number, deflated: boolean): Buffer {
  const inner = recordText(type, 1, serial, Buffer.from('inner payload'));
  return zlib.gzipSync(inner, { level: deflated ? 6 : 0 });
}

/** Where the ISIZE of a plausible trailer goes, to be filled once the record's length is known. */
const isizePlaceholder = 0xfeedface;

function payloadBytes(parts: readonly PayloadPart[], serial: number): Buffer {
  return Buffer.concat(
    parts.map((part, at) => {
      if (part.kind === 'bytes') return Buffer.from(part.bytes);
      if (part.kind === 'magic') return Buffer.from([0x1f, 0x8b, 0x08, part.flags]);
      if (part.kind === 'run') return Buffer.alloc(part.bytes, 0x61);
      const stored = storedRecord(part.type, serial * 16 + at, part.kind === 'stored record' && part.deflated);
      if (part.kind === 'stored record') return stored;
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(0x12345678, 0);
      trailer.writeUInt32LE(isizePlaceholder, 4);
      return Buffer.concat([trailer, stored]);
    }),
  );
}

/** The record's bytes, each plausible trailer's ISIZE set to the record's length. */
export function recordBytes(record: AdversarialRecord, serial: number): Buffer {
  const bytes = recordText(record.type, record.uri, serial, payloadBytes(record.payload, serial));
  const placeholder = Buffer.alloc(4);
  placeholder.writeUInt32LE(isizePlaceholder, 0);
  // Bounded by the record's length: each turn moves past one placeholder.
  for (let at = bytes.indexOf(placeholder); at !== -1; at = bytes.indexOf(placeholder, at + 4))
    bytes.writeUInt32LE(bytes.length, at);
  return bytes;
}

/** A gzip member with the style's optional header fields (RFC 1952, 2.3). */
export function member(data: Buffer, style: MemberStyle): Buffer {
  const flags = (style.headerCrc ? 2 : 0) | (style.extra ? 4 : 0) | (style.name ? 8 : 0) | (style.comment ? 16 : 0);
  const fixed = Buffer.from([0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 0xff]);
  const extra = style.extra ? Buffer.from([6, 0, 0x53, 0x4c, 2, 0, 0x1f, 0x8b]) : Buffer.alloc(0);
  const name = style.name ? Buffer.from('record.warc\0', 'latin1') : Buffer.alloc(0);
  const comment = style.comment ? Buffer.from('WARC/1.0 in a comment\0', 'latin1') : Buffer.alloc(0);
  const head = Buffer.concat([fixed, extra, name, comment]);
  const headerCrc = Buffer.alloc(style.headerCrc ? 2 : 0);
  if (style.headerCrc) headerCrc.writeUInt16LE(zlib.crc32(head) & 0xffff, 0);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([head, headerCrc, zlib.deflateRawSync(data, { level: style.level }), trailer]);
}

const plainStyle: MemberStyle = {
  extra: false,
  name: false,
  comment: false,
  headerCrc: false,
  level: 6,
  emptyBefore: false,
  joinsPrevious: false,
};

/** The file's bytes as its layout writes them, then damaged. */
export function fileBytes(file: AdversarialFile): Buffer {
  const bytes = layoutBytes(file);
  if (file.damage === null) return bytes;
  const at = Math.floor((bytes.length * file.damage.perMille) / 1000);
  if (file.damage.kind === 'cut') return bytes.subarray(0, Math.max(1, at));
  const flipped = Buffer.from(bytes);
  flipped[at] = (flipped[at] ?? 0) ^ 0x20;
  return flipped;
}

function layoutBytes(file: AdversarialFile): Buffer {
  const records = file.records.map((record, serial) => recordBytes(record, serial));
  if (file.layout.kind === 'plain') return Buffer.concat(records);
  if (file.layout.kind === 'whole stream') return zlib.gzipSync(Buffer.concat(records));
  const styles = file.layout.styles;
  const members: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingStyle = plainStyle;
  records.forEach((record, at) => {
    const style = styles[at % Math.max(1, styles.length)] ?? plainStyle;
    if (pending.length > 0 && !style.joinsPrevious) {
      members.push(member(Buffer.concat(pending), pendingStyle));
      pending = [];
    }
    if (pending.length === 0) {
      if (style.emptyBefore) members.push(member(Buffer.alloc(0), style));
      pendingStyle = style;
    }
    pending.push(record);
  });
  if (pending.length > 0) members.push(member(Buffer.concat(pending), pendingStyle));
  return Buffer.concat(members);
}

export function fileName(file: AdversarialFile): string {
  const base = file.naming === 'warc' ? 'adversarial.warc' : `adversarial.warc.${file.naming}`;
  return file.layout.kind === 'plain' ? base : `${base}.gz`;
}

const payloadPart: fc.Arbitrary<PayloadPart> = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 31 }).map((flags) => ({ kind: 'magic' as const, flags })) },
  {
    weight: 9,
    arbitrary: fc
      .record({ type: fc.constantFrom(...recordTypes), deflated: fc.boolean() })
      .map((part) => ({ kind: 'stored record' as const, ...part })),
  },
  {
    weight: 6,
    arbitrary: fc.constantFrom(...recordTypes).map((type) => ({ kind: 'plausible trailer' as const, type })),
  },
  // Rare: one record longer than the chunks sends the rest of its file to one lane.
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 6_000 }).map((bytes) => ({ kind: 'run' as const, bytes })) },
);

const adversarialRecord: fc.Arbitrary<AdversarialRecord> = fc.record({
  type: fc.constantFrom(...recordTypes, 'response', 'metadata'),
  uri: fc.nat({ max: uris.length - 1 }),
  payload: fc.array(payloadPart, { maxLength: 4 }),
});

const memberStyle: fc.Arbitrary<MemberStyle> = fc.record({
  extra: fc.boolean(),
  name: fc.boolean(),
  comment: fc.boolean(),
  headerCrc: fc.boolean(),
  // Stored most often: only a stored member shows its payload's bytes to the boundary scan.
  level: fc.constantFrom(0, 0, 1, 6),
  // Rare: a file with an empty member between records is not one member a record, and falls back.
  emptyBefore: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  joinsPrevious: fc.oneof({ weight: 19, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const layout: fc.Arbitrary<Layout> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(memberStyle, { minLength: 1, maxLength: 6 })
      .map((styles) => ({ kind: 'members' as const, styles })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'whole stream' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'plain' as const }) },
);

export const adversarialFile: fc.Arbitrary<AdversarialFile> = fc.record({
  records: fc.array(adversarialRecord, { minLength: 1, maxLength: 40 }),
  layout,
  naming: fc.oneof(
    { weight: 8, arbitrary: fc.constant('warc' as const) },
    { weight: 1, arbitrary: fc.constant('wet' as const) },
    { weight: 1, arbitrary: fc.constant('wat' as const) },
  ),
  damage: fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constantFrom('cut' as const, 'flip' as const),
        perMille: fc.integer({ min: 0, max: 999 }),
      }),
    },
  ),
});
