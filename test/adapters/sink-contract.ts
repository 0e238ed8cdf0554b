/**
 * The Sink contract: what every Sink (S3, local folder, the simulator's) must do. An object
 * appears only at `complete`, whole and byte-identical, whatever order its parts arrived
 * in; a part uploaded again replaces the first; `abort` leaves nothing behind; completing
 * the same key again overwrites it; a small object may be one part, sent without a `start`;
 * an object of several parts is started first (the core's `startUpload`), and a start made
 * twice is one start; an upload aborted before its first part leaves nothing either; a part
 * given as several pieces is their concatenation.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PartReceipt, Sink } from '../../core/sink.ts';

export interface SinkContractSubject {
  readonly sink: Sink;
  /** The sink's minimum size of every part but the last. */
  readonly partBytesMin: number;
  /** The object under a key, or null when there is none. */
  readObject(key: string): Promise<Uint8Array | null>;
  /** Anything an unfinished upload left: temporary files, open multipart uploads. */
  leftovers(): Promise<string[]>;
  teardown?(): Promise<void>;
}

function patterned(lengthBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < lengthBytes; index += 1) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

/** Length and digest: comparing megabytes with toEqual makes a failure's diff take minutes. */
function fingerprint(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : `${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`;
}

export function sinkContract(name: string, setup: () => Promise<SinkContractSubject>): void {
  describe(`Sink contract: ${name}`, () => {
    let subject: SinkContractSubject;
    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => subject?.teardown?.());

    test('a one-part object appears only at complete, byte-identical', async () => {
      const key = 'crawl=unknown/subset=unknown/small.parquet';
      const bytes = patterned(12_345, 1);
      const handle = await subject.sink.begin(key);
      const receipt = await subject.sink.uploadPart(handle, 1, [bytes]);
      expect(await subject.readObject(key)).toBeNull();
      await subject.sink.complete(handle, [receipt]);
      expect(await subject.readObject(key)).toEqual(bytes);
      expect(await subject.leftovers()).toEqual([]);
    });

    test('parts uploaded in parallel and out of order assemble in part order', async () => {
      const key = 'crawl=CC-MAIN-2024-22/subset=warc/multi.parquet';
      const parts = [patterned(subject.partBytesMin, 2), patterned(subject.partBytesMin, 3), patterned(1_000, 4)];
      const handle = await subject.sink.begin(key);
      await subject.sink.start(handle);
      const receipts = await Promise.all(
        [3, 1, 2].map((number) => subject.sink.uploadPart(handle, number, [parts[number - 1] as Uint8Array])),
      );
      await subject.sink.complete(handle, receipts);
      expect(fingerprint(await subject.readObject(key))).toBe(fingerprint(Buffer.concat(parts)));
      expect(await subject.leftovers()).toEqual([]);
    });

    test('a part uploaded again replaces the first', async () => {
      const key = 'again/part.parquet';
      const handle = await subject.sink.begin(key);
      await subject.sink.start(handle);
      const first = patterned(subject.partBytesMin, 5);
      await subject.sink.uploadPart(handle, 1, [patterned(subject.partBytesMin, 6)]);
      const receipts: PartReceipt[] = [
        await subject.sink.uploadPart(handle, 1, [first]),
        await subject.sink.uploadPart(handle, 2, [patterned(10, 7)]),
      ];
      await subject.sink.complete(handle, receipts);
      expect(fingerprint(await subject.readObject(key))).toBe(fingerprint(Buffer.concat([first, patterned(10, 7)])));
    });

    test('abort leaves no object and nothing behind', async () => {
      const key = 'aborted/never.parquet';
      const handle = await subject.sink.begin(key);
      await subject.sink.start(handle);
      await subject.sink.uploadPart(handle, 1, [patterned(subject.partBytesMin, 8)]);
      await subject.sink.uploadPart(handle, 2, [patterned(100, 9)]);
      await subject.sink.abort(handle);
      expect(await subject.readObject(key)).toBeNull();
      expect(await subject.leftovers()).toEqual([]);
      await subject.sink.abort(handle);
    });

    test('an upload aborted before any part leaves nothing, and aborting it again is harmless', async () => {
      const key = 'aborted/empty.parquet';
      const handle = await subject.sink.begin(key);
      await subject.sink.abort(handle);
      await subject.sink.abort(handle);
      expect(await subject.readObject(key)).toBeNull();
      expect(await subject.leftovers()).toEqual([]);
    });

    test('a start made twice is one start: the parts go into one upload, and nothing is left', async () => {
      const key = 'started/twice.parquet';
      const parts = [patterned(subject.partBytesMin, 12), patterned(50, 13)];
      const handle = await subject.sink.begin(key);
      await Promise.all([subject.sink.start(handle), subject.sink.start(handle)]);
      await subject.sink.start(handle);
      const receipts = [
        await subject.sink.uploadPart(handle, 1, [parts[0] as Uint8Array]),
        await subject.sink.uploadPart(handle, 2, [parts[1] as Uint8Array]),
      ];
      await subject.sink.complete(handle, receipts);
      expect(fingerprint(await subject.readObject(key))).toBe(fingerprint(Buffer.concat(parts)));
      expect(await subject.leftovers()).toEqual([]);
    });

    test('an upload started and aborted before any part leaves nothing', async () => {
      const key = 'aborted/started.parquet';
      const handle = await subject.sink.begin(key);
      await subject.sink.start(handle);
      await subject.sink.abort(handle);
      expect(await subject.readObject(key)).toBeNull();
      expect(await subject.leftovers()).toEqual([]);
    });

    test('completing the same key again overwrites it', async () => {
      const key = 'rerun/same.parquet';
      for (const seed of [10, 11]) {
        const handle = await subject.sink.begin(key);
        await subject.sink.complete(handle, [await subject.sink.uploadPart(handle, 1, [patterned(2_000, seed)])]);
      }
      expect(await subject.readObject(key)).toEqual(patterned(2_000, 11));
    });

    test('a part given as pieces (views into larger buffers, empty ones among them) is their concatenation', async () => {
      const key = 'pieces/joined.parquet';
      const backing = patterned(subject.partBytesMin + 3_000, 14);
      const first = [backing.subarray(0, 1_000), new Uint8Array(0), backing.subarray(1_000, subject.partBytesMin)];
      const last = [backing.subarray(subject.partBytesMin, subject.partBytesMin + 1), patterned(500, 15)];
      const handle = await subject.sink.begin(key);
      await subject.sink.start(handle);
      const receipts = [
        await subject.sink.uploadPart(handle, 2, last),
        await subject.sink.uploadPart(handle, 1, first),
      ];
      await subject.sink.complete(handle, receipts);
      expect(fingerprint(await subject.readObject(key))).toBe(fingerprint(Buffer.concat([...first, ...last])));
      expect(await subject.leftovers()).toEqual([]);
    });
  });
}
