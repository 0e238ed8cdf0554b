/**
 * A loopback HTTP reverse proxy in front of a test server (the CommonCrawl-like HTTP tree, or
 * s3rver) that forwards every request unchanged — method, path, headers including Host, so
 * S3 signatures still verify, and the body streamed both ways — except during a throttling
 * burst, when it answers every request itself with 503 and S3's `SlowDown` error, as S3 and
 * CloudFront do when a client is too fast. It records every request with the time it
 * arrived and whether it was refused, so a test can count what a client sent during a burst.
 */
import {
  Agent,
  createServer,
  request as forward,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export const slowDownBody =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

export interface ProxiedRequest {
  /** `performance.now()` when the request arrived. */
  readonly atMs: number;
  readonly method: string;
  readonly path: string;
  /** As received (and forwarded): `range` tells chunks apart, `amz-sdk-request` the SDK's attempts. */
  readonly headers: IncomingHttpHeaders;
  /** Answered with 503 SlowDown instead of forwarded. */
  readonly refused: boolean;
}

export interface Burst {
  readonly startMs: number;
  /** Null while the burst lasts. */
  endMs: number | null;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly origin: string;
  readonly requests: readonly ProxiedRequest[];
  readonly bursts: readonly Burst[];
  /** Refuse every request from now until `endBurst`. */
  startBurst(): void;
  /**
   * From now on, refuse each request that `counts` with probability `share`, drawn from a
   * generator seeded with `seed`: the noise of a healthy remote, the same on every run.
   */
  refuseAtRandom(share: number, seed: number, counts: (request: IncomingMessage) => boolean): void;
  endBurst(): void;
  /** The requests refused during `burst`: all that arrived while it lasted. */
  requestsDuring(burst: Burst): ProxiedRequest[];
  stop(): Promise<void>;
}

function refuse(request: IncomingMessage, response: ServerResponse): void {
  // Read and drop the body, so the client is not left blocked writing an upload.
  request.resume();
  response.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(slowDownBody) });
  response.end(slowDownBody);
}

function pass(request: IncomingMessage, response: ServerResponse, target: URL, agent: Agent): void {
  const upstream = forward({
    host: target.hostname,
    port: target.port,
    method: request.method,
    path: request.url,
    headers: request.headers,
    agent,
  });
  upstream.on('response', (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
    answer.pipe(response);
  });
  upstream.on('error', () => {
    if (response.headersSent) response.destroy();
    else response.writeHead(502).end();
  });
  // A client that gives up (a timeout, a cancelled job) ends the forwarded request too.
  response.on('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}

/** A small seeded generator of floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts a proxy on 127.0.0.1 in front of `target` (an origin such as `http://127.0.0.1:9000`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  const bursts: Burst[] = [];
  const current = (): Burst | undefined => bursts.find((burst) => burst.endMs === null);
  let refusesAtRandom: (request: IncomingMessage) => boolean = () => false;
  const server: Server = createServer((request, response) => {
    const refused = current() !== undefined || refusesAtRandom(request);
    requests.push({
      atMs: performance.now(),
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      refused,
    });
    if (refused) refuse(request, response);
    else pass(request, response, targetUrl, agent);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    bursts,
    startBurst() {
      if (current() === undefined) bursts.push({ startMs: performance.now(), endMs: null });
    },
    refuseAtRandom(share, seed, counts) {
      const draw = mulberry32(seed);
      refusesAtRandom = (request) => counts(request) && draw() < share;
    },
    endBurst() {
      const burst = current();
      if (burst !== undefined) burst.endMs = performance.now();
    },
    requestsDuring(burst) {
      return requests.filter(
        (request) =>
          request.refused && request.atMs >= burst.startMs && (burst.endMs === null || request.atMs <= burst.endMs),
      );
    },
    stop: () =>
      new Promise((resolveClose) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
