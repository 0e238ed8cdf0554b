import { describeError } from '../../adapters/aws/redact.ts';
import { FailureError, ourFault, type Failure } from '../../core/failure.ts';

/** A thrown error as the core's failure: adapters classify theirs; anything else is ours. */
export function failureOf(error: unknown): Failure {
  if (error instanceof FailureError) return error.failure;
  return ourFault(describeError(error));
}
