/**
 * Split decoding end to end on every writer's files: the binary exports each shared fixture
 * with `--threads 2 --split-decode on` and with `--threads 1`, and both give the same rows in the
 * same order (read back with DuckDB), the same rows, bad, skipped and warning counts by reason
 * per file (`job ended` lines), the same run summary and exit code. The smallest chunk the
 * command line allows is 1 MiB (`--chunk-mb` is a whole number) and the largest fixture is
 * 136 KB, so each input is its fixture repeated to 2.3 MiB or more: three chunks or more, whose
 * boundaries fall inside the fixture's records. Two adversarial files join them
 * (test/fixtures-gen/adversarial-warc.ts): one of every layout, which falls back to one lane,
 * and one of one member a record with stored `.warc.gz` records in payloads, split apart.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type AdversarialFile, adversarialFile, fileBytes } from '../fixtures-gen/adversarial-warc.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { duckdbRows } from '../support/parquet-rows.ts';
import { chunksOf, decodeSplit, inputNamed } from '../support/split-harness.ts';
import { runWorkerCommand } from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-split-interop-'));
const inputFolder = join(workFolder, 'inputs');
afterAll(() => rmSync(workFolder, { recursive: true, force: true }));

/** Over two 1 MiB chunks: the third chunk has a predecessor that is neither first nor last. */
const repeatedBytesMin = 2.3 * 1024 * 1024;
const archivePattern = /\.warc(\.wat|\.wet)?(\.gz)?$/;

function walk(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const adversarialSplit = 'adversarial-members.warc.gz';

function oneMemberARecord(file: AdversarialFile): boolean {
  const styles = file.layout.kind === 'members' ? file.layout.styles : [];
  const trailers = file.records.some((record) => record.payload.some((part) => part.kind === 'plausible trailer'));
  return (
    file.damage === null &&
    styles.length > 0 &&
    !trailers &&
    styles.every((style) => !style.emptyBefore && !style.joinsPrevious)
  );
}

function repeated(bytes: Buffer): Buffer {
  const copies = Math.ceil(repeatedBytesMin / bytes.length);
  return Buffer.concat(new Array<Buffer>(copies).fill(bytes));
}

/** Each fixture repeated, under a name that keeps its suffix (WAT and WET are told by it); and adversarial files. */
function writeInputs(): string[] {
  mkdirSync(inputFolder, { recursive: true });
  const names: string[] = [];
  for (const path of walk(sharedFixtureRoot).filter((file) => archivePattern.test(file))) {
    const name = `${basename(join(path, '..'))}-${basename(path)}`;
    writeFileSync(join(inputFolder, name), repeated(readFileSync(path)));
    names.push(name);
  }
  const samples = fc.sample(adversarialFile, { numRuns: 400, seed: 20_261_203 });
  const gzipWarc = samples.filter((file) => file.layout.kind !== 'plain' && file.naming === 'warc');
  writeFileSync(join(inputFolder, 'adversarial-mixed.warc.gz'), repeated(Buffer.concat(gzipWarc.map(fileBytes))));
  // Split apart: one member a record, false boundaries in payloads, no trailer that fools the head-only reader.
  const splittable = gzipWarc.filter(oneMemberARecord);
  writeFileSync(join(inputFolder, adversarialSplit), repeated(Buffer.concat(splittable.map(fileBytes))));
  names.push('adversarial-mixed.warc.gz', adversarialSplit);
  return names;
}

interface Export {
  readonly code: number | null;
  readonly summary: string;
  readonly ended: Map<string, unknown>;
  readonly rows: Map<string, Record<string, unknown>[]>;
}

async function exportAll(threads: number): Promise<Export> {
  const output = join(workFolder, `out-${threads}`);
  const split = threads > 1 ? 'on' : 'off';
  const args = ['--input', inputFolder, '--output', output, '--threads', String(threads), '--chunk-mb', '1'];
  const env = { PATH: process.env.PATH ?? '', HOME: workFolder, LOG_LEVEL: 'info' };
  const exit = await runWorkerCommand(
    [...args, '--split-decode', split, '--metrics', 'none'],
    { cwd: workFolder, env },
    300_000,
  );
  const summary = /records \d+ \(bad \d+, skipped \d+\), rows \d+/.exec(exit.stderr)?.[0] ?? '';
  expect(summary, exit.stderr).not.toBe('');
  return { code: exit.code, summary, ended: endedLines(exit.stderr), rows: await rowsByInput(output) };
}

/** The `job ended` line of each input, without what differs between runs (the job id). */
function endedLines(stderr: string): Map<string, unknown> {
  const ended = new Map<string, unknown>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.message !== 'job ended') continue;
    const { input, outcome, failure, rows, badByReason, skippedByReason, warningByReason } = entry;
    ended.set(String(input), { outcome, failure, rows, badByReason, skippedByReason, warningByReason });
  }
  return ended;
}

/** The rows of each object, by its path below the output, in the object's order. */
async function rowsByInput(output: string): Promise<Map<string, Record<string, unknown>[]>> {
  const byObject = new Map<string, Record<string, unknown>[]>();
  for (const object of walk(output).filter((path) => path.endsWith('.parquet')))
    byObject.set(
      relative(output, object),
      await duckdbRows(`SELECT * FROM read_parquet('${object}', hive_partitioning = false)`),
    );
  return byObject;
}

describe('split decoding of every writer’s files, end to end', () => {
  it('exports the same rows and counts with two threads, split, as with one', async () => {
    const names = writeInputs();
    const one = await exportAll(1);
    const two = await exportAll(2);
    expect(two.code).toBe(one.code);
    expect(two.summary).toBe(one.summary);
    expect(one.ended.size).toBe(names.length);
    for (const [input, ended] of one.ended) expect(two.ended.get(input), input).toEqual(ended);
    expect([...two.rows.keys()].sort()).toEqual([...one.rows.keys()].sort());
    for (const [name, rows] of one.rows) expect(two.rows.get(name), name).toEqual(rows);
    expect([...one.rows.values()].reduce((sum, rows) => sum + rows.length, 0)).toBeGreaterThan(10_000);
  }, 600_000);

  it('gives inputs whose chunks the split rule accepts apart, not only ones that fall back', () => {
    // The worker does not say which jobs fell back; the rule over the same 1 MiB chunks does.
    // A false boundary decoded again end to end is worker-split-decode.test.ts's `fooled` file.
    for (const name of ['resiliparse-cc-2020-34-excerpt.warc.gz', 'warcio-example.warc.gz', adversarialSplit]) {
      const chunks = chunksOf(readFileSync(join(inputFolder, name)), 1024 * 1024);
      expect(decodeSplit(inputNamed(name), chunks, {}).fellBackAt, name).toBeNull();
    }
  });
});
