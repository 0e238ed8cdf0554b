/**
 * Holds the content schema's `content` to warcio's reading of the same records: on every shared
 * fixture and on generated files of encoded responses (every Content-Encoding, chunked alone and
 * under gzip or br, stacked codings, broken gzip, chunking cut short, a coding nobody decodes,
 * CommonCrawl's renamed headers), each row's payload equals warcio's `readFully(true)` of the
 * record with the same WARC-Record-ID. warcio decodes gzip, deflate and chunked itself; for the
 * codings it passes through undecoded (br, x-gzip, stacked ones) the expected bytes are node's
 * decoders applied to what warcio gave. A body that claims gzip and is corrupt past its header
 * is the bytes as sent: warcio's raw payload.
 */
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { WARCParser } from 'warcio';
import { describe, expect, it } from 'vitest';
import type { ContentRow } from '../../core/capture-row.ts';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import { WarcJobDecoder } from '../../adapters/warc/warc-decoder.ts';
import { corruptCaseNames, encodedPayloadWarc } from '../fixtures-gen/encoded-payload-warc.ts';

const fixtureRoot = sharedFixtureRoot;
const contentBytesMax = 4096 * 1024;

function fixtureFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return fixtureFiles(path);
    return /\.(warc|arc)(\.gz)?$/.test(name) || /\.warc\.(wet|wat)\.gz$/.test(name) ? [path] : [];
  });
}

const input: InputRef = { uri: 'fixture', filename: 'fixture.warc.gz', crawl: null, subset: null, segment: null };

function contentRows(bytes: Uint8Array): ContentRow[] | FailureError {
  const decoder = new WarcJobDecoder(input, { output: { schema: 'content', contentBytesMax } });
  try {
    return decoder.push(bytes, true).rows as ContentRow[];
  } catch (error) {
    if (error instanceof FailureError) return error;
    throw error;
  }
}

interface WarcioPayload {
  readonly type: string;
  readonly raw: Uint8Array;
  readonly decoded: Uint8Array;
  readonly contentEncoding: string | null;
}

async function warcioPayloads(bytes: Uint8Array): Promise<Map<string, WarcioPayload>> {
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < bytes.length; offset += 65536) yield bytes.subarray(offset, offset + 65536);
  }
  const payloads = new Map<string, WarcioPayload>();
  for await (const record of WARCParser.iterRecords(source())) {
    const type = record.warcType ?? '';
    const id = record.warcHeader('WARC-Record-ID');
    if (!['response', 'revisit', 'resource'].includes(type) || id === undefined || id === null) continue;
    const raw = await record.readFully(false);
    const decoded = await record.readFully(true);
    const contentEncoding = record.httpHeaders?.headers.get('content-encoding') ?? null;
    payloads.set(id, { type, raw, decoded, contentEncoding });
  }
  return payloads;
}

/**
 * Node's decoding of codings warcio leaves undecoded, applied last first; null when they do not
 * decode. `cutShort` reads bytes that end before their stream does as far as they go.
 */
function nodeDecoded(codings: readonly string[], bytes: Uint8Array, cutShort = false): Uint8Array | null {
  let current = Buffer.from(bytes);
  const zlibFlush = cutShort ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {};
  const brotliFlush = cutShort ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {};
  try {
    for (const coding of [...codings].reverse()) {
      if (coding === 'gzip' || coding === 'x-gzip') current = zlib.gunzipSync(current, zlibFlush);
      else if (coding === 'br') current = zlib.brotliDecompressSync(current, brotliFlush);
      else if (coding === 'deflate') current = zlib.inflateSync(current, zlibFlush);
      else if (coding !== 'identity') return null;
    }
  } catch {
    return null;
  }
  return current;
}

/** What `content` must hold for the record warcio read. */
function expectedContent(payload: WarcioPayload, corrupt: boolean): Uint8Array {
  if (payload.type === 'revisit') return new Uint8Array(0);
  if (corrupt) return payload.raw;
  const codings = (payload.contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding.length > 0);
  const warcioDecodes = codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'deflate');
  // warcio's pako hands out nothing of a stream its bytes end inside (a Content-Length a few
  // bytes short): its output waits for the stream's end. zlib reads the same bytes as far as they go.
  if (warcioDecodes && payload.decoded.length === 0 && payload.raw.length > 0)
    return nodeDecoded(codings, payload.raw, true) ?? payload.raw;
  if (codings.length === 0 || warcioDecodes) return payload.decoded;
  // warcio hands these over unchunked but still encoded.
  return nodeDecoded(codings, payload.decoded) ?? payload.decoded;
}

async function expectLikeWarcio(bytes: Uint8Array, corruptIds: ReadonlySet<string> = new Set()): Promise<number> {
  const rows = contentRows(bytes);
  const payloads = await warcioPayloads(bytes);
  if (rows instanceof FailureError) {
    // A file the export refuses (no row in it) must be one the index export refuses too.
    expect(() => new WarcJobDecoder(input).push(bytes, true)).toThrow(FailureError);
    return 0;
  }
  let compared = 0;
  for (const row of rows) {
    const payload = row.warc_record_id === null ? undefined : payloads.get(row.warc_record_id);
    expect(payload, `warcio reads the record of ${row.url}`).toBeDefined();
    if (payload === undefined) continue;
    const expected = expectedContent(payload, corruptIds.has(row.warc_record_id ?? ''));
    expect(
      Buffer.from(row.content).equals(Buffer.from(expected)),
      `content of ${row.url} (${row.warc_record_id})`,
    ).toBe(true);
    if (payload.type !== 'revisit') expect(row.content_length).toBe(expected.length);
    compared += 1;
  }
  return compared;
}

describe('content equals warcio’s decoded payload', () => {
  for (const path of fixtureFiles(fixtureRoot)) {
    const name = path.slice(fixtureRoot.length);
    it(`${name}`, async () => {
      await expectLikeWarcio(new Uint8Array(readFileSync(path)));
    });
  }

  it('on every fixture with captures, at least one row is compared', async () => {
    let compared = 0;
    for (const path of fixtureFiles(fixtureRoot))
      compared += await expectLikeWarcio(new Uint8Array(readFileSync(path)));
    expect(compared).toBeGreaterThanOrEqual(20);
  });

  it('generated responses in every encoding, chunked, stacked and broken', async () => {
    const { bytes, caseOf } = encodedPayloadWarc();
    const corruptIds = new Set([...caseOf].filter(([, c]) => corruptCaseNames.has(c.name)).map(([id]) => id));
    const compared = await expectLikeWarcio(bytes, corruptIds);
    expect(compared).toBe(caseOf.size);
    const rows = contentRows(bytes) as ContentRow[];
    const errors = new Map(rows.map((row) => [row.url.split('/').pop(), row.content_encoding_error]));
    for (const [name, error] of errors) {
      const broken = name === 'broken-gzip' || name === 'corrupt-gzip' || name === 'unsupported';
      expect(error === null, `${name}: content_encoding_error ${String(error)}`).toBe(!broken);
    }
  });

  it('generated responses of 300 KB, where warcio reads the payload in many pieces', async () => {
    const { bytes, caseOf } = encodedPayloadWarc(300_000);
    const corruptIds = new Set([...caseOf].filter(([, c]) => corruptCaseNames.has(c.name)).map(([id]) => id));
    expect(await expectLikeWarcio(bytes, corruptIds)).toBe(caseOf.size);
  });
});
