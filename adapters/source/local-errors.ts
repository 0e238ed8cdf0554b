/** Classifies a file-system error: a missing or unreadable file is the input's fault. */
import { FailureError, inputFault, ourFault, type Failure } from '../../core/failure.ts';
import { describeError } from '../aws/redact.ts';

const inputCodes = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG']);
const transientCodes = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'ENOMEM']);

export function classifyFileError(error: unknown, what: string): Failure {
  if (error instanceof FailureError) return error.failure;
  const code = (error as { code?: unknown } | null)?.code;
  const reason = `${what}: ${describeError(error)}`;
  if (typeof code === 'string' && inputCodes.has(code)) return inputFault(reason);
  // Too many open files and the like are this machine's limits: trying later may work.
  return ourFault(reason, typeof code === 'string' && transientCodes.has(code));
}

export async function fileCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new FailureError(classifyFileError(error, what));
  }
}
