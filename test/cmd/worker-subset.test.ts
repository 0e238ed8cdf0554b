/**
 * End-to-end tests of `--input index:…` with the real binary. A crawl of two CommonCrawl-like
 * files (one gzip member a record) is exported whole; DuckDB picks captures of that export and
 * writes the pick as the index (Parquet in SNAPPY, GZIP and ZSTD, and CSV), as a user would
 * from CommonCrawl's columnar index; the subset run must give exactly the picked rows, each
 * once, beside the whole-file export without overwriting it. Against a local folder, an HTTP
 * server on loopback (exact ranges asked, coalescing, a server that ignores Range, a burst of
 * 503s, the index itself read over HTTP) and S3 (s3rver behind a proxy that records every request and answers SlowDown: the
 * index named by a glob, exact ranges, one GET a file when coalesced, a burst of 503s each
 * counted as a throttle), and split in two static shards. A range
 * into the middle of a record is a counted bad record; overlapping ranges and an index
 * without the columns are exit 2 naming them.
 */
import { duckdbNumberRows } from '../support/parquet-rows.ts';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommonCrawlHttpServer, type CommonCrawlHttpServer } from '../support/commoncrawl-http-server.ts';
import { denseWarc } from '../support/dense-warc.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
import { localWorkerOptions, runWorkerCommand, type WorkerExit } from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-subset-'));
const crawlBase = join(workFolder, 'base');
const wholeOutput = join(workFolder, 'whole');
/** A worker run's bound: the longest test here makes two runs in 240 s. */
const runTimeoutMs = 120_000;
const segment = 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc';
const warcPaths = [0, 1].map((index) => `${segment}/CC-MAIN-20240517233122-20240518023122-0000${index}.warc.gz`);
const recordsPerFile = 120;

interface Capture {
  warc_filename: string;
  warc_record_offset: number;
  warc_record_length: number;
  url: string;
  content_digest: string;
}

let server: CommonCrawlHttpServer;
/** Every capture of the whole-file export, and the third of them the index picks. */
let captures: Capture[];
let picked: Capture[];

/** Runs the worker; `metrics` `stdout` writes a snapshot a second, and a last one, as JSON lines. */
function run(args: string[], extra: Record<string, string> = {}, metrics = 'none'): Promise<WorkerExit> {
  return runWorkerCommand(
    ['--metrics', metrics, '--threads', '1', ...args],
    localWorkerOptions(workFolder, extra, workFolder),
    runTimeoutMs,
  );
}

/** The last metrics snapshot a run wrote to stdout. */
function lastSnapshot(stdout: string): { counters: { throttles: number } } {
  const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`no metrics snapshot in ${stdout.slice(-500)}`);
  return JSON.parse(last) as { counters: { throttles: number } };
}

const captureColumns = 'warc_filename, warc_record_offset, warc_record_length, url, content_digest';

function capturesOf(parquetGlob: string): Promise<Capture[]> {
  return duckdbNumberRows<Capture>(
    `SELECT ${captureColumns} FROM read_parquet('${parquetGlob}') ORDER BY warc_filename, warc_record_offset`,
  );
}

/** DuckDB writes the pick: every third capture, as a query of the columnar index would. */
async function writeIndex(path: string, format: string): Promise<void> {
  const pick = `SELECT warc_filename, warc_record_offset, warc_record_length, url FROM read_parquet('${wholeOutput}/**/*.parquet')
    QUALIFY row_number() OVER (ORDER BY warc_filename, warc_record_offset) % 3 = 0`;
  await duckdbNumberRows(`COPY (${pick}) TO '${path}' (${format})`);
}

beforeAll(async () => {
  const files = new Map<string, Uint8Array>();
  warcPaths.forEach((path, index) => {
    const bytes = denseWarc(recordsPerFile, 17 + index);
    files.set(path, bytes);
    mkdirSync(join(crawlBase, segment), { recursive: true });
    writeFileSync(join(crawlBase, path), bytes);
  });
  server = await startCommonCrawlHttpServer(files);
  const whole = await run(['--input', join(crawlBase, 'crawl-data'), '--output', wholeOutput]);
  expect(whole.stderr).toContain('2 files exported, 0 failed');
  captures = await capturesOf(`${wholeOutput}/**/*.parquet`);
  expect(captures).toHaveLength(2 * recordsPerFile);
  picked = captures.filter((_, index) => (index + 1) % 3 === 0);
  await writeIndex(join(workFolder, 'pick-zstd.parquet'), "FORMAT parquet, COMPRESSION 'zstd'");
  // The server serves the index too, for `index:http://…`.
  files.set('queries/pick-zstd.parquet', new Uint8Array(readFileSync(join(workFolder, 'pick-zstd.parquet'))));
}, 120_000);

afterAll(async () => {
  await server.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

function rangesOf(requests: CommonCrawlHttpServer['requests']): string[] {
  return requests
    .filter((request) => request.method === 'GET' && request.range !== null && request.path.includes('.warc.gz'))
    .map((r) => r.range as string);
}

describe('a subset from a local folder', () => {
  it('exports exactly the picked captures, beside the whole-file export, for every codec DuckDB writes and CSV', async () => {
    for (const [name, format] of [
      ['pick-snappy.parquet', "FORMAT parquet, COMPRESSION 'snappy'"],
      ['pick-gzip.parquet', "FORMAT parquet, COMPRESSION 'gzip'"],
      ['pick-zstd.parquet', "FORMAT parquet, COMPRESSION 'zstd'"],
      ['pick.csv', 'FORMAT csv, HEADER true'],
    ] as const) {
      await writeIndex(join(workFolder, name), format);
      const output = join(workFolder, `local-${name}`);
      // The whole files first, into the same output: the subset must not overwrite them.
      await run(['--input', join(crawlBase, 'crawl-data'), '--output', output]);
      const result = await run([
        '--input',
        `index:${join(workFolder, name)}`,
        '--cc-base',
        crawlBase,
        '--output',
        output,
      ]);
      expect(result.stderr, name).toContain('2 files exported, 0 failed');
      expect(result.code).toBe(0);
      const keys = readdirSync(output, { recursive: true, encoding: 'utf8' }).filter((key) => key.endsWith('.parquet'));
      const subsetKeys = keys.filter((key) => /-0000\d\.[0-9a-f]{12}\.parquet$/.test(key));
      expect(subsetKeys, name).toHaveLength(2);
      expect(keys).toHaveLength(4);
      expect(await capturesOf(`${output}/**/*.*.parquet`)).toEqual(picked);
      expect(await capturesOf(`${output}/**/*-0000?.parquet`)).toEqual(captures);
    }
  }, 240_000);

  it('reads a range into the middle of a record as a bad record, counted, and the other picks', async () => {
    const target = picked[0] as Capture;
    const lines = [
      'warc_filename,warc_record_offset,warc_record_length',
      ...picked.map(
        (capture) => `${capture.warc_filename},${capture.warc_record_offset},${capture.warc_record_length}`,
      ),
      `${target.warc_filename},${target.warc_record_offset + 10},${target.warc_record_length - 10}`,
    ];
    // The shifted range overlaps its record's: it goes in an index of its own.
    const good = join(workFolder, 'good.csv');
    const shifted = join(workFolder, 'shifted.csv');
    writeFileSync(good, `${lines.slice(0, -1).join('\n')}\n`);
    writeFileSync(shifted, `${[lines[0], lines.at(-1), ...lines.slice(2, 4)].join('\n')}\n`);
    const output = join(workFolder, 'shifted');
    const result = await run(['--input', `index:${shifted}`, '--cc-base', crawlBase, '--output', output]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/bad 1\b/);
    expect(await capturesOf(`${output}/**/*.parquet`)).toEqual(picked.slice(1, 3));
    const overlapping = join(workFolder, 'overlapping.csv');
    writeFileSync(overlapping, `${lines.join('\n')}\n`);
    const refused = await run(['--input', `index:${overlapping}`, '--cc-base', crawlBase, '--output', output]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('overlapping ranges');
  }, 120_000);

  it('splits into static shards that together export the pick once', async () => {
    const output = join(workFolder, 'sharded');
    const index = `index:${join(workFolder, 'pick-zstd.parquet')}`;
    const shards = await Promise.all(
      ['0/2', '1/2'].map((shard) =>
        run(['--input', index, '--cc-base', crawlBase, '--output', output, '--shard', shard]),
      ),
    );
    for (const shard of shards) expect(shard.stderr).toContain('1 file exported, 0 failed');
    expect(await capturesOf(`${output}/**/*.parquet`)).toEqual(picked);
  }, 120_000);

  it('refuses an index without the columns, naming them (exit 2)', async () => {
    const path = join(workFolder, 'no-length.parquet');
    await duckdbNumberRows(
      `COPY (SELECT 'x.warc.gz' AS warc_filename, 0 AS warc_record_offset) TO '${path}' (FORMAT parquet)`,
    );
    const result = await run(['--input', `index:${path}`, '--output', join(workFolder, 'never')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('lacks the column warc_record_length');
  }, 60_000);
});

describe('a subset over HTTP', () => {
  const indexPath = (): string => `index:${join(workFolder, 'pick-zstd.parquet')}`;

  it('asks exactly the picked ranges when no gap is bridged, and one request a file when all are', async () => {
    server.requests.length = 0;
    const exact = join(workFolder, 'http-exact');
    const args = ['--input', indexPath(), '--cc-base', server.baseUrl, '--output', exact];
    const result = await run([...args, '--coalesce-gap-kb', '0']);
    expect(result.stderr).toContain('2 files exported, 0 failed');
    const expected = picked.map(
      (capture) => `bytes=${capture.warc_record_offset}-${capture.warc_record_offset + capture.warc_record_length - 1}`,
    );
    expect(rangesOf(server.requests).sort()).toEqual(expected.sort());
    expect(await capturesOf(`${exact}/**/*.parquet`)).toEqual(picked);

    server.requests.length = 0;
    const coalesced = join(workFolder, 'http-coalesced');
    // The index itself read over HTTP this time.
    const httpIndex = `index:${server.baseUrl}queries/pick-zstd.parquet`;
    const second = await run(['--input', httpIndex, '--cc-base', server.baseUrl, '--output', coalesced]);
    expect(second.stderr).toContain('2 files exported, 0 failed');
    expect(rangesOf(server.requests)).toHaveLength(2);
    expect(await capturesOf(`${coalesced}/**/*.parquet`)).toEqual(picked);
  }, 120_000);

  it('takes its slice of a server that ignores Range, and rides out a burst of 503s', async () => {
    server.faults.ignoreRange = true;
    const ignored = join(workFolder, 'http-ignored');
    try {
      const result = await run(['--input', indexPath(), '--cc-base', server.baseUrl, '--output', ignored]);
      expect(result.stderr).toContain('2 files exported, 0 failed');
    } finally {
      server.faults.ignoreRange = false;
    }
    expect(await capturesOf(`${ignored}/**/*.parquet`)).toEqual(picked);

    server.faults.failNext = { status: 503, count: 6 };
    const throttled = join(workFolder, 'http-throttled');
    const result = await run(
      ['--input', indexPath(), '--cc-base', server.baseUrl, '--output', throttled, '--coalesce-gap-kb', '0'],
      {},
      'stdout',
    );
    expect(server.faults.failNext?.count ?? 0).toBe(0);
    expect(result.stderr).toContain('2 files exported, 0 failed');
    // Each 503 reached the core as one throttled failure of a ranged GET.
    expect(lastSnapshot(result.stdout).counters.throttles).toBe(6);
    expect(await capturesOf(`${throttled}/**/*.parquet`)).toEqual(picked);
  }, 180_000);
});

describe('a subset from S3, through a proxy that records every request', () => {
  let s3: RunningS3rver;
  let proxy: FaultProxy;
  const index = 'index:s3://crawl/queries/pick/*.parquet';
  const s3Environment = (): Record<string, string> => ({
    AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    S3_ENDPOINT: proxy.origin,
  });
  /** The ranged GETs of the WARC files the proxy saw from `from` on (the index and listings left out). */
  const warcRanges = (from: number): string[] =>
    proxy.requests
      .slice(from)
      .filter((request) => request.method === 'GET' && request.path.includes('.warc.gz'))
      .map((request) => String(request.headers.range));

  beforeAll(async () => {
    s3 = await startS3rver(['crawl']);
    for (const path of warcPaths) {
      const body = server.files.get(path) as Uint8Array;
      await s3.client.send(new PutObjectCommand({ Bucket: 'crawl', Key: path, Body: body }));
    }
    const pick = readFileSync(join(workFolder, 'pick-zstd.parquet'));
    await s3.client.send(new PutObjectCommand({ Bucket: 'crawl', Key: 'queries/pick/part-0.parquet', Body: pick }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'crawl', Key: 'queries/pick/_SUCCESS', Body: '' }));
    proxy = await startFaultProxy(s3.endpoint);
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await s3?.stop();
  });

  it('reads an index glob, asks exactly the picked ranges when no gap is bridged, and one GET a file when all are', async () => {
    const exactFrom = proxy.requests.length;
    const exact = join(workFolder, 's3-exact');
    const args = ['--input', index, '--cc-base', 's3://crawl/', '--output'];
    const result = await run([...args, exact, '--coalesce-gap-kb', '0'], s3Environment());
    expect(result.stderr).toContain('2 files exported, 0 failed');
    expect(result.code).toBe(0);
    const expected = picked.map(
      (capture) => `bytes=${capture.warc_record_offset}-${capture.warc_record_offset + capture.warc_record_length - 1}`,
    );
    // Every WARC GET is ranged, and the ranges are the picks, each asked once.
    expect(warcRanges(exactFrom).sort()).toEqual(expected.sort());
    expect(await capturesOf(`${exact}/**/*.parquet`)).toEqual(picked);

    const coalescedFrom = proxy.requests.length;
    const coalesced = join(workFolder, 's3-coalesced');
    const second = await run([...args, coalesced], s3Environment());
    expect(second.stderr).toContain('2 files exported, 0 failed');
    const ranges = warcRanges(coalescedFrom);
    expect(ranges).toHaveLength(2);
    // One GET a file, from its first pick to the end of its last.
    for (const path of warcPaths) {
      const mine = picked.filter((capture) => path.endsWith(capture.warc_filename));
      const first = mine[0] as Capture;
      const last = mine.at(-1) as Capture;
      expect(ranges).toContain(
        `bytes=${first.warc_record_offset}-${last.warc_record_offset + last.warc_record_length - 1}`,
      );
    }
    expect(await capturesOf(`${coalesced}/**/*.parquet`)).toEqual(picked);
  }, 120_000);

  it('exports every picked capture once under a burst of SlowDown answers, each counted as a throttle', async () => {
    const burst = 6;
    let refusals = 0;
    proxy.refuseAtRandom(1, 1, (request) => {
      const counts = request.method === 'GET' && (request.url ?? '').includes('.warc.gz') && refusals < burst;
      if (counts) refusals += 1;
      return counts;
    });
    const from = proxy.requests.length;
    const output = join(workFolder, 's3-throttled');
    try {
      const result = await run(
        ['--input', index, '--cc-base', 's3://crawl/', '--output', output, '--coalesce-gap-kb', '0'],
        s3Environment(),
        'stdout',
      );
      expect(result.stderr).toContain('2 files exported, 0 failed');
      expect(result.code).toBe(0);
      const refused = proxy.requests.slice(from).filter((request) => request.refused);
      expect(refused).toHaveLength(burst);
      // Each refused GET reached the core as one throttled failure, retried by its rules, none by the SDK's.
      expect(lastSnapshot(result.stdout).counters.throttles).toBe(burst);
      expect(warcRanges(from)).toHaveLength(picked.length + burst);
    } finally {
      proxy.refuseAtRandom(0, 1, () => false);
    }
    expect(await capturesOf(`${output}/**/*.parquet`)).toEqual(picked);
  }, 120_000);
});
