/**
 * Proves the S3 source against s3rver on loopback: the Source contract over an
 * `s3://bucket/prefix` listing; a listing that follows continuation tokens past many pages;
 * a manifest object whose `crawl-data/` lines resolve in the same bucket (as
 * `cc:` with `--cc-base s3://commoncrawl/` does); a prefix deep in CommonCrawl's layout named
 * as CommonCrawl names its files; a missing object is the input's fault; a range is read
 * from the body stream into the memory given, and a body shorter or longer than its
 * Content-Range is the remote's fault (a proxy in front of s3rver cuts or pads the bodies).
 */
import { readFileSync } from 'node:fs';
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { createS3Client } from '../../adapters/aws/aws-clients.ts';
import { classifyAwsError } from '../../adapters/aws/aws-failure.ts';
import { FailureError } from '../../core/failure.ts';
import { AnySource } from '../../adapters/source/any-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { S3Source } from '../../adapters/source/s3-source.ts';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
import { sourceContract } from './source-contract.ts';
import { sharedFixtureUrl } from '../support/shared-fixtures.ts';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, sharedFixtureUrl)));
const ccPath =
  'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-00000.warc.gz';
const objects: [string, Uint8Array][] = [
  ['mirror/a/x.warc.gz', fixture('warcio/example.warc.gz')],
  ['mirror/b/x.warc.gz', fixture('warcio/post-test.warc.gz')],
  ['mirror/c/readme.txt', new TextEncoder().encode('not a WARC')],
  ['mirror/d/y.warc', fixture('warcio-js/redirect.warc')],
  [ccPath, fixture('commoncrawl/whirlwind.warc.gz')],
  ['crawl-data/CC-MAIN-2024-22/warc.paths.gz', new Uint8Array(gzipSync(`${ccPath}\n`))],
];

let server: RunningS3rver;

async function put(client: S3Client, key: string, body: Uint8Array): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: 'warcs', Key: key, Body: body, ContentLength: body.length }));
}

async function listAll(source: { list(spec: string): AsyncIterable<InputRef> }, spec: string): Promise<InputRef[]> {
  const inputs: InputRef[] = [];
  for await (const input of source.list(spec)) inputs.push(input);
  return inputs;
}

beforeAll(async () => {
  server = await startS3rver(['warcs']);
  for (const [key, body] of objects) await put(server.client, key, body);
  for (let index = 0; index < 9; index += 1)
    await put(server.client, `many/file-${index}.warc.gz`, new Uint8Array([index]));
});
afterAll(async () => server?.stop());

sourceContract('S3 prefix listing (s3rver)', async () => ({
  source: new S3Source({ client: server.client, pageKeys: 2 }),
  spec: 's3://warcs/mirror/',
  expected: objects
    .filter(([key]) => key.startsWith('mirror/') && !key.endsWith('.txt'))
    .map(([key, bytes]) => ({ filename: key.slice('mirror/'.length), bytes })),
  missing: inputRefFor('s3://warcs/mirror/none.warc.gz', 'none.warc.gz'),
}));

describe('S3 listings', () => {
  test('follow continuation tokens past many pages, in key order, with sizes', async () => {
    let listRequests = 0;
    const client = server.client;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') listRequests += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countListings' },
    );
    const inputs = await listAll(new S3Source({ client, pageKeys: 2 }), 's3://warcs/many/');
    client.middlewareStack.remove('countListings');
    expect(inputs.map((input) => input.filename)).toEqual(
      Array.from({ length: 9 }, (_, index) => `file-${index}.warc.gz`),
    );
    expect(inputs.every((input) => input.sizeBytes === 1)).toBe(true);
    expect(listRequests).toBe(5);
  });

  test("a prefix or key deep inside CommonCrawl's layout names its file as CommonCrawl does", async () => {
    const source = new S3Source({ client: server.client });
    const named = {
      uri: `s3://warcs/${ccPath}`,
      filename: ccPath,
      crawl: 'CC-MAIN-2024-22',
      subset: 'warc',
      segment: '1715971057216.39',
    };
    const folder = ccPath.slice(0, ccPath.lastIndexOf('/') + 1);
    for (const spec of [
      's3://warcs/crawl-data/',
      `s3://warcs/${folder}`,
      `s3://warcs/${folder.replace(/warc\/$/, '')}`,
      `s3://warcs/${ccPath}`,
    ]) {
      expect(await listAll(source, spec), spec).toEqual([
        { ...named, sizeBytes: fixture('commoncrawl/whirlwind.warc.gz').length },
      ]);
    }
  });

  test('a manifest object resolves crawl-data lines in its bucket, as cc: with an s3 base', async () => {
    const source = new AnySource({
      commonCrawlBase: 's3://warcs/',
      s3Source: async () => new S3Source({ client: server.client }),
    });
    const inputs = await listAll(source, 'cc:CC-MAIN-2024-22');
    expect(inputs).toEqual([
      {
        uri: `s3://warcs/${ccPath}`,
        filename: ccPath,
        crawl: 'CC-MAIN-2024-22',
        subset: 'warc',
        segment: '1715971057216.39',
      },
    ]);
    const whole = fixture('commoncrawl/whirlwind.warc.gz');
    expect(await source.sizeOf(inputs[0] as InputRef)).toBe(whole.length);
    expect(await source.read(inputs[0] as InputRef, { offsetBytes: 300, lengthBytes: 500 })).toEqual(
      whole.subarray(300, 800),
    );
  });
});

/** What the proxy does to the body of a ranged GET: nothing, or a few bytes off its end or onto it. */
type BodyFault = 'none' | 'short' | 'long';

interface BodyProxy {
  readonly client: S3Client;
  fault: BodyFault;
  stop(): Promise<void>;
}

/** Forwards to s3rver unchanged (signatures hold: the Host header passes), but for a ranged GET's body. */
async function startBodyProxy(target: string): Promise<BodyProxy> {
  const upstream = new URL(target);
  const proxy = { fault: 'none' as BodyFault };
  const relay = (request: IncomingMessage, response: ServerResponse): void => {
    const outgoing = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (part: Buffer) => parts.push(part));
        answer.on('end', () => {
          let body = Buffer.concat(parts);
          const ranged = answer.headers['content-range'] !== undefined;
          if (ranged && proxy.fault === 'short') body = body.subarray(0, body.length - 7);
          if (ranged && proxy.fault === 'long') body = Buffer.concat([body, Buffer.from('7 bytes')]);
          response.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': String(body.length) });
          response.end(body);
        });
      },
    );
    request.pipe(outgoing);
  };
  const server: Server = createServer(relay);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createS3Client({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: s3rverCredentials });
  return Object.assign(proxy, {
    client,
    stop: async () => {
      client.destroy();
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
    },
  });
}

describe('S3 range bodies', () => {
  const whole = fixture('warcio/example.warc.gz');
  const input = inputRefFor('s3://warcs/mirror/a/x.warc.gz', 'x.warc.gz');
  let proxy: BodyProxy;
  beforeAll(async () => {
    proxy = await startBodyProxy(server.endpoint);
  });
  afterAll(async () => proxy?.stop());

  const failureOf = (read: Promise<Uint8Array>): Promise<unknown> =>
    read.then(
      () => null,
      (error: unknown) => error,
    );

  test('a range is read into the memory given, through the proxy as straight', async () => {
    proxy.fault = 'none';
    const memory = (lengthBytes: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(lengthBytes));
    const read = await new S3Source({ client: proxy.client }).read(
      input,
      { offsetBytes: 100, lengthBytes: 2_000 },
      undefined,
      memory,
    );
    expect(read.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(read).equals(whole.subarray(100, 2_100))).toBe(true);
  });

  test('a body shorter than its Content-Range is the remote’s fault, retried', async () => {
    proxy.fault = 'short';
    const failure = await failureOf(
      new S3Source({ client: proxy.client }).read(input, { offsetBytes: 100, lengthBytes: 2_000 }),
    );
    expect(failure).toBeInstanceOf(FailureError);
    expect((failure as FailureError).failure).toMatchObject({
      fault: 'remote',
      retryable: true,
      reason: 'GET s3://warcs/mirror/a/x.warc.gz ended after 1993 of 2000 bytes',
    });
  });

  test('a body longer than its Content-Range is the remote’s fault, retried', async () => {
    proxy.fault = 'long';
    const failure = await failureOf(
      new S3Source({ client: proxy.client }).read(input, { offsetBytes: 100, lengthBytes: 2_000 }),
    );
    expect(failure).toBeInstanceOf(FailureError);
    expect((failure as FailureError).failure).toMatchObject({
      fault: 'remote',
      retryable: true,
      reason: 'GET s3://warcs/mirror/a/x.warc.gz sent more than the 2000 bytes of its Content-Range',
    });
  });

  test('the end of the object cut by the range is read whole, a short body there is still short', async () => {
    const tail = { offsetBytes: whole.length - 300, lengthBytes: 1_000 };
    proxy.fault = 'none';
    expect(
      Buffer.from(await new S3Source({ client: proxy.client }).read(input, tail)).equals(whole.subarray(-300)),
    ).toBe(true);
    proxy.fault = 'short';
    const failure = await failureOf(new S3Source({ client: proxy.client }).read(input, tail));
    expect((failure as FailureError).failure).toMatchObject({
      fault: 'remote',
      reason: expect.stringMatching(/ended after 293 of 300 bytes$/),
    });
  });
});

describe('AWS error classification', () => {
  const sdkError = (name: string, status?: number): Error =>
    Object.assign(new Error(`${name} happened`), {
      name,
      ...(status !== undefined ? { $metadata: { httpStatusCode: status } } : {}),
    });

  test('throttling, missing input, remote trouble and configuration are told apart', () => {
    expect(classifyAwsError(sdkError('SlowDown', 503), 'GET x')).toMatchObject({
      fault: 'remote',
      throttled: true,
      retryable: true,
    });
    expect(classifyAwsError(sdkError('ThrottlingException', 400), 'PUT x')).toMatchObject({ throttled: true });
    expect(classifyAwsError(sdkError('NoSuchKey', 404), 'GET x')).toMatchObject({ fault: 'input', retryable: false });
    expect(classifyAwsError(sdkError('AccessDenied', 403), 'GET x')).toMatchObject({
      fault: 'input',
      retryable: false,
    });
    expect(classifyAwsError(sdkError('InternalError', 500), 'GET x')).toMatchObject({
      fault: 'remote',
      retryable: true,
      throttled: false,
    });
    expect(classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'GET x')).toMatchObject(
      { fault: 'remote', retryable: true },
    );
    expect(classifyAwsError(sdkError('CredentialsProviderError'), 'GET x')).toMatchObject({
      fault: 'ours',
      retryable: false,
    });
    expect(classifyAwsError(sdkError('InvalidArgument', 400), 'GET x')).toMatchObject({
      fault: 'ours',
      retryable: false,
    });
  });
});
