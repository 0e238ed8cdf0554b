/**
 * End-to-end tests of the real binary on CommonCrawl's WET and WAT files: a folder holding a
 * WARC file and the WET and WAT files made from it exports three objects that never share a
 * key, the WET rows with the page's URL, date and languages and no status, the WAT rows with
 * the envelope's URL; damaged ones (broken JSON, an envelope or a text without URL) export what
 * survives, each bad record counted by its code in the run's summary; `cc:` with
 * `--cc-subset wet|wat` (or CC_SUBSET) reads the crawl's `wet.paths.gz` or `wat.paths.gz` from
 * a loopback HTTP tree into the `subset=wet|wat` partition beside the WARC export, each subset
 * a run of its own (flag, CC_SUBSET and YAML `ccSubset` in their precedence); and a
 * `--cc-subset` that is no subset is exit 2 with one line.
 */
import { duckdbRows } from '../support/parquet-rows.ts';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedFixtureRoot } from '../support/shared-fixtures.ts';
import { loadWorkerConfig } from '../../cmd/worker/worker-config.ts';
import { runIdOf } from '../../cmd/worker/wiring.ts';
import { derivedFile, watEnvelope } from '../fixtures-gen/derived-warc.ts';
import { type CommonCrawlHttpServer, startCommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import {
  localWorkerOptions,
  oneThreadNoMetrics,
  runWorkerCommand,
  type WorkerExit,
} from '../support/worker-process.ts';

const fixtures = join(sharedFixtureRoot, 'commoncrawl');
const workFolder = mkdtempSync(join(tmpdir(), 'worker-wet-wat-'));

const crawl = 'CC-MAIN-2024-22';
const segmentPath = `crawl-data/${crawl}/segments/1715971057216.39`;
const stem = 'CC-MAIN-20240517233122-20240518023122-00000';
/** Where CommonCrawl keeps the whirlwind fixtures: the WARC and the WET and WAT made from it. */
const ccPaths = {
  warc: `${segmentPath}/warc/${stem}.warc.gz`,
  wet: `${segmentPath}/wet/${stem}.warc.wet.gz`,
  wat: `${segmentPath}/wat/${stem}.warc.wat.gz`,
} as const;
const fixtureOf = { warc: 'whirlwind.warc.gz', wet: 'whirlwind.warc.wet.gz', wat: 'whirlwind.warc.wat.gz' } as const;

/** Runs the binary without blocking this process's event loop, which serves the HTTP tree. */
function runWorker(args: string[], extra: Record<string, string> = {}): Promise<WorkerExit> {
  return runWorkerCommand([...args, ...oneThreadNoMetrics], localWorkerOptions(workFolder, extra));
}

const columns =
  'url, fetch_time::VARCHAR AS fetch_time, fetch_status, content_mime_type, content_languages, subset, warc_filename';

function rowsOf(object: string): Promise<Record<string, unknown>[]> {
  return duckdbRows(`SELECT ${columns} FROM read_parquet('${object}', hive_partitioning = false)`);
}

function objectsBelow(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.parquet'))
    .sort();
}

let server: CommonCrawlHttpServer;

beforeAll(async () => {
  const files = new Map<string, Uint8Array>();
  for (const subset of ['warc', 'wet', 'wat'] as const) {
    files.set(ccPaths[subset], new Uint8Array(readFileSync(join(fixtures, fixtureOf[subset]))));
    files.set(`crawl-data/${crawl}/${subset}.paths.gz`, new Uint8Array(gzipSync(`${ccPaths[subset]}\n`)));
  }
  server = await startCommonCrawlHttpServer(files);
});

afterAll(async () => {
  await server.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

describe('WET and WAT files in a folder', () => {
  it('export beside their WARC file under names of their own, with the rows their records give', async () => {
    const input = join(workFolder, 'local');
    mkdirSync(input);
    for (const name of Object.values(fixtureOf)) copyFileSync(join(fixtures, name), join(input, name));
    const output = join(workFolder, 'local-out');
    const run = await runWorker(['--input', input, '--output', output]);
    expect(run.stderr).toContain('3 files exported, 0 failed');
    expect(run.code).toBe(0);
    const prefix = 'crawl=unknown/subset=unknown/';
    expect(objectsBelow(output)).toEqual(
      ['whirlwind.parquet', 'whirlwind.warc.wat.gz.parquet', 'whirlwind.warc.wet.gz.parquet'].map(
        (name) => `${prefix}${name}`,
      ),
    );
    const capture = {
      url: 'https://an.wikipedia.org/wiki/Escopete',
      fetch_time: '2024-05-18 01:58:10',
      subset: null,
    };
    expect(await rowsOf(join(output, prefix, 'whirlwind.warc.wet.gz.parquet'))).toEqual([
      {
        ...capture,
        fetch_status: null,
        content_mime_type: 'text/plain',
        content_languages: 'spa',
        warc_filename: 'whirlwind.warc.wet.gz',
      },
    ]);
    expect(await rowsOf(join(output, prefix, 'whirlwind.warc.wat.gz.parquet'))).toEqual([
      {
        ...capture,
        fetch_status: null,
        content_mime_type: 'application/json',
        content_languages: null,
        warc_filename: 'whirlwind.warc.wat.gz',
      },
    ]);
    // The WARC export is the one it was before WET and WAT were read: the response's row.
    const warcRows = await rowsOf(join(output, prefix, 'whirlwind.parquet'));
    expect(warcRows.map((row) => [row.url, row.fetch_status, row.content_mime_type])).toEqual([
      [capture.url, 200, 'text/html'],
    ]);
  });
});

describe('damaged WET and WAT files', () => {
  it('export what survives and count each bad record by its code in the run summary', async () => {
    const input = join(workFolder, 'damaged');
    mkdirSync(input);
    const good = {
      'WARC-Type': 'response',
      'WARC-Target-URI': 'https://example.com/',
      'WARC-Date': '2024-05-18T01:58:10Z',
    };
    writeFileSync(
      join(input, 'd.warc.wat.gz'),
      await derivedFile([
        { type: 'metadata', url: 'https://example.com/', block: watEnvelope(good, '200') },
        { type: 'metadata', url: 'https://example.com/cut', block: '{"Envelope": {' },
        { type: 'metadata', url: 'https://example.com/none', block: watEnvelope({ 'WARC-Type': 'request' }) },
      ]),
    );
    writeFileSync(
      join(input, 'd.warc.wet.gz'),
      await derivedFile([
        { type: 'conversion', url: 'https://example.com/', block: 'text' },
        { type: 'conversion', block: 'no target' },
      ]),
    );
    const output = join(workFolder, 'damaged-out');
    const run = await runWorker(['--input', input, '--output', output]);
    expect(run.stderr).toContain('2 files exported, 0 failed');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/wat_envelope_not_json 1\b/);
    expect(run.stderr).toMatch(/wat_envelope_without_url 1\b/);
    expect(run.stderr).toMatch(/missing_warc_target_uri 1\b/);
    const rows = await duckdbRows(
      `SELECT warc_filename, url, fetch_status FROM read_parquet('${output}/**/*.parquet', hive_partitioning = false) ORDER BY warc_filename`,
    );
    expect(rows).toEqual([
      { warc_filename: 'd.warc.wat.gz', url: 'https://example.com/', fetch_status: 200 },
      { warc_filename: 'd.warc.wet.gz', url: 'https://example.com/', fetch_status: null },
    ]);
  });
});

describe('cc: inputs by subset', () => {
  it('reads the crawl’s wet.paths.gz and wat.paths.gz into their partitions, each subset a run of its own', async () => {
    const output = join(workFolder, 'cc-out');
    const base = ['--input', `cc:${crawl}`, '--cc-base', server.baseUrl, '--output', output];
    const warc = await runWorker(base);
    const wet = await runWorker([...base, '--cc-subset', 'wet']);
    const wat = await runWorker(base, { CC_SUBSET: 'wat' });
    for (const run of [warc, wet, wat]) {
      expect(run.stderr).toContain('1 file exported, 0 failed');
      expect(run.code).toBe(0);
    }
    expect(objectsBelow(output)).toEqual([
      `crawl=${crawl}/subset=warc/${stem}.parquet`,
      `crawl=${crawl}/subset=wat/${stem}.warc.wat.gz.parquet`,
      `crawl=${crawl}/subset=wet/${stem}.warc.wet.gz.parquet`,
    ]);
    const rows = await duckdbRows(
      `SELECT subset, warc_filename, content_mime_type, content_languages, fetch_status FROM read_parquet('${output}/**/*.parquet', hive_partitioning = false) ORDER BY subset`,
    );
    expect(rows).toEqual([
      {
        subset: 'warc',
        warc_filename: ccPaths.warc,
        content_mime_type: 'text/html',
        content_languages: 'spa',
        fetch_status: 200,
      },
      {
        subset: 'wat',
        warc_filename: ccPaths.wat,
        content_mime_type: 'application/json',
        content_languages: null,
        fetch_status: null,
      },
      {
        subset: 'wet',
        warc_filename: ccPaths.wet,
        content_mime_type: 'text/plain',
        content_languages: 'spa',
        fetch_status: null,
      },
    ]);
    const manifests = server.requests.map((request) => request.path).filter((path) => path.endsWith('.paths.gz'));
    expect(new Set(manifests)).toEqual(
      new Set(['warc', 'wet', 'wat'].map((subset) => `/crawl-data/${crawl}/${subset}.paths.gz`)),
    );
  });

  it('derives a run id per subset, the warc one unchanged by the option', () => {
    const idOf = (args: string[], extra: Record<string, string> = {}) =>
      runIdOf(loadWorkerConfig(['--input', `cc:${crawl}`, '--output', 'out', ...args], extra));
    // The id runs got before the option, so that they resume as they were.
    const before = `run-${createHash('sha256').update(`cc:${crawl}\nout`).digest('hex').slice(0, 12)}`;
    expect(idOf([])).toBe(before);
    expect(idOf(['--cc-subset', 'warc'])).toBe(before);
    const ids = [idOf([]), idOf(['--cc-subset', 'wet']), idOf([], { CC_SUBSET: 'wat' })];
    expect(new Set(ids).size).toBe(3);
    // Inputs that are no cc: crawl name their files themselves: the option does not change their run.
    const local = (args: string[]) =>
      runIdOf(loadWorkerConfig(['--input', 'x.warc.wet.gz', '--output', 'out', ...args], {}));
    expect(local(['--cc-subset', 'wet'])).toBe(local([]));
  });

  it('takes the subset from the flag, then CC_SUBSET, then the YAML key ccSubset, else warc', () => {
    const yaml = join(workFolder, 'subset.yaml');
    writeFileSync(yaml, 'ccSubset: wat\n');
    const subsetOf = (args: string[], extra: Record<string, string>) => loadWorkerConfig(args, extra).ccSubset;
    expect(subsetOf([], {})).toBe('warc');
    expect(subsetOf(['--config', yaml], {})).toBe('wat');
    expect(subsetOf(['--config', yaml], { CC_SUBSET: 'warc' })).toBe('warc');
    expect(subsetOf(['--config', yaml, '--cc-subset', 'wet'], { CC_SUBSET: 'warc' })).toBe('wet');
  });

  it('exits 2 with one line for a subset CommonCrawl does not publish', async () => {
    for (const [args, extra] of [
      [['--cc-subset', 'wart'], {}],
      [[], { CC_SUBSET: 'WET' }],
    ] as const) {
      const run = await runWorker(['--input', `cc:${crawl}`, '--cc-base', server.baseUrl, ...args], extra);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain('--cc-subset must be one of warc, wet, wat');
    }
  });
});
