/**
 * A loopback HTTP server serving a CommonCrawl-like tree (`crawl-data/<crawl>/warc.paths.gz`
 * and WARC files) with Range support, and faults a test can switch on: 503/429 answers,
 * slow answers, bodies that stall halfway, connections dropped mid-body, a mode that
 * ignores Range, a wrong Content-Range; seeded random 503s and slow answers on a share of all
 * requests; GETs of chosen files held back with 503 until the test lets them through. It
 * records every request (method, path, Range, User-Agent) and counts the faults it served.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { nextUnit, seededRandom, type SeededRandom } from '../../core/seeded-random.ts';
import { sharedFixtureUrl } from './shared-fixtures.ts';

/**
 * Faults drawn per request from a seeded generator: a share answered 503, a share answered
 * only after a wait. Requests arrive in an order the server does not control, so a seed
 * replays the mix of faults, not which request got which.
 */
export interface RandomFaults {
  readonly throttleRatio: number;
  readonly slowRatio: number;
  /** A slow answer waits a duration drawn uniformly from [min, max]. */
  readonly slowMs: readonly [number, number];
  readonly random: SeededRandom;
}

export function randomFaults(seed: number, options: Omit<RandomFaults, 'random'>): RandomFaults {
  return { ...options, random: seededRandom(seed) };
}

export interface ServerFaults {
  /** The next `count` requests answer `status` (503, 429, 500…). */
  failNext: { status: number; count: number; retryAfter?: string } | null;
  /** Every answer waits this long before its headers. */
  delayMs: number;
  /** The next `dropNext` bodies stop halfway and the socket is destroyed. */
  dropNext: number;
  /** The next `stallNext` bodies stop halfway and the connection stays open, silent. */
  stallNext: number;
  /** Answer 200 with the whole file to ranged requests, as some servers do. */
  ignoreRange: boolean;
  /** Answer 206 with bytes one past the asked start, and say so in Content-Range. */
  shiftRange: boolean;
  /** HEAD answers 405, as some servers do. */
  refuseHead: boolean;
  /** Seeded random 503s and slow answers on every request, or none. */
  random: RandomFaults | null;
  /** Paths (as in `files`) whose GETs answer 503 while listed: work held back until the test lets it through. */
  heldGets: Set<string>;
}

/** How many faults the server has served. */
export interface FaultCounts {
  throttled: number;
  slowed: number;
  held: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | null;
  readonly userAgent: string | null;
}

export interface CommonCrawlHttpServer {
  readonly baseUrl: string;
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly faults: ServerFaults;
  readonly requests: RecordedRequest[];
  readonly faultCounts: FaultCounts;
  stop(): Promise<void>;
}

export const sampleCrawl = 'CC-MAIN-2024-22';

/** Three WARC files in two segments and two subsets, and the crawl's manifest. */
export function commonCrawlTree(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const warcs: [string, string][] = [
    [
      `crawl-data/${sampleCrawl}/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-00000.warc.gz`,
      'commoncrawl/whirlwind.warc.gz',
    ],
    [
      `crawl-data/${sampleCrawl}/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-00001.warc.gz`,
      'resiliparse/cc-2020-34-excerpt.warc.gz',
    ],
    [
      `crawl-data/${sampleCrawl}/segments/1715971058000.10/crawldiagnostics/CC-MAIN-20240518000000-20240518030000-00000.warc.gz`,
      'warcio/example.warc.gz',
    ],
  ];
  for (const [path, fixture] of warcs)
    files.set(path, new Uint8Array(readFileSync(new URL(fixture, sharedFixtureUrl))));
  const manifest = `${warcs.map(([path]) => path).join('\n')}\n`;
  files.set(`crawl-data/${sampleCrawl}/warc.paths.gz`, new Uint8Array(gzipSync(manifest)));
  return files;
}

/** A `Range: bytes=a-b` header against a file of `size` bytes; null when absent or of another form. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const match = header === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(header);
  if (match === null) return null;
  const start = Number(match[1]);
  if (start >= size) return 'unsatisfiable';
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return { start, end };
}

function sendBody(response: ServerResponse, body: Uint8Array, faults: ServerFaults): void {
  if (faults.stallNext > 0 && body.length > 1) {
    faults.stallNext -= 1;
    response.write(body.subarray(0, Math.floor(body.length / 2)));
    return;
  }
  if (faults.dropNext > 0 && body.length > 1) {
    faults.dropNext -= 1;
    response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.socket?.destroy());
    return;
  }
  response.end(body);
}

function pathOf(request: IncomingMessage): string {
  return decodeURIComponent(new URL(request.url ?? '/', 'http://loopback').pathname).replace(/^\//, '');
}

/** The 503 a fault calls for, if any: counted faults first, then held files, then the random draw. */
function throttleFault(
  request: IncomingMessage,
  faults: ServerFaults,
  counts: FaultCounts,
): { status: number; retryAfter?: string } | null {
  if (faults.failNext !== null && faults.failNext.count > 0) {
    faults.failNext.count -= 1;
    return faults.failNext;
  }
  if (request.method === 'GET' && faults.heldGets.has(pathOf(request))) {
    counts.held += 1;
    return { status: 503 };
  }
  if (faults.random !== null && nextUnit(faults.random.random) < faults.random.throttleRatio) {
    counts.throttled += 1;
    return { status: 503 };
  }
  return null;
}

/** The wait before answering: the fixed delay, plus a drawn one for a random share. */
function delayOf(faults: ServerFaults, counts: FaultCounts): number {
  const random = faults.random;
  if (random === null || nextUnit(random.random) >= random.slowRatio) return faults.delayMs;
  counts.slowed += 1;
  const [min, max] = random.slowMs;
  return faults.delayMs + min + Math.floor(nextUnit(random.random) * (max - min));
}

function answer(
  request: IncomingMessage,
  response: ServerResponse,
  files: ReadonlyMap<string, Uint8Array>,
  faults: ServerFaults,
  counts: FaultCounts,
): void {
  const fault = throttleFault(request, faults, counts);
  if (fault !== null) {
    const headers = fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {};
    response.writeHead(fault.status, headers).end('Slow Down');
    return;
  }
  const path = pathOf(request);
  const file = files.get(path);
  if (file === undefined) {
    response.writeHead(404).end('Not Found');
    return;
  }
  if (request.method === 'HEAD') {
    if (faults.refuseHead) response.writeHead(405).end();
    else response.writeHead(200, { 'content-length': file.length, 'accept-ranges': 'bytes' }).end();
    return;
  }
  const range = faults.ignoreRange ? null : parseRange(request.headers.range, file.length);
  if (range === 'unsatisfiable') {
    response.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
    return;
  }
  if (range === null) {
    response.writeHead(200, { 'content-length': file.length });
    sendBody(response, file, faults);
    return;
  }
  const start = faults.shiftRange ? Math.min(range.start + 1, range.end) : range.start;
  const body = file.subarray(start, range.end + 1);
  response.writeHead(206, {
    'content-length': body.length,
    'content-range': `bytes ${start}-${range.end}/${file.length}`,
  });
  sendBody(response, body, faults);
}

export async function startCommonCrawlHttpServer(
  files: ReadonlyMap<string, Uint8Array> = commonCrawlTree(),
): Promise<CommonCrawlHttpServer> {
  const faults: ServerFaults = {
    failNext: null,
    delayMs: 0,
    dropNext: 0,
    stallNext: 0,
    ignoreRange: false,
    shiftRange: false,
    refuseHead: false,
    random: null,
    heldGets: new Set(),
  };
  const faultCounts: FaultCounts = { throttled: 0, slowed: 0, held: 0 };
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    requests.push({
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      range: request.headers.range ?? null,
      userAgent: request.headers['user-agent'] ?? null,
    });
    const delayMs = delayOf(faults, faultCounts);
    if (delayMs > 0) setTimeout(() => answer(request, response, files, faults, faultCounts), delayMs);
    else answer(request, response, files, faults, faultCounts);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    files,
    faults,
    requests,
    faultCounts,
    stop: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
