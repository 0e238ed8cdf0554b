/**
 * Split decoding against adversarial files (test/fixtures-gen/adversarial-warc.ts): every record
 * type, payloads holding gzip magic bytes, stored `.warc.gz` records and plausible member
 * trailers, members with optional header fields, empty members, several records to a member,
 * whole-stream gzip and plain `.warc`, records longer than a chunk, at random chunk sizes, in
 * both schemas and inflate modes: the core's rule over detached decodes
 * (test/support/split-harness.ts) gives the rows and counts of the decoder in order. fast-check
 * prints the seed and the shrunk file on failure; FUZZ_RUNS=2000 searches longer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WarcJobDecoderOptions } from '../../adapters/warc/warc-decoder.ts';
import { adversarialFile, fileBytes, fileName } from '../fixtures-gen/adversarial-warc.ts';
import { chunksOf, decodeInOrder, decodeSplit, expectSameDecode, inputNamed } from '../support/split-harness.ts';

/** 500 runs: 5.6 s of CPU for `npx vitest run` on this file (docs/figures.md). */
const numRuns = Number(process.env.FUZZ_RUNS ?? 500);
/** The smallest chunk tried: a gzip header with its fields and a WARC header's start. */
const chunkBytesMin = 48;

/** A chunk size in bytes (most records are 0.3 to 2 KB), or a share of the file. */
const chunkSize: fc.Arbitrary<{ readonly bytes: number | null; readonly perMille: number }> = fc.oneof(
  fc.record({ bytes: fc.integer({ min: chunkBytesMin, max: 6_000 }), perMille: fc.constant(0) }),
  fc.record({ bytes: fc.constant(null), perMille: fc.integer({ min: 3, max: 500 }) }),
);

const options: fc.Arbitrary<WarcJobDecoderOptions> = fc.record({
  fullInflate: fc.boolean(),
  output: fc.constantFrom(
    { schema: 'index' as const, contentBytesMax: 64 * 1024 },
    { schema: 'content' as const, contentBytesMax: 512 },
  ),
});

describe('split decoding of adversarial files', () => {
  it('gives the rows and counts of the decoder in order, at any chunk size', () => {
    let splitApart = 0;
    let redone = 0;
    fc.assert(
      fc.property(adversarialFile, chunkSize, options, (file, size, decodeOptions) => {
        const bytes = fileBytes(file);
        const share = Math.floor((bytes.length * size.perMille) / 1000);
        const chunkBytes = Math.max(chunkBytesMin, size.bytes ?? share);
        const chunks = chunksOf(bytes, chunkBytes);
        const input = inputNamed(fileName(file));
        const got = decodeSplit(input, chunks, decodeOptions);
        expectSameDecode(got, decodeInOrder(input, chunks, decodeOptions), `${fileName(file)} in ${chunkBytes}`);
        if (got.accepted > 1) splitApart += 1;
        redone += got.redone;
      }),
      { numRuns },
    );
    // Guards the property from holding only because every file fell back to one lane.
    expect(splitApart).toBeGreaterThan(numRuns / 25);
    expect(redone).toBeGreaterThan(0);
  }, 60_000);
});
