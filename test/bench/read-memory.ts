// What reusing chunk memory saves (cmd/worker/shared-chunk-pool.ts, core/read-ahead.ts): the
// 300 MB CommonCrawl-density file of the split bench read in 32 MiB chunks, each then scanned
// for the gzip magic as the head-only reader scans for the next member, once into fresh memory
// a chunk (a `new Uint8Array` each, as a source read before the pool) and once into two shared
// buffers taken in turn (the pool at a read-ahead of two). CPU time of this process, user +
// system, three rounds alternating, the fastest of each.
// Run: npm run bench -- read-memory
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findGzipMagic } from '../../adapters/warc/gzip-member.ts';
import { writeCommonCrawlLikeWarc, writeRepeated } from '../fixtures-gen/commoncrawl-like-warc.ts';
import type { BenchFigure } from './bench-figure.ts';
import { printFigures } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
const source = `${benchFolder}commoncrawl-density-100mb.warc.gz`;
const file = `${benchFolder}commoncrawl-density-300mb.warc.gz`;
const chunkBytes = 32 * 1024 * 1024;
const rounds = 3;

/** Reads the file chunk by chunk into `memory(n)`, scans each for every gzip magic; CPU seconds and magics found. */
function readAndScan(memory: (index: number) => Uint8Array): { cpuSeconds: number; magics: number } {
  const before = process.cpuUsage();
  const fd = openSync(file, 'r');
  let magics = 0;
  try {
    // Bounded by the file's length: each pass reads a chunk or stops.
    for (let index = 0; ; index++) {
      const chunk = memory(index);
      const read = readSync(fd, chunk, 0, chunkBytes, index * chunkBytes);
      if (read === 0) break;
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, read);
      for (let at = findGzipMagic(bytes, 0); at !== -1; at = findGzipMagic(bytes, at + 1)) magics++;
    }
  } finally {
    closeSync(fd);
  }
  const used = process.cpuUsage(before);
  return { cpuSeconds: (used.user + used.system) / 1e6, magics };
}

export async function run(): Promise<BenchFigure[]> {
  writeCommonCrawlLikeWarc(source, 100_000_000, 20240518, 7);
  writeRepeated(source, file, 300_000_000);
  const pool = [0, 1].map(() => new Uint8Array(new SharedArrayBuffer(chunkBytes)));
  const fresh: number[] = [];
  const reused: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const a = readAndScan(() => new Uint8Array(chunkBytes));
    const b = readAndScan((index) => pool[index % pool.length] ?? new Uint8Array(chunkBytes));
    if (a.magics !== b.magics) throw new Error(`the two reads found ${a.magics} and ${b.magics} magics`);
    fresh.push(a.cpuSeconds);
    reused.push(b.cpuSeconds);
  }
  const sizeMb = statSync(file).size / 1_000_000;
  const freshBest = Math.min(...fresh);
  const reusedBest = Math.min(...reused);
  return [
    {
      name: 'read and scan 300 MB in 32 MiB chunks, two reused shared buffers',
      value: sizeMb / reusedBest,
      unit: 'MB per CPU-second',
      baseline: { name: 'a fresh buffer a chunk', value: sizeMb / freshBest },
      ratio: freshBest / reusedBest,
    },
    {
      name: 'CPU seconds, two reused shared buffers',
      value: reusedBest,
      unit: 's',
      baseline: { name: 'a fresh buffer a chunk', value: freshBest },
      ratio: reusedBest / freshBest,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) printFigures('Reading into reused memory', await run());
