/**
 * Removes credentials from text before it reaches a log line, an error message or a metric.
 * Error texts from the SDK or a remote can echo a request (an Authorization header, a
 * presigned URL, an access key id in an XML error body), so every message this project
 * builds from a foreign error passes through here.
 */

const redacted = '[redacted]';

/** Access key ids: long-term (AKIA) and temporary (ASIA) ones, and other AWS id prefixes. */
const accessKeyIdPattern = /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}\b/g;
/** Signed-request parts: header values and presigned-URL query parameters. */
const signaturePatterns: readonly RegExp[] = [
  /(authorization\s*[:=]\s*)[^\r\n,;]+/gi,
  /(x-amz-(?:credential|signature|security-token)\s*[:=]\s*)[^\s&"'<]+/gi,
  /((?:aws_)?secret_access_key\s*[:=]\s*)\S+/gi,
  /((?:aws_)?session_token\s*[:=]\s*)\S+/gi,
  /(Credential=)[^\s,&"']+/g,
  /(Signature=)[^\s,&"']+/g,
];
/** `scheme://user:password@host`: the password of a URL. */
const urlPasswordPattern = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]+@/gi;

/** Secret values the environment holds: replaced literally wherever they appear. */
function environmentSecrets(): string[] {
  const names = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID'];
  const values: string[] = [];
  for (const name of names) {
    const value = process.env[name];
    // Very short values would blank out ordinary words; real secrets are long.
    if (value !== undefined && value.length >= 8) values.push(value);
  }
  return values;
}

export function redact(text: string): string {
  let result = text;
  for (const secret of environmentSecrets()) result = result.split(secret).join(redacted);
  result = result.replace(accessKeyIdPattern, redacted);
  for (const pattern of signaturePatterns) result = result.replace(pattern, `$1${redacted}`);
  return result.replace(urlPasswordPattern, `$1${redacted}@`);
}

/** A one-line, redacted description of anything thrown: name, code, status and message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return redact(String(error));
  const details = error as Error & { code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  const code = details.code ?? details.Code;
  const status = details.$metadata?.httpStatusCode;
  const parts = [error.name];
  if (typeof code === 'string' && code !== error.name) parts.push(code);
  if (typeof status === 'number') parts.push(`HTTP ${status}`);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
  return redact(`${parts.join(' ')}: ${error.message}${cause}`);
}
