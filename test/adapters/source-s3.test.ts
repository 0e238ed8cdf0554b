/**
 * Proves the S3 source against s3rver on loopback: the Source contract over an
 * `s3://bucket/prefix` listing; a listing that follows continuation tokens past many pages;
 * a manifest object whose `crawl-data/` lines resolve in the same bucket (as
 * `cc:` with `--cc-base s3://commoncrawl/` does); a prefix deep in CommonCrawl's layout named
 * as CommonCrawl names its files; a missing object is the input's fault.
 */
import { readFileSync } from 'node:fs';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InputRef } from '../../core/input-ref.ts';
import { classifyAwsError } from '../../adapters/aws/aws-failure.ts';
import { AnySource } from '../../adapters/source/any-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { S3Source } from '../../adapters/source/s3-source.ts';
import { startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';
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
