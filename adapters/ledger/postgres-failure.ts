/**
 * Classifies an error of the PostgreSQL driver into whose fault it is, once, at the ledger's
 * boundary. What passes with time is a retryable fault of the remote: a transaction the
 * server rolled back to keep transactions apart (serialization failure, deadlock: the same
 * statement again succeeds), a connection lost or refused, a server shutting down or
 * starting, no connection slot free. Everything else names itself (its SQLSTATE and what it
 * means) and is not retried: a missing table, a refused password or a violated constraint
 * fails the same way every time.
 */
import { FailureError, ourFault, remoteFault, type Failure } from '../../core/failure.ts';
import { describeError } from '../aws/redact.ts';

/** SQLSTATEs that a later try can pass, with what they mean. */
const retryableStates: Readonly<Record<string, string>> = {
  '40001': 'serialization failure',
  '40P01': 'deadlock detected',
  '57P01': 'server shutdown (admin)',
  '57P02': 'server crash shutdown',
  '57P03': 'cannot connect now (the server is starting or in recovery)',
  '53300': 'too many connections',
  '08000': 'connection exception',
  '08003': 'connection does not exist',
  '08006': 'connection failure',
  '08001': 'client unable to establish connection',
  '08004': 'server rejected the connection',
  '08007': 'transaction resolution unknown',
  '08P01': 'protocol violation',
};

/** Other SQLSTATEs worth naming on their own. */
const namedStates: Readonly<Record<string, string>> = {
  '42P01': 'undefined table',
  '42703': 'undefined column',
  '42501': 'insufficient privilege',
  '23505': 'unique violation',
  '28P01': 'invalid password',
  '57014': 'query canceled (statement timeout)',
  '53100': 'disk full',
  '53200': 'out of memory',
};

/**
 * The SQLSTATE classes (PostgreSQL's Appendix A) and whose fault each is: ours for what
 * this program or its configuration got wrong (a wrong database, user, schema or statement),
 * the remote's for what the server suffers (resources, internal errors).
 */
const classes: Readonly<Record<string, { readonly name: string; readonly fault: 'ours' | 'remote' }>> = {
  '08': { name: 'connection exception', fault: 'remote' },
  '0A': { name: 'feature not supported', fault: 'ours' },
  '22': { name: 'data exception', fault: 'ours' },
  '23': { name: 'integrity constraint violation', fault: 'ours' },
  '25': { name: 'invalid transaction state', fault: 'ours' },
  '28': { name: 'invalid authorization specification', fault: 'ours' },
  '3D': { name: 'invalid catalog name (no such database)', fault: 'ours' },
  '3F': { name: 'invalid schema name', fault: 'ours' },
  '40': { name: 'transaction rollback', fault: 'remote' },
  '42': { name: 'syntax error or access rule violation', fault: 'ours' },
  '53': { name: 'insufficient resources', fault: 'remote' },
  '54': { name: 'program limit exceeded', fault: 'ours' },
  '55': { name: 'object not in prerequisite state', fault: 'remote' },
  '57': { name: 'operator intervention', fault: 'remote' },
  '58': { name: 'system error', fault: 'remote' },
  XX: { name: 'internal error', fault: 'remote' },
};

/** Socket errors of a connection that broke or never opened. */
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** The driver's own words for a connection that ended under it or could not be had in time. */
const lostConnectionPattern =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i;

export function classifyPostgresError(error: unknown, what: string): Failure {
  if (error instanceof FailureError) return error.failure;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const where = `ledger database (PostgreSQL) failed while ${what}`;
  const message = describeError(error);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const retryable = retryableStates[code];
    if (retryable !== undefined) return remoteFault(`${where}: ${retryable} (SQLSTATE ${code}): ${message}`);
    const known = classes[code.slice(0, 2)];
    const className = known?.name ?? 'error';
    const name = namedStates[code] === undefined ? className : `${className}, ${namedStates[code]}`;
    const reason = `${where}: ${name} (SQLSTATE ${code}): ${message}`;
    return known?.fault === 'remote' ? remoteFault(reason, { retryable: false }) : ourFault(reason);
  }
  if ((typeof code === 'string' && networkCodes.has(code)) || lostConnectionPattern.test(message)) {
    return remoteFault(`${where}: connection lost or refused: ${message}`);
  }
  return ourFault(`${where}: ${message}`);
}

/** The error a ledger call throws: classified, and the driver's error kept as its cause. */
export function postgresFailure(what: string, error: unknown): FailureError {
  return new FailureError(classifyPostgresError(error, what), { cause: error });
}
