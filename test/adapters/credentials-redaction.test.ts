/**
 * Proves that credentials never reach a log line, an error text or a metric. With
 * recognisable fake credentials in the environment (the SDK's standard chain picks them
 * up), every adapter that talks to AWS is made to fail: against s3rver, which rejects the
 * unknown key, and against a hostile server that echoes the signed request headers in its
 * error message. Every error's message, string form and full inspection, and every log
 * line, is searched for the key id and the secret.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { createCloudWatchClient, createS3Client } from '../../adapters/aws/aws-clients.ts';
import { describeError, redact } from '../../adapters/aws/redact.ts';
import { CloudWatchMetrics } from '../../adapters/metrics/cloudwatch-metrics.ts';
import { abortIncompleteUploads } from '../../adapters/sink/multipart-cleanup.ts';
import { S3Sink } from '../../adapters/sink/s3-sink.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';
import { S3Source } from '../../adapters/source/s3-source.ts';
import { startCredentialEchoServer, type CredentialEchoServer } from '../support/credential-echo-server.ts';
import { sampleSnapshot } from '../support/sample-metrics-snapshot.ts';
import { startS3rver, type RunningS3rver } from '../support/s3rver-process.ts';

const accessKeyId = 'AKIAFAKEFAKEFAKE0000';
const secretAccessKey = 'fakeSecret/ShouldNeverAppear';
const saved: Record<string, string | undefined> = {};
const texts: string[] = [];
let s3rver: RunningS3rver;
let echo: CredentialEchoServer;

function setEnvironment(name: string, value: string): void {
  saved[name] = process.env[name];
  process.env[name] = value;
}

/** Runs a call expected to fail and keeps every text its error could show. */
async function failureTexts(call: () => Promise<unknown>): Promise<FailureError> {
  const error = await call().then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FailureError);
  texts.push((error as Error).message, String(error), inspect(error, { depth: 10, showHidden: true }));
  return error as FailureError;
}

function expectNoCredentials(): void {
  expect(texts.length).toBeGreaterThan(0);
  for (const text of texts) {
    expect(text).not.toContain(accessKeyId);
    expect(text).not.toContain(secretAccessKey);
    expect(text).not.toContain('ShouldNeverAppear');
  }
}

beforeAll(async () => {
  setEnvironment('AWS_ACCESS_KEY_ID', accessKeyId);
  setEnvironment('AWS_SECRET_ACCESS_KEY', secretAccessKey);
  setEnvironment('AWS_REGION', 'us-east-1');
  s3rver = await startS3rver(['bucket']);
  echo = await startCredentialEchoServer();
});
afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await s3rver?.stop();
  await echo?.stop();
});

describe('credentials stay out of errors, logs and metrics', () => {
  for (const target of ['s3rver', 'echo'] as const) {
    test(`S3 source, sink and cleanup failing against ${target}`, async () => {
      const endpoint = target === 's3rver' ? s3rver.endpoint : echo.url;
      // No credentials passed: the SDK's chain reads the fake ones from the environment.
      const client = createS3Client({ endpoint });
      const source = new S3Source({ client, listingRetry: { attemptsMax: 1, firstDelayMs: 0 } });
      const sink = new S3Sink({ client, output: 's3://bucket/out' });
      const input = inputRefFor('s3://bucket/x.warc.gz', 'x.warc.gz');
      const denied = await failureTexts(() => source.read(input, { offsetBytes: 0, lengthBytes: 10 }));
      expect(denied.failure.fault).toBe('input');
      await failureTexts(() => source.sizeOf(input));
      await failureTexts(async () => {
        for await (const listed of source.list('s3://bucket/prefix/')) void listed;
      });
      // begin sends nothing: a second part begins the multipart upload, a lone small part is one PutObject.
      const multipart = await sink.begin('key.parquet');
      await failureTexts(() => sink.uploadPart(multipart, 2, [new Uint8Array(10)]));
      const whole = await sink.begin('whole.parquet');
      const held = await sink.uploadPart(whole, 1, [new Uint8Array(10)]);
      await failureTexts(() => sink.complete(whole, [held]));
      await failureTexts(() => abortIncompleteUploads({ client, output: 's3://bucket/out/' }));
      client.destroy();
      // The echo server did send the signed headers back: redaction, not luck, removed them.
      if (target === 'echo') expect(texts.some((text) => /authorization: \[redacted\]/.test(text))).toBe(true);
      expectNoCredentials();
    });
  }

  test('CloudWatch failing against the echo server logs no credentials, and the metrics hold none', async () => {
    const lines: string[] = [];
    const metrics = new CloudWatchMetrics({
      client: createCloudWatchClient({ endpoint: echo.url, maxAttempts: 1 }),
      log: (line) => lines.push(line),
    });
    await metrics.report(sampleSnapshot(1_700_000_000_000));
    expect(metrics.failedPuts).toBe(1);
    expect(lines.join('\n')).toMatch(/denied, you sent/);
    texts.push(...lines);
    expectNoCredentials();
  });

  test('an HTTP input whose URL carries a password shows it redacted', async () => {
    const source = new HttpSource();
    const input = inputRefFor(`http://user:${secretAccessKey}@127.0.0.1:9/x.warc.gz`, 'x.warc.gz');
    await failureTexts(() => source.read(input, { offsetBytes: 0, lengthBytes: 10 }));
    expectNoCredentials();
  });

  test('redact removes key ids, signatures, tokens and environment secrets', () => {
    const text = `Authorization: AWS4-HMAC-SHA256 Credential=${accessKeyId}/20240101/us-east-1/s3/aws4_request, Signature=abc123 X-Amz-Security-Token=tok&x=1 secret ${secretAccessKey} ASIAABCDEFGHIJKLMNOP https://u:p4ss@host/`;
    const cleaned = redact(text);
    for (const secret of [accessKeyId, secretAccessKey, 'abc123', 'tok&', 'ASIAABCDEFGHIJKLMNOP', 'p4ss'])
      expect(cleaned).not.toContain(secret);
    expect(describeError(new Error(`failed with ${secretAccessKey}`))).not.toContain(secretAccessKey);
  });
});
