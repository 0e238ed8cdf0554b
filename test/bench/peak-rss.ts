/**
 * Peak RSS with baselines measured in the same run, each in a child process of its own so
 * nothing else lives in the measured heap, from the kernel's max RSS (GNU time):
 * - decoding a 1 GB CommonCrawl-like `.warc.gz` in 32 MiB chunks (decode.ts's own child,
 *   goal <= 300 MB) against a child that loads the same modules and reads the same chunks
 *   into fresh buffers without decoding them: the difference is what the decoder holds;
 * - `node cmd/worker --help` (node, tsx, Effect and the sources loaded, nothing exported; the
 *   AWS SDK and the PostgreSQL driver load only when a run uses them) against bare node: the
 *   floor under every worker RSS figure (end-to-end, soak).
 * Run: npm run bench -- peak-rss
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeCommonCrawlLikeWarc, writeRepeated } from '../fixtures-gen/commoncrawl-like-warc.ts';
import { printFigures, type BenchFigure } from './bench-figure.ts';

const benchFolder = fileURLToPath(new URL('../../.bench/', import.meta.url));
// The same cached files as decode.ts, so neither bench writes them twice.
const smallFile = `${benchFolder}commoncrawl-like-100mb.warc.gz`;
const largeFile = `${benchFolder}commoncrawl-like-1gb.warc.gz`;
const decodeBench = fileURLToPath(new URL('./decode.ts', import.meta.url));
const binary = fileURLToPath(new URL('../../cmd/worker', import.meta.url));
const chunkBytes = 32 * 1024 * 1024;
const megabyte = 1_000_000;

/** Peak RSS in MB of a child process, from GNU time's %M (kilobytes) on the last line of stderr. */
function peakRssMb(args: readonly string[]): number {
  const child = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`child ${args.join(' ')} failed (${child.status}): ${child.stderr}`);
  const lines = child.stderr.trim().split('\n');
  return (Number(lines[lines.length - 1]) * 1024) / megabyte;
}

/** The baseline child: the decoder's modules loaded, the same chunks read into fresh buffers, none decoded. */
async function readForRss(path: string): Promise<void> {
  await import('../../adapters/warc/warc-decoder.ts');
  const size = statSync(path).size;
  const file = openSync(path, 'r');
  let read = 0;
  for (let offset = 0; offset < size; offset += chunkBytes) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, size - offset));
    read += readSync(file, chunk, 0, chunk.length, offset);
  }
  closeSync(file);
  if (read !== size) throw new Error(`read ${read} of ${size} bytes`);
}

export async function run(): Promise<BenchFigure[]> {
  writeCommonCrawlLikeWarc(smallFile, 100_000_000);
  writeRepeated(smallFile, largeFile, 1_000_000_000);
  const decoding = peakRssMb(['--import', 'tsx', decodeBench, '--decode-for-rss', largeFile]);
  const reading = peakRssMb(['--import', 'tsx', fileURLToPath(import.meta.url), '--read-for-rss', largeFile]);
  const help = peakRssMb([binary, '--help']);
  const bare = peakRssMb(['-e', '']);
  return [
    {
      name: `peak RSS decoding ${(statSync(largeFile).size / megabyte).toFixed(0)} MB in 32 MiB chunks`,
      value: decoding,
      unit: 'MB',
      baseline: { name: 'reading the same chunks, no decoding, MB', value: reading },
      ratio: decoding / reading,
      goal: '<= 300 MB',
    },
    {
      name: 'peak RSS of node cmd/worker --help (tsx and the sources; Effect is loaded by a run only)',
      value: help,
      unit: 'MB',
      baseline: { name: 'bare node MB', value: bare },
      ratio: help / bare,
    },
  ];
}

if (process.argv[2] === '--read-for-rss') {
  await readForRss(process.argv[3] as string);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFigures('peak RSS, each against a baseline child', await run());
}
