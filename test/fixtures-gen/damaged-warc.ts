// Writes the bad-input corpus for the worker's end-to-end test: the shared fixtures (broken
// and intact), and damage made from intact ones (truncation at and inside gzip members and
// plain records, seeded byte flips, wrong Content-Length values, files that are not WARC,
// empty files, a header line that never ends), each file described by what was done to it.
// Member and record boundaries come from warcio, not from the decoder under test.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import zlib from 'node:zlib';
import { WARCParser } from 'warcio';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';
import { writeCommonCrawlLikeWarc } from './commoncrawl-like-warc.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

const mebibyte = 1024 * 1024;
/** A gzip header with no optional fields (RFC 1952): magic, deflate, no flags, no time, OS unknown. */
const plainGzipHeader = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * A gzip member of `prefix` then `runMebibytes` MiB of one byte. Built from deflate blocks
 * that each end in a full flush, so one compressed MiB is reused for every MiB of the run: a
 * 2 GiB member (2 MB compressed) takes half a second, nearly all of it the CRC.
 */
export function oneByteRunMember(prefix: Buffer, runMebibytes: number, byte = 0x41): Buffer {
  const run = Buffer.alloc(mebibyte, byte);
  const fullFlush = { finishFlush: zlib.constants.Z_FULL_FLUSH };
  const runBlock = zlib.deflateRawSync(run, fullFlush);
  let checksum = zlib.crc32(prefix);
  for (let index = 0; index < runMebibytes; index++) checksum = zlib.crc32(run, checksum);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(checksum >>> 0, 0);
  trailer.writeUInt32LE((prefix.length + runMebibytes * mebibyte) % 2 ** 32, 4);
  const finalEmptyBlock = zlib.deflateRawSync(Buffer.alloc(0));
  return Buffer.concat([
    plainGzipHeader,
    zlib.deflateRawSync(prefix, fullFlush),
    ...new Array<Buffer>(runMebibytes).fill(runBlock),
    finalEmptyBlock,
    trailer,
  ]);
}

/** The start of a response record whose target URI line never ends. */
export const endlessHeaderLinePrefix = Buffer.from(
  'WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2024-05-18T01:58:10Z\r\nWARC-Target-URI: http://example.com/',
  'latin1',
);

/** One record of an intact WARC file as warcio reads it: for gzip, its member's range. */
export interface RecordPlace {
  readonly type: string;
  readonly offset: number;
  readonly length: number;
}

/** The records of an intact WARC file, by warcio's WARCParser. */
export async function recordPlaces(bytes: Uint8Array): Promise<RecordPlace[]> {
  async function* source(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  const parser = new WARCParser(source());
  const places: RecordPlace[] = [];
  // Bounded by the file: each turn reads one record.
  for await (const record of parser) {
    await record.readFully();
    places.push({ type: record.warcType ?? 'unknown', offset: parser.offset, length: parser.recordLength });
  }
  return places;
}

/** What was done to a corpus file. `source` names a shared fixture, relative to its root. */
export type Damage =
  | { readonly kind: 'shared fixture'; readonly source: string }
  | { readonly kind: 'generated intact'; readonly bytes: number }
  | { readonly kind: 'cut at member start'; readonly source: string; readonly member: number }
  | {
      readonly kind: 'cut inside member';
      readonly source: string;
      readonly member: number;
      readonly where: 'gzip header' | 'middle' | 'gzip trailer';
    }
  | { readonly kind: 'cut at record start'; readonly source: string; readonly record: number }
  | { readonly kind: 'cut inside record'; readonly source: string; readonly record: number }
  | { readonly kind: 'byte flipped'; readonly source: string; readonly position: number; readonly xor: number }
  | {
      readonly kind: 'wrong Content-Length';
      readonly source: string;
      readonly record: number;
      readonly how: ContentLengthDamage;
    }
  | { readonly kind: 'not WARC'; readonly what: string }
  | { readonly kind: 'empty'; readonly what: string }
  | { readonly kind: 'endless header line'; readonly runMebibytes: number; readonly between: string | null };

export type ContentLengthDamage = 'too long' | 'too short' | 'negative' | 'not a number';

export interface CorpusFile {
  /** Path below the corpus folder. */
  readonly name: string;
  readonly damage: Damage;
}

export interface CorpusOptions {
  /** Size of the header line that never ends, in MiB of one byte. */
  readonly endlessLineMebibytes: number;
  /** The same line, between two intact files' records (smaller: it shows the resync, not the limit). */
  readonly endlessLineBetweenMebibytes: number;
  /** Bytes flipped, one a file. */
  readonly flips: number;
  readonly seed: number;
  /** Size of a generated CommonCrawl-like file, to cross chunk boundaries. */
  readonly generatedBytes: number;
}

/** The fixtures every kind of generated damage starts from: one gzip member a record, and plain. */
export const memberSources = ['commoncrawl/whirlwind.warc.gz', 'warcio/example.warc.gz'] as const;
export const flipSource = 'resiliparse/cc-2020-34-excerpt.warc.gz';
export const plainSource = 'warcio/example-iana.org-chunked.warc';
/** Records whose Content-Length is damaged: whirlwind's response (a member of its own) and iana's response (plain, not last). */
const contentLengthTargets = [
  { source: 'commoncrawl/whirlwind.warc.gz', record: 2 },
  { source: plainSource, record: 1 },
] as const;

/** Writes the corpus into `folder` and says what each file is. */
export async function writeDamagedCorpus(folder: string, options: CorpusOptions): Promise<CorpusFile[]> {
  const files: CorpusFile[] = [];
  const write = (name: string, bytes: Buffer, damage: Damage) => {
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    writeFileSync(join(folder, name), bytes);
    files.push({ name, damage });
  };
  copySharedFixtures(folder, files);
  const generatedName = 'intact/commoncrawl-like.warc.gz';
  mkdirSync(join(folder, 'intact'), { recursive: true });
  writeCommonCrawlLikeWarc(join(folder, generatedName), options.generatedBytes);
  files.push({
    name: generatedName,
    damage: { kind: 'generated intact', bytes: statSync(join(folder, generatedName)).size },
  });
  for (const source of memberSources) await writeMemberCuts(source, write);
  await writePlainCuts(write);
  await writeFlips(options, write);
  await writeContentLengthDamage(write);
  writeNotWarc(write);
  writeEndlessLines(options, write);
  return files;
}

type Write = (name: string, bytes: Buffer, damage: Damage) => void;

function sharedFixture(source: string): Buffer {
  return readFileSync(join(sharedFixtureRoot, source));
}

/** Every `.warc` and `.warc.gz` of the shared fixtures, broken ones included, under `shared/`. */
function copySharedFixtures(folder: string, files: CorpusFile[]): void {
  const walk = (at: string): string[] =>
    readdirSync(at).flatMap((name) =>
      statSync(join(at, name)).isDirectory() ? walk(join(at, name)) : [join(at, name)],
    );
  for (const path of walk(sharedFixtureRoot)
    .filter((path) => /\.warc(\.gz)?$/.test(path))
    .sort()) {
    const source = relative(sharedFixtureRoot, path);
    const name = join('shared', source);
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    copyFileSync(path, join(folder, name));
    files.push({ name, damage: { kind: 'shared fixture', source } });
  }
}

function stem(source: string): string {
  return source.replace(/\.warc(\.gz)?$/, '').replace(/\//g, '-');
}

/** Cuts a one-member-a-record file at every member start and at three points inside each member. */
async function writeMemberCuts(source: string, write: Write): Promise<void> {
  const bytes = sharedFixture(source);
  const places = await recordPlaces(bytes);
  places.forEach((place, member) => {
    if (member > 0)
      write(`cut/${stem(source)}-at-member-${member}.warc.gz`, bytes.subarray(0, place.offset), {
        kind: 'cut at member start',
        source,
        member,
      });
    const inside = {
      'gzip header': place.offset + 5,
      middle: place.offset + Math.floor(place.length / 2),
      'gzip trailer': place.offset + place.length - 4,
    } as const;
    for (const [where, cut] of Object.entries(inside) as [keyof typeof inside, number][]) {
      write(`cut/${stem(source)}-in-member-${member}-${where.replace(' ', '-')}.warc.gz`, bytes.subarray(0, cut), {
        kind: 'cut inside member',
        source,
        member,
        where,
      });
    }
  });
}

/** Cuts a plain WARC file at each record start after the first and in the middle of each record. */
async function writePlainCuts(write: Write): Promise<void> {
  const bytes = sharedFixture(plainSource);
  const places = await recordPlaces(bytes);
  places.forEach((place, record) => {
    if (record > 0)
      write(`cut/${stem(plainSource)}-at-record-${record}.warc`, bytes.subarray(0, place.offset), {
        kind: 'cut at record start',
        source: plainSource,
        record,
      });
    write(
      `cut/${stem(plainSource)}-in-record-${record}.warc`,
      bytes.subarray(0, place.offset + Math.floor(place.length / 2)),
      { kind: 'cut inside record', source: plainSource, record },
    );
  });
}

/** Flips one byte a file, at seeded positions, in a file of 50 members. */
async function writeFlips(options: CorpusOptions, write: Write): Promise<void> {
  const bytes = sharedFixture(flipSource);
  const random = seededRandom(options.seed);
  for (let flip = 0; flip < options.flips; flip++) {
    const position = Math.floor(nextUnit(random) * bytes.length);
    const xor = 1 + Math.floor(nextUnit(random) * 255);
    const flipped = Buffer.from(bytes);
    flipped[position] = flipped[position]! ^ xor;
    write(`flip/${stem(flipSource)}-at-${position}.warc.gz`, flipped, {
      kind: 'byte flipped',
      source: flipSource,
      position,
      xor,
    });
  }
}

const contentLengthValues: Record<ContentLengthDamage, (length: number) => string> = {
  // Less than the next record's length, so the block ends inside it, not past the file's end.
  'too long': (length) => String(length + 100),
  'too short': (length) => String(length - 100),
  negative: () => '-5',
  'not a number': () => 'twelve',
};

/** Rewrites one record's Content-Length header; a gzip member is written again around the new record. */
async function writeContentLengthDamage(write: Write): Promise<void> {
  for (const { source, record } of contentLengthTargets) {
    const bytes = sharedFixture(source);
    const place = (await recordPlaces(bytes))[record]!;
    const gzipped = source.endsWith('.gz');
    const original = bytes.subarray(place.offset, place.offset + place.length);
    const text = gzipped ? zlib.gunzipSync(original) : original;
    for (const [how, value] of Object.entries(contentLengthValues) as [
      ContentLengthDamage,
      (length: number) => string,
    ][]) {
      const edited = withContentLength(text, value);
      const member = gzipped ? zlib.gzipSync(edited) : edited;
      const name = `content-length/${stem(source)}-${how.replace(/ /g, '-')}.warc${gzipped ? '.gz' : ''}`;
      write(
        name,
        Buffer.concat([bytes.subarray(0, place.offset), member, bytes.subarray(place.offset + place.length)]),
        { kind: 'wrong Content-Length', source, record, how },
      );
    }
  }
}

function withContentLength(record: Buffer, value: (length: number) => string): Buffer {
  const headerEnd = record.indexOf('\r\n\r\n');
  const header = record.subarray(0, headerEnd).toString('latin1');
  const match = /\r\nContent-Length: *(\d+)/i.exec(header);
  if (match === null) throw new Error('fixture record without a Content-Length');
  const replaced = header.replace(match[0], `\r\nContent-Length: ${value(Number(match[1]))}`);
  return Buffer.concat([Buffer.from(replaced, 'latin1'), record.subarray(headerEnd)]);
}

/** Files that are not WARC at all, and empty ones, all named as WARC files so that the listing takes them. */
function writeNotWarc(write: Write): void {
  const prose = Buffer.from('These are the minutes of the meeting.\nNothing here is a WARC record.\n'.repeat(50));
  write('not-warc/minutes.warc', prose, { kind: 'not WARC', what: 'a text file' });
  const pngHeader = Buffer.from('89504e470d0a1a0a0000000d4948445200000010000000100806000000', 'hex');
  write('not-warc/picture.warc.gz', Buffer.concat([pngHeader, Buffer.alloc(2000, 0x7f)]), {
    kind: 'not WARC',
    what: 'a PNG header',
  });
  write('not-warc/minutes-gzipped.warc.gz', zlib.gzipSync(prose), { kind: 'not WARC', what: 'gzip of text' });
  write('empty/zero-bytes.warc.gz', Buffer.alloc(0), { kind: 'empty', what: '0 bytes, named .warc.gz' });
  write('empty/zero-bytes.warc', Buffer.alloc(0), { kind: 'empty', what: '0 bytes, named .warc' });
  write('empty/empty-member.warc.gz', zlib.gzipSync(Buffer.alloc(0)), { kind: 'empty', what: 'one empty gzip member' });
}

/** A header line that never ends: alone in its file, and between the records of two intact files. */
function writeEndlessLines(options: CorpusOptions, write: Write): void {
  write('endless-line/alone.warc.gz', oneByteRunMember(endlessHeaderLinePrefix, options.endlessLineMebibytes), {
    kind: 'endless header line',
    runMebibytes: options.endlessLineMebibytes,
    between: null,
  });
  const around = memberSources[0];
  const intact = sharedFixture(around);
  write(
    'endless-line/between.warc.gz',
    Buffer.concat([intact, oneByteRunMember(endlessHeaderLinePrefix, options.endlessLineBetweenMebibytes), intact]),
    {
      kind: 'endless header line',
      runMebibytes: options.endlessLineBetweenMebibytes,
      between: around,
    },
  );
}
