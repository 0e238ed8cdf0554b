/**
 * The rule on a whole file (a file that gives no row because every record was bad fails, not
 * committed empty) holds for a split job that fell back after chunks were accepted: the decoder
 * in order is given the accepted chunks' rows and counts (core/split-decode.ts). The core runs
 * with the real decoders (adapters/warc) over small gzip files, one member a record, whose
 * first chunk holds only `warcinfo` records (accepted, no row) and whose next chunk holds
 * damaged captures (not splittable: the job falls back). And a file whose every record is bad
 * in intact members, in three chunks, fails alike, whether the decoders apart answer its damaged
 * chunks not splittable (as they do) or splittable (the core checks the damage itself).
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeDetachedChunk } from '../../adapters/warc/detached-chunk-decoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { CommandOf } from '../../core/commands.ts';
import type { JobDecoder } from '../../core/decoder.ts';
import type { Input } from '../../core/inputs.ts';
import { ruleInput, type RuleDecoders, type RuleOutcome, runSplitJob } from './split-rule-driver.ts';

function member(type: string, uri: string, contentType: string, block: string): Buffer {
  const head =
    `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Date: 2024-05-18T00:00:00Z\r\n` +
    `WARC-Record-ID: <urn:uuid:${type}-${uri}>\r\nWARC-Target-URI: ${uri}\r\n` +
    `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(block, 'latin1')}\r\n\r\n`;
  return gzipSync(Buffer.from(`${head}${block}\r\n\r\n`, 'latin1'));
}

const warcinfo = (index: number): Buffer =>
  member('warcinfo', `urn:info:${index}`, 'application/warc-fields', `software: test ${index}\r\n`);
const goodResponse = (index: number): Buffer =>
  member(
    'response',
    `http://example.com/${index}`,
    'application/http; msgtype=response',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello',
  );
const badResponse = (index: number): Buffer =>
  member('response', `http://example.com/bad/${index}`, 'application/http; msgtype=response', 'no HTTP here\r\n');

/**
 * A damaged capture whose member is longer than two chunks of `chunkBytes` (its body does not
 * compress), so the decode apart of the chunk it starts in answers `needsMore`.
 */
function longBadResponse(index: number, chunkBytes: number): Buffer {
  let seed = 12345 + index;
  const noise = Buffer.alloc(3 * chunkBytes + 1024, 0);
  for (let at = 0; at < noise.length; at++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    noise[at] = 0x21 + (seed % 90);
  }
  return member(
    'response',
    `http://example.com/long/${index}`,
    'application/http; msgtype=response',
    `no HTTP here\r\n${noise.toString('latin1')}`,
  );
}

/**
 * A file whose chunk 0 is exactly `head`; then an intact `warcinfo` (the boundary chunk 0 ends
 * at, so chunk 0 is accepted apart), and damaged captures only, the first longer than two
 * chunks (so chunk 1 needs more, and the job falls back after chunk 0).
 */
interface ModelFile {
  readonly bytes: Buffer;
  readonly chunkBytes: number;
}

function fileOf(head: readonly Buffer[]): ModelFile {
  const first = Buffer.concat(head);
  const tail = [warcinfo(9), longBadResponse(0, first.length), badResponse(1), badResponse(2)];
  return { bytes: Buffer.concat([first, ...tail]), chunkBytes: first.length };
}

/** The real decoders over a file's chunks: apart as the worker's lanes, in order as its pinned lane. */
class RealDecoders implements RuleDecoders {
  readonly sizeBytes: number;
  readonly chunkBytes: number;
  private decoder: JobDecoder | null = null;

  /**
   * `splittableDamage`: a chunk apart that read damage inside members still back to back
   * answers splittable, as a decoder apart that trusted such damage not to move its resync
   * would; the real one answers not splittable. The counts are the real decoder's.
   */
  constructor(
    private readonly file: ModelFile,
    private readonly splittableDamage = false,
  ) {
    this.sizeBytes = file.bytes.length;
    this.chunkBytes = file.chunkBytes;
  }

  private chunk(index: number): Buffer {
    return this.file.bytes.subarray(index * this.chunkBytes, (index + 1) * this.chunkBytes);
  }

  detached(command: CommandOf<'decodeDetached'>): Input {
    const request = {
      chunk: this.chunk(command.chunkIndex),
      next: command.final ? null : this.chunk(command.chunkIndex + 1),
      nextFinal: command.nextFinal,
      chunkOffset: command.chunkIndex * this.chunkBytes,
      startBytes: command.startBytes,
    };
    const { rows, ...decoded } = decodeDetachedChunk(ruleInput, {}, request);
    const damaged = Object.keys(decoded.counters.badByReason).length > 0;
    const answer = this.splittableDamage && damaged ? { ...decoded, splittable: true } : decoded;
    const encodedBytes = 10 * rows.length + 4;
    return { kind: 'detachedDecoded', taskId: command.taskId, ...answer, rows: rows.length, encodedBytes };
  }

  inOrder(command: CommandOf<'decodeChunk'>): Input {
    const resume = command.resumeAt ?? undefined;
    this.decoder ??= new WarcDecoder().open(ruleInput, resume);
    const skipped = resume === undefined ? 0 : resume.atBytes - command.chunkIndex * this.chunkBytes;
    const decoded = this.decoder.push(this.chunk(command.chunkIndex).subarray(skipped), command.final);
    return { kind: 'chunkDecoded', taskId: command.taskId, ...decoded, rows: decoded.rows.length };
  }
}

function runFile(file: ModelFile, splittableDamage = false): RuleOutcome {
  return runSplitJob(new RealDecoders(file, splittableDamage));
}

/**
 * Three chunks, each a `warcinfo` and four damaged captures, each record its own intact member:
 * every chunk's end boundary is the next chunk's `warcinfo`, read whole, so the only reason a
 * chunk apart is not splittable is its damage. The groups are alike, so the chunks are too.
 */
function allBadFile(): ModelFile {
  const group = Buffer.concat([warcinfo(0), ...[0, 1, 2, 3].map(badResponse)]);
  return { bytes: Buffer.concat([group, group, group]), chunkBytes: group.length };
}

/** What the decoder in order says of the file, read whole in one push. */
function inOrderFailure(file: ModelFile): string {
  try {
    new WarcDecoder().open(ruleInput).push(file.bytes, true);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return 'no failure';
}

describe('the whole-file rule after split decoding fell back', () => {
  it('fails a file whose accepted chunks held only warcinfo records and whose other records were all bad', () => {
    const outcome = runFile(fileOf([warcinfo(0), warcinfo(1)]));
    expect(outcome.decodedInOrder).toBe(true);
    expect(outcome.committed).toBe(false);
    expect(outcome.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(outcome.failure?.reason).toMatch(
      /file:\/\/\/f\.warc\.gz: no row, every record was bad \(no_http_status_line 3\)$/,
    );
  });

  it('commits a file whose accepted chunks gave a row, however bad the rest', () => {
    const outcome = runFile(fileOf([warcinfo(0), goodResponse(1)]));
    expect(outcome.decodedInOrder).toBe(true);
    expect(outcome.failure).toBeNull();
    expect(outcome.committed).toBe(true);
  });
});

describe('the whole-file rules on a file whose chunks all decode apart', () => {
  const file = allBadFile();
  const expected = 'file:///f.warc.gz: no row, every record was bad (no_http_status_line 12)';
  const failedAsInOrder =
    /^decode of chunk \d+ failed: file:\/\/\/f\.warc\.gz: no row, every record was bad \(no_http_status_line 12\)$/;

  it('is a file whose every record is bad, in three chunks, for the decoder in order', () => {
    expect(inOrderFailure(file)).toBe(expected);
    expect(file.bytes.length).toBe(3 * file.chunkBytes);
  });

  it('fails as decoded in order: the decoder apart answers its damaged chunk 0 not splittable', () => {
    const outcome = runFile(file);
    expect(outcome).toMatchObject({ committed: false, decodedInOrder: true, accepted: 0 });
    expect(outcome.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(outcome.failure?.reason).toMatch(failedAsInOrder);
  });

  it('fails as decoded in order when the decoders apart answer every damaged chunk splittable', () => {
    const outcome = runFile(file, true);
    expect(outcome).toMatchObject({ committed: false, decodedInOrder: true, accepted: 0 });
    expect(outcome.failure).toMatchObject({ fault: 'input', retryable: false });
    expect(outcome.failure?.reason).toMatch(failedAsInOrder);
  });
});
