/**
 * End-to-end tests of the real binary against a CommonCrawl-like HTTP tree on loopback:
 * `--input cc:CC-MAIN-2024-22 --cc-base http://127.0.0.1:…` exports every WARC of the crawl's
 * manifest with crawl, subset and segment taken from the path; SIGTERM during a slow run
 * drains within the drain timeout, exits 0, leaves no visible or temporary output and
 * releases its leases, and the next start finishes the run with nothing lost or doubled; and
 * the same crawl exported to an S3-compatible server (s3rver) on loopback reads back whole;
 * and the manifest's files, listed without sizes, are sized once each when claimed (one
 * HEAD a file, none on a rerun), a listed file that is gone failing for good.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commonCrawlTree,
  sampleCrawl,
  startCommonCrawlHttpServer,
  type CommonCrawlHttpServer,
  type RecordedRequest,
} from '../support/commoncrawl-http-server.ts';
import { s3rverCredentials, startS3rver } from '../support/s3rver-process.ts';
import {
  localWorkerOptions,
  oneThreadNoMetrics,
  runWorkerCommand,
  runWorkerCommandSync,
  sleep,
  WorkerProcess,
  type WorkerExit,
} from '../support/worker-process.ts';

const workFolder = mkdtempSync(join(tmpdir(), 'worker-commoncrawl-'));
let server: CommonCrawlHttpServer;

function argsFor(output: string): string[] {
  return ['--input', `cc:${sampleCrawl}`, '--cc-base', server.baseUrl, '--output', output, ...oneThreadNoMetrics];
}

/** Runs the binary without blocking this process's event loop, which serves the HTTP tree. */
function runAsync(args: string[], extra: Record<string, string> = {}): Promise<WorkerExit> {
  return runWorkerCommand(args, localWorkerOptions(workFolder, extra));
}

async function query<T>(sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const rows = (await connection.runAndReadAll(sql)).getRowObjects() as T[];
  connection.closeSync();
  return rows;
}

function filesBelow(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => !name.startsWith('.ledger'));
}

beforeAll(async () => {
  server = await startCommonCrawlHttpServer();
});

afterAll(async () => {
  await server.stop();
  rmSync(workFolder, { recursive: true, force: true });
});

describe('node cmd/worker on a CommonCrawl-like HTTP tree', () => {
  it('exports every WARC of the crawl with crawl, subset and segment from its path', async () => {
    const output = join(workFolder, 'export');
    const result = await runAsync(argsFor(output));
    expect(result.stderr).toContain('3 files exported, 0 failed');
    expect(result.code).toBe(0);
    const rows = await query<{ crawl: string; subset: string; warc_segment: string; warc_filename: string; n: number }>(
      `SELECT crawl, subset, warc_segment, warc_filename, count(*)::INTEGER AS n FROM read_parquet('${output}/**/*.parquet') GROUP BY ALL ORDER BY warc_filename`,
    );
    expect(rows.map((row) => [row.crawl, row.subset, row.warc_segment, Number(row.n)])).toEqual([
      [sampleCrawl, 'warc', '1715971057216.39', 1],
      [sampleCrawl, 'warc', '1715971057216.39', 16],
      [sampleCrawl, 'crawldiagnostics', '1715971058000.10', 2],
    ]);
    for (const row of rows) expect(row.warc_filename.startsWith(`crawl-data/${sampleCrawl}/segments/`)).toBe(true);
    expect(filesBelow(output).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('sizes each file of the manifest once, when it is claimed, and fails a listed file that is gone', async () => {
    const tree = commonCrawlTree();
    const listed = [...tree.keys()].filter((path) => path.endsWith('.warc.gz'));
    const gone = listed[0]!.replace(/-00000\.warc\.gz$/, '-00099.warc.gz');
    tree.set(`crawl-data/${sampleCrawl}/warc.paths.gz`, gzipSync(`${[...listed, gone].join('\n')}\n`));
    const treeServer = await startCommonCrawlHttpServer(tree);
    try {
      const args = [
        '--input',
        `cc:${sampleCrawl}`,
        '--cc-base',
        treeServer.baseUrl,
        '--output',
        join(workFolder, 'sized-at-claim'),
        ...oneThreadNoMetrics,
      ];
      const first = await runAsync(args);
      expect(first.code, first.stderr).toBe(3);
      expect(first.stderr).toContain('3 files exported, 1 failed');
      expect(first.stderr).toMatch(/failed: \S+-00099\.warc\.gz: .*404/);
      const heads = (requests: readonly RecordedRequest[]) =>
        requests.filter((request) => request.method === 'HEAD').map((request) => request.path);
      expect(heads(treeServer.requests).sort()).toEqual([...listed, gone].map((path) => `/${path}`).sort());
      // Finished and failed jobs are not claimed again, so nothing is sized again; the failed one is listed again.
      const seen = treeServer.requests.length;
      const second = await runAsync(args);
      expect(second.code, second.stderr).toBe(3);
      expect(second.stderr).toContain('with 4 files: 3 exported, 1 failed; nothing left to do');
      expect(second.stderr).toMatch(/failed: \S+-00099\.warc\.gz: .*404/);
      expect(heads(treeServer.requests.slice(seen))).toEqual([]);
    } finally {
      await treeServer.stop();
    }
  });

  it('drains on SIGTERM within the drain timeout, leaves nothing half-written, and resumes on the next start', async () => {
    const output = join(workFolder, 'drain');
    server.faults.delayMs = 2_000;
    const worker = new WorkerProcess(
      'drain',
      [...argsFor(output), '--drain-timeout', '1'],
      localWorkerOptions(workFolder, { LOG_LEVEL: 'info' }),
    );
    // Wait until the run is enqueued, then a little: the worker claims at once and holds leases from then on.
    for (let waited = 0; waited < 400 && !worker.stderr.includes('run enqueued'); waited++) await sleep(50);
    await sleep(500);
    const signalledAt = Date.now();
    worker.signal('SIGTERM');
    const exit = await worker.exited;
    const drainMs = Date.now() - signalledAt;
    server.faults.delayMs = 0;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain('released');
    // The drain timeout (1 s) plus the time to abort in-flight requests and exit.
    expect(drainMs).toBeLessThan(1_000 + 2_000);
    expect(filesBelow(output).filter((name) => name.endsWith('.parquet') || name.endsWith('.tmp'))).toEqual([]);

    const status = runWorkerCommandSync(
      ['status', '--json', '--input', `cc:${sampleCrawl}`, '--output', output],
      localWorkerOptions(workFolder),
    );
    expect(JSON.parse(status.stdout)).toMatchObject({ claimed: 0, done: 0, remaining: 3 });

    const rerun = await runAsync(argsFor(output));
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain('3 files exported, 0 failed');
    const rows = await query<{ n: number; distinct_offsets: number }>(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT (warc_filename, warc_record_offset))::INTEGER AS distinct_offsets FROM read_parquet('${output}/**/*.parquet')`,
    );
    expect(rows[0]).toEqual({ n: 19, distinct_offsets: 19 });
  });

  it('exports the crawl to an S3-compatible server, each object whole and readable', async () => {
    const s3 = await startS3rver(['exports']);
    try {
      const credentials = {
        AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
        AWS_REGION: 'us-east-1',
      };
      const args = [
        '--input',
        `cc:${sampleCrawl}`,
        '--cc-base',
        server.baseUrl,
        '--output',
        's3://exports/index',
        '--s3-endpoint',
        s3.endpoint,
        ...oneThreadNoMetrics,
      ];
      const result = await runAsync(args, { ...credentials, HOME: workFolder, LOG_LEVEL: 'info' });
      expect(result.stderr).toContain('3 files exported, 0 failed');
      expect(result.code).toBe(0);
      // Everything before the summary is a JSON line, node's warnings (the AWS SDK's among them) too.
      const lines = result.stderr.split('\n');
      const summaryAt = lines.findIndex((line) => line.startsWith('run '));
      expect(summaryAt).toBeGreaterThan(0);
      for (const line of lines.slice(0, summaryAt)) expect(() => JSON.parse(line), line).not.toThrow();
      const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: 'exports', Prefix: 'index/' }));
      const keys = (listing.Contents ?? []).map((object) => object.Key as string).sort();
      expect(keys).toEqual([
        `index/crawl=${sampleCrawl}/subset=crawldiagnostics/CC-MAIN-20240518000000-20240518030000-00000.parquet`,
        `index/crawl=${sampleCrawl}/subset=warc/CC-MAIN-20240517233122-20240518023122-00000.parquet`,
        `index/crawl=${sampleCrawl}/subset=warc/CC-MAIN-20240517233122-20240518023122-00001.parquet`,
      ]);
      const local = join(workFolder, 's3-copy');
      mkdirSync(local, { recursive: true });
      for (const key of keys) {
        const object = await s3.client.send(new GetObjectCommand({ Bucket: 'exports', Key: key }));
        const bytes = await object.Body?.transformToByteArray();
        const path = join(local, key.replaceAll('/', '_'));
        writeFileSync(path, bytes ?? new Uint8Array(0));
      }
      const rows = await query<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM read_parquet('${local}/*.parquet')`);
      expect(rows[0]?.n).toBe(19);
    } finally {
      await s3.stop();
    }
  });
});
