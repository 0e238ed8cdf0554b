/**
 * A loopback HTTP proxy in front of an S3-compatible server that answers object writes
 * (PutObject, UploadPart, CompleteMultipartUpload; or UploadPart alone) only after a seeded random wait, so
 * a worker spends seconds with a multipart upload open and a test's kills or signals can
 * land in the middle of one. A write whose sender went away while it waited goes through
 * (as at S3, once the body had arrived) or is dropped (as if the connection broke before
 * the body was whole), as the test chooses. Headers pass unchanged (the Host header
 * included), so SigV4 signatures made for the proxy's address still verify.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';

export interface SlowWrites {
  /** Each object write waits a duration drawn uniformly from [min, max]. */
  delayMs: readonly [number, number];
  /** Forward a write whose sender closed its connection while it waited. */
  forwardOrphans: boolean;
  /** Delay only UploadPart: commits (PutObject, CompleteMultipartUpload) go at once. */
  partsOnly: boolean;
}

export interface SlowS3Proxy {
  readonly endpoint: string;
  /** Read at each write: a test may change them between phases. */
  readonly writes: SlowWrites;
  /** Writes answered late so far. */
  readonly delayedWrites: () => number;
  /** Writes dropped because their sender had gone (with `forwardOrphans` off). */
  readonly droppedWrites: () => number;
  /** Bucket and key (`bucket/key`) of each write held back now, not yet forwarded. */
  readonly heldWrites: () => string[];
  stop(): Promise<void>;
}

function isDelayed(request: IncomingMessage, writes: SlowWrites): boolean {
  const url = new URL(request.url ?? '/', 'http://proxy');
  const isPart = request.method === 'PUT' && url.searchParams.has('uploadId');
  if (writes.partsOnly) return isPart;
  if (request.method === 'PUT') return url.pathname.split('/').filter((part) => part !== '').length >= 2;
  return request.method === 'POST' && url.searchParams.has('uploadId');
}

function forward(
  target: URL,
  request: IncomingMessage,
  body: Buffer,
  response: ServerResponse,
  senderGone: () => boolean,
): void {
  const upstream = httpRequest(
    { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
    (answer) => {
      if (senderGone()) {
        answer.resume();
        return;
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', () => {
    if (!response.headersSent && !response.destroyed) response.writeHead(502).end();
    else response.destroy();
  });
  upstream.end(body);
}

/** Bodies are read whole before the wait: a test's objects are megabytes, not gigabytes. */
export async function startSlowS3Proxy(targetEndpoint: string, seed: number, writes: SlowWrites): Promise<SlowS3Proxy> {
  const target = new URL(targetEndpoint);
  const random = seededRandom(seed);
  let delayed = 0;
  let dropped = 0;
  /** Each held write's timer, with the `bucket/key` it writes. */
  const waiting = new Map<NodeJS.Timeout, string>();
  const server: Server = createServer((request, response) => {
    // The sender went away before we answered: its connection closed with no answer written.
    let senderGone = false;
    response.on('close', () => (senderGone ||= !response.writableEnded));
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!isDelayed(request, writes)) return forward(target, request, body, response, () => senderGone);
      delayed += 1;
      const [min, max] = writes.delayMs;
      const timer = setTimeout(
        () => {
          waiting.delete(timer);
          if (senderGone && !writes.forwardOrphans) {
            dropped += 1;
            return;
          }
          forward(target, request, body, response, () => senderGone);
        },
        min + Math.floor(nextUnit(random) * (max - min)),
      );
      waiting.set(timer, decodeURIComponent(new URL(request.url ?? '/', 'http://proxy').pathname.slice(1)));
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    writes,
    delayedWrites: () => delayed,
    droppedWrites: () => dropped,
    heldWrites: () => [...waiting.values()],
    stop: () =>
      new Promise((resolveClose) => {
        for (const timer of waiting.keys()) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
