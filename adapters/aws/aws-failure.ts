/**
 * Classifies an error thrown by the AWS SDK into whose fault it is, so the core can tell a
 * throttled remote (back off, lower concurrency) from a missing object (fail the job now).
 */
import { FailureError, inputFault, ourFault, remoteFault, type Failure } from '../../core/failure.ts';
import { describeError } from './redact.ts';

const throttlingCodes = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ServiceUnavailable',
]);
const inputCodes = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'NotFound',
  'AccessDenied',
  'Forbidden',
  'InvalidObjectState',
]);
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function classifyAwsError(error: unknown, what: string): Failure {
  if (error instanceof FailureError) return error.failure;
  // The SDK's failures carry a status, a code or a name of their own; a TypeError or a
  // RangeError without them was thrown by JavaScript itself: a bug of ours (a command built
  // wrongly, say), which no retry fixes.
  if (isLanguageError(error)) return ourFault(`${what}: ${describeError(error)}`);
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const code = shape.Code ?? shape.code ?? shape.name ?? '';
  const status = shape.$metadata?.httpStatusCode;
  const reason = `${what}: ${describeError(error)}`;
  if (throttlingCodes.has(code) || status === 503 || status === 429) return remoteFault(reason, { throttled: true });
  if (inputCodes.has(code) || status === 404 || status === 403) return inputFault(reason);
  if (code === 'AbortError') return ourFault(reason, true);
  // No credentials or no region: a configuration to fix, which no retry will fix.
  if (code === 'CredentialsProviderError' || /region is missing/i.test(reason)) return ourFault(reason);
  if (networkCodes.has(code) || status === undefined || status >= 500) return remoteFault(reason);
  // Any other 4xx is a request this program built wrongly, or a configuration error.
  return ourFault(reason);
}

function isLanguageError(error: unknown): boolean {
  const languageErrors = error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError;
  return (
    languageErrors && (error as SdkErrorShape).$metadata === undefined && (error as SdkErrorShape).code === undefined
  );
}

/** Runs an SDK call and rethrows its failure classified and redacted, without the raw error. */
export async function classified<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    // The raw SDK error is not attached as a cause: it carries the request and response,
    // and with them the signed Authorization header.
    throw new FailureError(classifyAwsError(error, what));
  }
}
