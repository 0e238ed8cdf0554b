/** Whose fault an HTTP answer or a network error is, for the core's retry and AIMD rules. */
import { FailureError, inputFault, ourFault, remoteFault, type Failure } from '../../core/failure.ts';
import { describeError, redact } from '../aws/redact.ts';

export function failureForStatus(
  status: number,
  url: string,
  retryAfter: string | null,
  method: 'GET' | 'HEAD' = 'GET',
): Failure {
  const reason = redact(
    `${method} ${url} answered HTTP ${status}${retryAfter !== null ? ` (Retry-After: ${retryAfter})` : ''}`,
  );
  if (status === 429 || status === 503) return remoteFault(reason, { throttled: true });
  if (status === 401 || status === 403 || status === 404 || status === 410) return inputFault(reason);
  if (status === 408 || status >= 500) return remoteFault(reason);
  return ourFault(reason);
}

/** A timeout, a reset or a dropped connection: the remote's fault, worth another try. */
export function networkFailure(error: unknown, url: string): Failure {
  if (error instanceof FailureError) return error.failure;
  return remoteFault(redact(`GET ${url} failed: ${describeError(error)}`));
}

export interface ContentRange {
  readonly firstByte: number;
  readonly lastByte: number;
  readonly totalBytes: number | null;
}

/** Parses `bytes first-last/total` (total may be `*`); null when malformed. */
export function parseContentRange(header: string | null): ContentRange | null {
  const match = header === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (match === null) return null;
  const firstByte = Number(match[1]);
  const lastByte = Number(match[2]);
  const totalBytes = match[3] === '*' ? null : Number(match[3]);
  if (lastByte < firstByte || (totalBytes !== null && lastByte >= totalBytes)) return null;
  return { firstByte, lastByte, totalBytes };
}

/** The total of a 416 answer's `Content-Range: bytes *\/total`: the input's size. */
export function unsatisfiedRangeTotal(header: string | null): number | null {
  const match = header === null ? null : /^bytes \*\/(\d+)$/.exec(header.trim());
  return match === null ? null : Number(match[1]);
}
