/**
 * The real binary on a corpus of bad input (test/fixtures-gen/damaged-warc.ts): every shared
 * fixture, broken ones included; truncation at and inside gzip members and plain records;
 * seeded byte flips; wrong Content-Length values; files that are not WARC; empty files; a
 * 2 GiB header line that never ends; and intact files among them. Read in 1 MiB chunks, so
 * records and members straddle chunks. Proves that the run ends (exit 3, never 1, no fatal)
 * with every input either exported or failed for good as its damage dictates, the reason
 * named; that exported files hold the rows an independent reader (warcio) finds in what
 * survived, and the bad records are counted by reason per input; that no temporary file is
 * left in the output; that the worker's memory stays bounded while it inflates the 2 GiB
 * line; and that a run with only recoverable damage exits 0 with its bad records counted.
 * The corpus runs with `--inflate full`, whose CRC check is what finds a flipped body byte.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import zlib from 'node:zlib';
import { rowsByFile } from '../support/parquet-rows.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CorpusFile,
  type Damage,
  flipSource,
  recordPlaces,
  writeDamagedCorpus,
} from '../fixtures-gen/damaged-warc.ts';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';

const binary = resolve(import.meta.dirname, '../../cmd/worker');
const workFolder = mkdtempSync(join(tmpdir(), 'worker-bad-input-'));
const corpusFolder = join(workFolder, 'corpus');
/** 2 GiB of one byte on one header line: 32,768 times the decoder's 64 KiB line limit. */
const endlessLineMebibytes = 2048;
/** Measured about 340–420 MB with the 2 GiB line; before the streaming inflater's output was bounded, 1.6 GB. */
const peakRssBytesMax = 600 * 1024 * 1024;
const runTimeoutMs = 150_000;
const rowTypes = new Set(['response', 'revisit', 'resource']);
/** `status` lists the first 20 failed jobs (adapters/ledger/open-ledger.ts). */
const statusFailedListedMax = 20;

interface WorkerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  peakRssBytes: number;
}

const children = new Set<ReturnType<typeof spawn>>();

/** Runs the binary, sampling its peak RSS (VmHWM) from /proc until it exits; killed past `runTimeoutMs`. */
function runWorker(args: string[]): Promise<WorkerRun> {
  const child = spawn(process.execPath, [binary, ...args], {
    cwd: workFolder,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let peakRssBytes = 0;
  child.stdout!.on('data', (data: Buffer) => {
    stdout += data.toString('utf8');
  });
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString('utf8');
  });
  const sample = () => {
    const match = /VmHWM:\s+(\d+) kB/.exec(readStatus(child.pid));
    if (match !== null) peakRssBytes = Math.max(peakRssBytes, Number(match[1]) * 1024);
  };
  const sampler = setInterval(sample, 50);
  const killer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
  return new Promise((done) => {
    child.on('exit', () => clearInterval(sampler));
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      children.delete(child);
      done({ code, signal, stdout, stderr, peakRssBytes });
    });
  });
}

function readStatus(pid: number | undefined): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

/** What the worker must do with one input. */
type Expected =
  | {
      readonly outcome: 'committed';
      readonly rowsMin: number;
      readonly rowsMax: number;
      readonly bad: Readonly<Record<string, number>> | 'one damaged member';
      /** A cut that may or may not leave the file's only capture: the job may fail as giving no row. */
      readonly mayFailNoRow?: true;
    }
  | { readonly outcome: 'failed'; readonly reason: RegExp };

/** Bytes of a shared fixture. */
function shared(source: string): Buffer {
  return readFileSync(join(sharedFixtureRoot, source));
}

/** Rows warcio finds: records of a row type in an intact WARC file (or an intact prefix of one). */
async function warcioRows(bytes: Uint8Array): Promise<number> {
  return (await recordPlaces(bytes)).filter((place) => rowTypes.has(place.type)).length;
}

/**
 * The broken shared fixtures, by their README. "truncated input: the body stops at 75,207 of
 * 88,275 bytes", in the only member of clipped.warc.gz: its one record is lost, so the file
 * gives no row and its job fails. (example-trunc.warc and example-bad-length.warc, whose
 * Content-Length is a byte or two short, are read whole as warcio reads them.)
 */
const failedShared: Record<string, RegExp> = {
  'resiliparse/clipped.warc.gz': /no row, every record was bad \(truncated_gzip_member 1\)/,
};

/** Whether the bytes hold one whole WARC header: else the decoder reads no record and the job fails. */
function holdsWholeWarcHeader(bytes: Buffer): boolean {
  let text: Buffer;
  try {
    text = bytes[0] === 0x1f ? zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : bytes;
  } catch {
    return false;
  }
  return /^WARC\/\d\.\d\r\n[\s\S]*?\r\n\r\n/.test(text.toString('latin1'));
}

function committed(
  rowsMin: number,
  rowsMax: number,
  bad: Readonly<Record<string, number>> | 'one damaged member',
): Expected {
  return { outcome: 'committed', rowsMin, rowsMax, bad };
}

const noRowReason = /no row, every record was bad/;

/**
 * A file that gives no row while records in it were bad fails, unless capture records of other
 * types (request, metadata) were read: a warcinfo describes the file and does not count.
 * `othersRead` says whether such records survive the damage.
 */
function withNoRowRule(expected: Expected, othersRead: boolean): Expected {
  if (expected.outcome !== 'committed' || othersRead) return expected;
  const damaged = expected.bad === 'one damaged member' || Object.keys(expected.bad).length > 0;
  if (!damaged || expected.rowsMin > 0) return expected;
  if (expected.rowsMax === 0) return { outcome: 'failed', reason: noRowReason };
  return { ...expected, mayFailNoRow: true };
}

/** Whether the records of `places` (those that survive) hold a capture record that makes no row. */
function holdsOtherCaptures(places: readonly { readonly type: string }[]): boolean {
  return places.some((place) => !rowTypes.has(place.type) && place.type !== 'warcinfo');
}

/** Settles a cut whose outcome the file alone does not tell by what the run did, within the two it allows. */
function settled(expected: Expected, failure: string | undefined): Expected {
  if (expected.outcome !== 'committed' || expected.mayFailNoRow !== true || failure === undefined) return expected;
  return noRowReason.test(failure) ? { outcome: 'failed', reason: noRowReason } : expected;
}

/** Rows of the records wholly before record (or member) `index` of an intact file. */
async function rowsBefore(bytes: Buffer, index: number): Promise<number> {
  const places = await recordPlaces(bytes);
  return places.slice(0, index).filter((place) => rowTypes.has(place.type)).length;
}

/** The expectation for a file, from what was done to it; counts from warcio or the file's text. */
async function expectationOf(file: CorpusFile, bytes: Buffer): Promise<Expected> {
  const damage = file.damage;
  switch (damage.kind) {
    case 'shared fixture': {
      const failure = failedShared[damage.source];
      if (failure !== undefined) return { outcome: 'failed', reason: failure };
      const rows = await warcioRows(bytes);
      return committed(rows, rows, {});
    }
    case 'generated intact':
    case 'cut at member start':
    case 'cut at record start': {
      // What is left is an intact WARC file.
      const rows = await warcioRows(bytes);
      return committed(rows, rows, {});
    }
    case 'cut inside member':
      return cutInsideMember(damage, bytes);
    case 'cut inside record': {
      if (!holdsWholeWarcHeader(bytes))
        return {
          outcome: 'failed',
          reason: /not a WARC file, no WARC record found \(damage seen: truncated_record 1\)/,
        };
      // A plain record cut short is never a row; the records before it are.
      const rows = await rowsBefore(shared(damage.source), damage.record);
      const read = (await recordPlaces(shared(damage.source))).slice(0, damage.record);
      return withNoRowRule(committed(rows, rows, { truncated_record: 1 }), holdsOtherCaptures(read));
    }
    case 'byte flipped':
      return flipped(damage);
    case 'wrong Content-Length': {
      // The damaged record (a response) is lost, and only it.
      const rows = (await warcioRows(shared(damage.source))) - 1;
      const reason =
        damage.how === 'too long' || damage.how === 'too short' ? 'wrong_content_length' : 'invalid_content_length';
      // A length too long may swallow the records after the damaged one: only those before it are sure.
      const places = await recordPlaces(shared(damage.source));
      const expected = withNoRowRule(
        committed(rows, rows, { [reason]: 1 }),
        holdsOtherCaptures(places.slice(0, damage.record)),
      );
      const afterMayCount = holdsOtherCaptures(places.slice(damage.record + 1));
      if (expected.outcome !== 'failed' || !afterMayCount) return expected;
      return { outcome: 'committed', rowsMin: rows, rowsMax: rows, bad: { [reason]: 1 }, mayFailNoRow: true };
    }
    case 'not WARC':
      return { outcome: 'failed', reason: /not a WARC file, no WARC record found \(damage seen: non_warc_data 1\)/ };
    case 'empty':
      return {
        outcome: 'failed',
        reason: bytes.length === 0 ? /empty file, no WARC record/ : /not a WARC file, no WARC record found$/,
      };
    case 'endless header line': {
      if (damage.between === null)
        return {
          outcome: 'failed',
          reason: /not a WARC file, no WARC record found \(damage seen: warc_header_line_too_long 1\)/,
        };
      const rows = 2 * (await warcioRows(shared(damage.between)));
      return committed(rows, rows, { warc_header_line_too_long: 1 });
    }
  }
}

/**
 * A gzip member cut short: the records of the members before it come out, the member is counted
 * as truncated; cut in its gzip header nothing of it comes out, cut in its trailer all of it
 * was inflated (its record may make a row), cut in the middle either.
 */
async function cutInsideMember(
  damage: Extract<Damage, { kind: 'cut inside member' }>,
  bytes: Buffer,
): Promise<Expected> {
  if (!holdsWholeWarcHeader(bytes))
    return {
      outcome: 'failed',
      reason: /not a WARC file, no WARC record found \(damage seen: truncated_gzip_member 1\)/,
    };
  const source = shared(damage.source);
  const before = await rowsBefore(source, damage.member);
  const through = await rowsBefore(source, damage.member + 1);
  const bad = { truncated_gzip_member: 1 };
  const places = await recordPlaces(source);
  const othersBefore = holdsOtherCaptures(places.slice(0, damage.member));
  if (damage.where === 'gzip header') return withNoRowRule(committed(before, before, bad), othersBefore);
  if (damage.where === 'gzip trailer')
    return withNoRowRule(committed(through, through, bad), holdsOtherCaptures(places.slice(0, damage.member + 1)));
  return withNoRowRule(committed(before, through, bad), othersBefore);
}

/**
 * One flipped byte: harmless when the member it hit still inflates to the same bytes (a
 * header's time or OS byte); otherwise that member's record is lost, counted once, and every
 * other record comes out.
 */
async function flipped(damage: Extract<Damage, { kind: 'byte flipped' }>): Promise<Expected> {
  const source = shared(damage.source);
  const places = await recordPlaces(source);
  const total = places.filter((place) => rowTypes.has(place.type)).length;
  const hit = places.find((place) => damage.position >= place.offset && damage.position < place.offset + place.length)!;
  const member = Buffer.from(source.subarray(hit.offset, hit.offset + hit.length));
  member[damage.position - hit.offset] = member[damage.position - hit.offset]! ^ damage.xor;
  let harmless: boolean;
  try {
    harmless = zlib.gunzipSync(member).equals(zlib.gunzipSync(source.subarray(hit.offset, hit.offset + hit.length)));
  } catch {
    harmless = false;
  }
  if (harmless) return committed(total, total, {});
  const rows = total - (rowTypes.has(hit.type) ? 1 : 0);
  const others = holdsOtherCaptures(places.filter((place) => place !== hit));
  return withNoRowRule(committed(rows, rows, 'one damaged member'), others);
}

/** Reasons a damaged gzip member is counted under. */
const memberDamageReasons = new Set(['corrupt_gzip_member', 'gzip_checksum_mismatch', 'non_gzip_data']);

/** What the summary on stderr says about each input. */
interface Reported {
  readonly exported: boolean;
  readonly failures: Map<string, string>;
  readonly badByInput: Map<string, Record<string, number>>;
  readonly badTotals: Record<string, number>;
}

/** `code n, code n` (a line per input, `, ` between), or `code n (message); code n (message)` (the run's totals). */
function parseReasonCounts(text: string, separator: ', ' | '; '): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const part of text.split(separator)) {
    const match = /^([a-z0-9_]+) (\d+)(?: \([^();]+\))?$/.exec(part);
    if (match === null) throw new Error(`not a reason count: ${part}`);
    counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

function parseSummary(stderr: string): Reported {
  const failures = new Map<string, string>();
  const badByInput = new Map<string, Record<string, number>>();
  let badTotals: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    const failed = /^ {2}failed: (\S+): (.*)$/.exec(line);
    if (failed !== null) failures.set(failed[1]!, failed[2]!);
    const damaged = /^ {2}exported with bad records: (\S+): (.*)$/.exec(line);
    if (damaged !== null) badByInput.set(damaged[1]!, parseReasonCounts(damaged[2]!, ', '));
    const totals = /^ {2}bad records by reason: (.*)$/.exec(line);
    if (totals !== null) badTotals = parseReasonCounts(totals[1]!, '; ');
  }
  return { exported: /files exported/.test(stderr), failures, badByInput, badTotals };
}

/** `job ended` and `job failed` log lines, by input and by job. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every file below `folder` but the embedded ledger's, relative to it. */
function filesBelow(folder: string): string[] {
  const walk = (at: string): string[] =>
    readdirSync(at).flatMap((name) => {
      const path = join(at, name);
      if (name === '.ledger') return [];
      return statSync(path).isDirectory() ? walk(path) : [relative(folder, path)];
    });
  return walk(folder);
}

/** A `.warc.gz` input drops that ending; any other keeps its whole name. */
function parquetKey(name: string): string {
  return `crawl=unknown/subset=unknown/${name.replace(/\.warc\.gz$/, '')}.parquet`;
}

function sumCounts(counts: Iterable<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const count of counts) for (const [reason, n] of Object.entries(count)) sum[reason] = (sum[reason] ?? 0) + n;
  return sum;
}

let corpus: CorpusFile[] = [];
const expectations = new Map<string, Expected>();
let run: WorkerRun;
let reported: Reported;

beforeAll(async () => {
  corpus = await writeDamagedCorpus(corpusFolder, {
    endlessLineMebibytes,
    endlessLineBetweenMebibytes: 256,
    flips: 10,
    seed: 8,
    generatedBytes: 3_000_000,
  });
  for (const file of corpus)
    expectations.set(file.name, await expectationOf(file, readFileSync(join(corpusFolder, file.name))));
  // Full inflate: the expectations count a flipped byte anywhere in a member as that member's
  // damage, which only the CRC check finds; head-only reading skips bodies unchecked
  // (docs/operations.md) and is held to the full path's rows by head-only-inflate.test.ts.
  run = await runWorker([
    ...['--input', corpusFolder, '--output', 'out', '--metrics', 'none', '--chunk-mb', '1'],
    ...['--inflate', 'full'],
  ]);
  reported = parseSummary(run.stderr);
  for (const file of corpus) {
    const expected = expectations.get(file.name);
    if (expected !== undefined) {
      expectations.set(file.name, settled(expected, reported.failures.get(join(corpusFolder, file.name))));
    }
  }
}, 200_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(workFolder, { recursive: true, force: true });
});

describe('node cmd/worker on bad input', () => {
  it('builds a corpus with every kind of damage and intact files among it', () => {
    const kinds = new Set(corpus.map((file) => file.damage.kind));
    expect([...kinds].sort()).toEqual([
      'byte flipped',
      'cut at member start',
      'cut at record start',
      'cut inside member',
      'cut inside record',
      'empty',
      'endless header line',
      'generated intact',
      'not WARC',
      'shared fixture',
      'wrong Content-Length',
    ]);
    const sharedFixtures = corpus
      .filter((file) => file.damage.kind === 'shared fixture')
      .map((file) => (file.damage as { source: string }).source);
    for (const broken of Object.keys(failedShared)) expect(sharedFixtures).toContain(broken);
    expect(
      corpus
        .filter((file) => file.damage.kind === 'byte flipped')
        .every((file) => (file.damage as { source: string }).source === flipSource),
    ).toBe(true);
  });

  it('finishes with exit 3, neither crashing nor hanging', () => {
    expect(run.signal, run.stderr.slice(-2000)).toBeNull();
    expect(run.code, run.stderr.slice(-2000)).toBe(3);
    expect(run.stderr).not.toMatch(/"level":"(error|fatal)"|fatal/i);
    expect(reported.exported).toBe(true);
  });

  it('exports or fails every input as its damage dictates, naming the reason of each failure', () => {
    const failedNames = new Set([...reported.failures.keys()].map((uri) => relative(corpusFolder, uri)));
    for (const file of corpus) {
      const expected = expectations.get(file.name)!;
      const uri = join(corpusFolder, file.name);
      if (expected.outcome === 'failed') {
        expect(failedNames.has(file.name), `${file.name} should fail: ${JSON.stringify(file.damage)}`).toBe(true);
        const reason = reported.failures.get(uri)!;
        expect(reason, file.name).toMatch(expected.reason);
        expect(reason, file.name).toContain(uri);
        expect(existsSync(join(workFolder, 'out', parquetKey(file.name))), file.name).toBe(false);
      } else {
        expect(failedNames.has(file.name), `${file.name} should be exported: ${reported.failures.get(uri)}`).toBe(
          false,
        );
        expect(existsSync(join(workFolder, 'out', parquetKey(file.name))), file.name).toBe(true);
      }
    }
    expect(reported.failures.size).toBe(
      [...expectations.values()].filter((expected) => expected.outcome === 'failed').length,
    );
  });

  it('fails bad files for good at once (input fault, no retry) and logs one ending per input', () => {
    const lines = logLines(run.stderr);
    const failedLines = lines.filter((line) => line.message === 'job failed');
    for (const line of failedLines) expect(line.failure).toMatchObject({ fault: 'input', retryable: false });
    // One failure a job: a retry would log the job again.
    const jobIds = failedLines.map((line) => line.jobId);
    expect(new Set(jobIds).size).toBe(jobIds.length);
    expect(jobIds).toHaveLength(reported.failures.size);
    const ended = lines.filter((line) => line.message === 'job ended');
    expect(ended.map((line) => relative(corpusFolder, String(line.input))).sort()).toEqual(
      corpus.map((file) => file.name).sort(),
    );
    for (const line of ended) {
      const expected = expectations.get(relative(corpusFolder, String(line.input)))!;
      expect(line.outcome, String(line.input)).toBe(expected.outcome);
    }
  });

  it('writes the rows an independent reader finds in what survived of each exported file', async () => {
    const rows = await rowsByFile(join(workFolder, 'out'));
    for (const file of corpus) {
      const expected = expectations.get(file.name)!;
      if (expected.outcome !== 'committed') continue;
      const written = rows.get(file.name) ?? 0;
      expect(written, `${file.name}: ${JSON.stringify(file.damage)}`).toBeGreaterThanOrEqual(expected.rowsMin);
      expect(written, `${file.name}: ${JSON.stringify(file.damage)}`).toBeLessThanOrEqual(expected.rowsMax);
    }
    // Intact files are complete: one row per response, revisit and resource record warcio reads.
    const intact = corpus.filter(
      (file) =>
        file.damage.kind === 'generated intact' ||
        (file.damage.kind === 'shared fixture' && failedShared[file.damage.source] === undefined),
    );
    expect(intact.length).toBeGreaterThanOrEqual(10);
    for (const file of intact)
      expect(rows.get(file.name) ?? 0, file.name).toBe(await warcioRows(readFileSync(join(corpusFolder, file.name))));
  });

  it("counts the bad records of each exported file by reason, and the run's by reason", () => {
    for (const file of corpus) {
      const expected = expectations.get(file.name)!;
      if (expected.outcome !== 'committed') continue;
      const bad = reported.badByInput.get(join(corpusFolder, file.name)) ?? {};
      if (expected.bad === 'one damaged member') {
        expect(Object.values(bad), file.name).toEqual([1]);
        expect(memberDamageReasons.has(Object.keys(bad)[0]!), `${file.name}: ${JSON.stringify(bad)}`).toBe(true);
      } else {
        expect(bad, `${file.name}: ${JSON.stringify(file.damage)}`).toEqual(expected.bad);
      }
    }
    // The run's totals hold the exported inputs' counts, and what failed inputs counted before they failed.
    const exported = sumCounts(reported.badByInput.values());
    const failures = [...reported.failures.values()].join('\n');
    for (const [reason, count] of Object.entries(reported.badTotals)) {
      expect(count, reason).toBeGreaterThanOrEqual(exported[reason] ?? 0);
      if (count > (exported[reason] ?? 0)) expect(failures, reason).toContain(`damage seen: ${reason}`);
    }
    expect(Object.keys(reported.badTotals)).toEqual(expect.arrayContaining(Object.keys(exported)));
  });

  it('leaves no temporary or half-written file in the output', () => {
    const files = filesBelow(join(workFolder, 'out'));
    expect(
      files.filter((name) => !name.endsWith('.parquet') || name.split('/').some((part) => part.startsWith('.'))),
    ).toEqual([]);
    expect(files).toHaveLength(
      [...expectations.values()].filter((expected) => expected.outcome === 'committed').length,
    );
  });

  it('keeps its memory bounded while it reads a 2 GiB header line', () => {
    expect(run.peakRssBytes).toBeGreaterThan(0);
    expect(run.peakRssBytes).toBeLessThan(peakRssBytesMax);
  });

  it(
    'exits 0 on a run with only recoverable damage, counting the same bad records in 32 MiB chunks as in 1 MiB ones',
    async () => {
      const recoverable = corpus.filter((file) => {
        const expected = expectations.get(file.name)!;
        return expected.outcome === 'committed' && file.damage.kind !== 'endless header line';
      });
      const folder = join(workFolder, 'recoverable');
      for (const file of recoverable) {
        mkdirSync(dirname(join(folder, file.name)), { recursive: true });
        copyFileSync(join(corpusFolder, file.name), join(folder, file.name));
      }
      const again = await runWorker([
        ...['--input', folder, '--output', 'out-recoverable', '--metrics', 'none'],
        ...['--inflate', 'full'],
      ]);
      expect(again.code, again.stderr.slice(-2000)).toBe(0);
      expect(again.stderr).toContain(`${recoverable.length} files exported, 0 failed`);
      const damaged = parseSummary(again.stderr).badByInput;
      expect(damaged.size).toBeGreaterThan(20);
      for (const file of recoverable) {
        expect(damaged.get(join(folder, file.name)), file.name).toEqual(
          reported.badByInput.get(join(corpusFolder, file.name)),
        );
      }
      const rows = await rowsByFile(join(workFolder, 'out-recoverable'));
      const firstRows = await rowsByFile(join(workFolder, 'out'));
      for (const file of recoverable) expect(rows.get(file.name), file.name).toBe(firstRows.get(file.name));
    },
    runTimeoutMs,
  );

  it('records every outcome in the ledger, where `status --json` lists the failures with their reasons', async () => {
    const status = await runWorker(['status', '--json', '--input', corpusFolder, '--output', 'out']);
    expect(status.code, status.stderr).toBe(0);
    const printed = JSON.parse(status.stdout) as {
      done: number;
      failed: number;
      remaining: number;
      failedJobs: { uri: string; lastError: string | null }[];
      badByReasonDone: Record<string, number>;
    };
    const failed = [...expectations.values()].filter((expected) => expected.outcome === 'failed').length;
    expect(printed).toMatchObject({ done: corpus.length - failed, failed, remaining: 0 });
    // The done jobs' bad records by code, as the ledger stored them: those the summary named per exported input.
    expect(printed.badByReasonDone).toEqual(sumCounts(reported.badByInput.values()));
    expect(printed.failedJobs.length).toBe(Math.min(failed, statusFailedListedMax));
    for (const job of printed.failedJobs) expect(job.lastError, job.uri).toContain(reported.failures.get(job.uri));
  });
});
