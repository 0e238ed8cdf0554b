/**
 * Counts the records of a WARC file that become rows (response, revisit, resource) with
 * warcio's parser, a different reader from the project's decoder (`adapters/warc/`): a test
 * that compares an export's row count with this count does not share a bug with the code
 * it checks.
 */
import { WARCParser } from 'warcio';

const rowTypes = new Set(['response', 'revisit', 'resource']);
const sliceBytes = 64 * 1024;

/** Records that make a row, read from the whole file in memory. */
export async function countRowRecords(bytes: Uint8Array): Promise<number> {
  // Fed in slices: warcio copies what is left of a chunk as it goes, quadratic on one large buffer.
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < bytes.length; offset += sliceBytes) yield bytes.subarray(offset, offset + sliceBytes);
  }
  let records = 0;
  for await (const record of WARCParser.iterRecords(source())) {
    if (rowTypes.has(record.warcType ?? '')) records += 1;
  }
  return records;
}

/** Counts of many files; files given as the same array are counted once. */
export async function countRowRecordsOf(files: ReadonlyMap<string, Uint8Array>): Promise<Map<string, number>> {
  const byContent = new Map<Uint8Array, number>();
  const counts = new Map<string, number>();
  for (const [path, bytes] of files) {
    let count = byContent.get(bytes);
    if (count === undefined) {
      count = await countRowRecords(bytes);
      byContent.set(bytes, count);
    }
    counts.set(path, count);
  }
  return counts;
}
