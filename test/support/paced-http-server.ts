/**
 * A loopback HTTP server serving a CommonCrawl-like tree (a crawl's `warc.paths.gz` and its
 * WARC files) with Range support, as a remote with a known latency and bandwidth: every
 * answer waits `latencyMs` before its headers (time to first byte), and bodies are paced so
 * that one connection moves at most `connectionBytesPerSecond` and all of them together at
 * most `totalBytesPerSecond`. Pacing is honest: slices are written when their time is paid
 * for on both meters, and a slice waits for the socket to drain before the next, so a slow
 * reader slows the sender instead of filling buffers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { parseRange } from './commoncrawl-http-server.ts';

export interface PacedServerOptions {
  /** Path below the base URL → file bytes. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly latencyMs: number;
  /** Bytes a second one connection gets at most; Infinity for no limit. */
  readonly connectionBytesPerSecond: number;
  /** Bytes a second all connections share; Infinity for no limit. */
  readonly totalBytesPerSecond: number;
}

export interface PacedHttpServer {
  readonly baseUrl: string;
  /** Requests answered, by method. */
  readonly requests: { get: number; head: number };
  /** Body bytes written. */
  readonly bytesSent: () => number;
  /**
   * Bytes over seconds of every body sent whole, first slice to last: what one connection
   * actually got. Below `connectionBytesPerSecond` means something else (a busy CPU, a slow
   * reader, the total limit) held it back.
   */
  readonly achievedConnectionBytesPerSecond: () => number;
  stop(): Promise<void>;
}

/** Slices are at most this big, and at most this many milliseconds of the slower meter. */
const sliceBytesMax = 64 * 1024;
const sliceMsMax = 10;
/** A meter that fell behind (a late timer, a socket that did not drain) may catch up this much, no more. */
const catchUpMsMax = 20;

/**
 * A bandwidth meter: `pay(bytes)` says when a slice of that many bytes may go, as if the
 * link carried the slices in the order they were paid for.
 */
class Meter {
  /** Starts now: a new meter owes nothing, but has no credit either. */
  private freeAtMs = performance.now();

  constructor(private readonly bytesPerSecond: number) {}

  pay(bytes: number, nowMs: number): number {
    if (!Number.isFinite(this.bytesPerSecond)) return nowMs;
    this.freeAtMs = Math.max(this.freeAtMs, nowMs - catchUpMsMax) + (bytes / this.bytesPerSecond) * 1000;
    return this.freeAtMs;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function sliceBytes(options: PacedServerOptions): number {
  const slowest = Math.min(options.connectionBytesPerSecond, options.totalBytesPerSecond);
  return Number.isFinite(slowest)
    ? Math.max(1024, Math.min(sliceBytesMax, Math.floor((slowest * sliceMsMax) / 1000)))
    : sliceBytesMax;
}

/** Resolves when the response drains or closes, leaving no listener behind. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done).off('close', done);
      resolve();
    };
    response.on('drain', done).on('close', done);
  });
}

interface Pacing {
  readonly total: Meter;
  readonly options: PacedServerOptions;
  readonly slice: number;
  sent: number;
  /** Bytes and milliseconds of the bodies sent whole. */
  bodyBytes: number;
  bodyMs: number;
}

/** Writes the body slice by slice, each when both meters allow it and the socket has drained. */
async function sendPaced(response: ServerResponse, body: Uint8Array, pacing: Pacing): Promise<void> {
  const connection = new Meter(pacing.options.connectionBytesPerSecond);
  const startedMs = performance.now();
  for (let offset = 0; offset < body.length; offset += pacing.slice) {
    if (response.destroyed) return;
    const slice = body.subarray(offset, Math.min(body.length, offset + pacing.slice));
    await sleep(connection.pay(slice.length, performance.now()) - performance.now());
    await sleep(pacing.total.pay(slice.length, performance.now()) - performance.now());
    pacing.sent += slice.length;
    if (!response.write(slice)) await drained(response);
  }
  if (response.destroyed) return;
  response.end();
  pacing.bodyBytes += body.length;
  pacing.bodyMs += performance.now() - startedMs;
}

async function answer(request: IncomingMessage, response: ServerResponse, pacing: Pacing): Promise<void> {
  await sleep(pacing.options.latencyMs);
  const path = decodeURIComponent(new URL(request.url ?? '/', 'http://loopback').pathname).replace(/^\//, '');
  const file = pacing.options.files.get(path);
  if (file === undefined) return void response.writeHead(404).end('Not Found');
  if (request.method === 'HEAD')
    return void response.writeHead(200, { 'content-length': file.length, 'accept-ranges': 'bytes' }).end();
  const range = parseRange(request.headers.range, file.length);
  if (range === 'unsatisfiable')
    return void response.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
  if (range === null) {
    response.writeHead(200, { 'content-length': file.length });
    return sendPaced(response, file, pacing);
  }
  const body = file.subarray(range.start, range.end + 1);
  response.writeHead(206, {
    'content-length': body.length,
    'content-range': `bytes ${range.start}-${range.end}/${file.length}`,
  });
  return sendPaced(response, body, pacing);
}

export async function startPacedHttpServer(options: PacedServerOptions): Promise<PacedHttpServer> {
  const pacing: Pacing = {
    total: new Meter(options.totalBytesPerSecond),
    options,
    slice: sliceBytes(options),
    sent: 0,
    bodyBytes: 0,
    bodyMs: 0,
  };
  const requests = { get: 0, head: 0 };
  const server: Server = createServer((request, response) => {
    if (request.method === 'HEAD') requests.head += 1;
    else requests.get += 1;
    answer(request, response, pacing).catch(() => response.destroy());
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    requests,
    bytesSent: () => pacing.sent,
    achievedConnectionBytesPerSecond: () => (pacing.bodyMs > 0 ? pacing.bodyBytes / (pacing.bodyMs / 1000) : 0),
    stop: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/**
 * A crawl's tree: `crawl-data/<crawl>/warc.paths.gz` listing one WARC path per file, each
 * path serving the given bytes (files may share bytes: the worker reads each path on its own).
 */
export function crawlTree(crawl: string, warcs: readonly Uint8Array[]): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const paths = warcs.map(
    (_, index) =>
      `crawl-data/${crawl}/segments/1715971057216.${index % 4}/warc/${crawl}-20240517233122-${String(index).padStart(5, '0')}.warc.gz`,
  );
  paths.forEach((path, index) => files.set(path, warcs[index] as Uint8Array));
  files.set(`crawl-data/${crawl}/warc.paths.gz`, new Uint8Array(gzipSync(`${paths.join('\n')}\n`)));
  return files;
}
