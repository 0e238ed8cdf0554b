/**
 * The Source contract: what every Source (local, HTTP, S3, the simulator's) must do. A
 * listing names the expected inputs in a stable order; sizes are right; any range reads
 * exactly its bytes (fewer only at the end, none past it), into the memory given where given;
 * reads run in parallel; a missing input is the input's fault and not retried.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { Source } from '../../core/source.ts';

export interface SourceContractSubject {
  readonly source: Source;
  /** What to list. */
  readonly spec: string;
  /** The inputs the listing must yield, in order, with their bytes. */
  readonly expected: readonly { readonly filename: string; readonly bytes: Uint8Array }[];
  /** An input that does not exist. */
  readonly missing: InputRef;
  teardown?(): Promise<void>;
}

async function listAll(source: Source, spec: string): Promise<InputRef[]> {
  const inputs: InputRef[] = [];
  for await (const input of source.list(spec)) inputs.push(input);
  return inputs;
}

async function readInChunks(
  source: Source,
  input: InputRef,
  chunkBytes: number,
  sizeBytes: number,
): Promise<Uint8Array> {
  const whole = new Uint8Array(sizeBytes);
  for (let offset = 0; offset < sizeBytes; offset += chunkBytes) {
    const bytes = await source.read(input, { offsetBytes: offset, lengthBytes: chunkBytes });
    expect(bytes.length).toBe(Math.min(chunkBytes, sizeBytes - offset));
    whole.set(bytes, offset);
  }
  return whole;
}

export function sourceContract(name: string, setup: () => Promise<SourceContractSubject>): void {
  describe(`Source contract: ${name}`, () => {
    let subject: SourceContractSubject;
    let inputs: InputRef[];
    beforeAll(async () => {
      subject = await setup();
      inputs = await listAll(subject.source, subject.spec);
    });
    afterAll(async () => subject?.teardown?.());

    test('lists the expected inputs in a stable order', async () => {
      expect(inputs.map((input) => input.filename)).toEqual(subject.expected.map((entry) => entry.filename));
      const again = await listAll(subject.source, subject.spec);
      expect(again).toEqual(inputs);
    });

    test('knows the size of every input', async () => {
      for (const [index, input] of inputs.entries()) {
        expect(await subject.source.sizeOf(input)).toBe(subject.expected[index]?.bytes.length);
      }
    });

    test('reads every input byte-identical in chunks that do not divide it', async () => {
      for (const [index, input] of inputs.entries()) {
        const expected = subject.expected[index]?.bytes as Uint8Array;
        expect(await readInChunks(subject.source, input, 7_919, expected.length)).toEqual(expected);
      }
    });

    test('reads fewer bytes only at the end, none past it, none for an empty range', async () => {
      const input = inputs[0] as InputRef;
      const expected = subject.expected[0]?.bytes as Uint8Array;
      const tail = await subject.source.read(input, { offsetBytes: expected.length - 10, lengthBytes: 100 });
      expect(tail).toEqual(expected.subarray(expected.length - 10));
      expect((await subject.source.read(input, { offsetBytes: expected.length, lengthBytes: 100 })).length).toBe(0);
      expect((await subject.source.read(input, { offsetBytes: 5, lengthBytes: 0 })).length).toBe(0);
    });

    test('serves parallel reads of different ranges with the right bytes', async () => {
      const input = inputs[0] as InputRef;
      const expected = subject.expected[0]?.bytes as Uint8Array;
      const offsets = Array.from({ length: 8 }, (_, index) => Math.floor((expected.length * index) / 8));
      const reads = await Promise.all(
        offsets.map((offset) => subject.source.read(input, { offsetBytes: offset, lengthBytes: 777 })),
      );
      reads.forEach((bytes, index) => {
        const offset = offsets[index] as number;
        expect(bytes).toEqual(expected.subarray(offset, offset + 777));
      });
    });

    test('reads into the memory given, whole or cut by the end', async () => {
      const input = inputs[0] as InputRef;
      const expected = subject.expected[0]?.bytes as Uint8Array;
      const given: Uint8Array[] = [];
      // Shared memory, as a split job's chunks are: the bytes must land in it, not in a copy.
      const memory = (lengthBytes: number): Uint8Array => {
        const buffer = new Uint8Array(new SharedArrayBuffer(lengthBytes));
        given.push(buffer);
        return buffer;
      };
      const ranges = [
        { offsetBytes: 0, lengthBytes: expected.length },
        { offsetBytes: 3, lengthBytes: Math.min(1_000, expected.length - 3) },
        { offsetBytes: expected.length - 5, lengthBytes: 50 },
      ];
      for (const range of ranges) {
        const read = await subject.source.read(input, range, undefined, memory);
        const want = expected.subarray(range.offsetBytes, range.offsetBytes + range.lengthBytes);
        expect(Buffer.from(read).equals(want), `bytes from ${range.offsetBytes}`).toBe(true);
        expect(read.buffer, `memory of the read from ${range.offsetBytes}`).toBe(given.at(-1)?.buffer);
      }
      expect(given).toHaveLength(ranges.length);
    });

    test('a missing input is the input’s fault, not retryable', async () => {
      const failure = await subject.source.read(subject.missing, { offsetBytes: 0, lengthBytes: 10 }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(FailureError);
      expect((failure as FailureError).failure).toMatchObject({ fault: 'input', retryable: false });
    });
  });
}
