/**
 * S3 and CloudWatch clients built so the SDK's standard configuration chain applies
 * (region, credentials from the environment, profiles, SSO or the instance profile, and
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_CLOUDWATCH`), with an explicit endpoint on top.
 *
 * Retries: the SDK's own retries are kept to `maxAttempts` (default 1 for S3 data calls):
 * the core retries failed tasks with backoff and lowers the remote's concurrency on
 * throttling, and an SDK that silently retried a 503 SlowDown would hide it from the core.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface AwsClientOptions {
  /** `--s3-endpoint` (or a CloudWatch endpoint): overrides what the SDK chain would pick. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Attempts per call inside the SDK, the first included. */
  readonly maxAttempts?: number;
  readonly requestTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Explicit credentials (tests against a local store); absent, the SDK's chain finds them. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Region for a store reached by an explicit endpoint when nothing in the chain names one. */
const regionForCustomEndpoint = 'us-east-1';

function regionFromEnvironment(): string | undefined {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
}

/** True when S3 is reached through something other than AWS's own endpoints. */
function usesCustomS3Endpoint(options: AwsClientOptions): boolean {
  return (
    options.endpoint !== undefined ||
    process.env.AWS_ENDPOINT_URL_S3 !== undefined ||
    process.env.AWS_ENDPOINT_URL !== undefined
  );
}

function requestHandlerOptions(options: AwsClientOptions): { requestTimeout: number; connectionTimeout: number } {
  return {
    requestTimeout: options.requestTimeoutMs ?? 120_000,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
  };
}

export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const config: S3ClientConfig = {
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: requestHandlerOptions(options),
  };
  const region = options.region ?? regionFromEnvironment();
  if (region !== undefined) config.region = region;
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  if (options.endpoint !== undefined) {
    config.endpoint = options.endpoint;
    if (region === undefined) config.region = regionForCustomEndpoint;
  }
  if (usesCustomS3Endpoint(options)) {
    // S3-compatible stores (MinIO, s3rver, Ceph) want path-style addressing, and several
    // store the aws-chunked framing of a streamed upload when checksums are sent unasked.
    config.forcePathStyle = true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return new S3Client(config);
}

export function createCloudWatchClient(options: AwsClientOptions = {}): CloudWatchClient {
  const region = options.region ?? regionFromEnvironment();
  return new CloudWatchClient({
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: requestHandlerOptions(options),
    ...(region !== undefined ? { region } : {}),
    ...(options.credentials !== undefined ? { credentials: { ...options.credentials } } : {}),
    ...(options.endpoint !== undefined
      ? { endpoint: options.endpoint, region: region ?? regionForCustomEndpoint }
      : {}),
  });
}
