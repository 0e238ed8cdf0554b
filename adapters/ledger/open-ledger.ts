/**
 * Picks and opens a ledger from `--ledger` (LEDGER_URL): nothing or `embedded` for the
 * embedded ledger beside the output, a folder path (or `file://` URL) for an embedded ledger
 * there, `postgres://…` for a fleet's shared PostgreSQL. Also the text and JSON `status`
 * prints from either.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunStats, WorkerProgress } from '../../core/ledger.ts';
import { bytesText, countText, durationText, rateText } from '../../core/units-text.ts';
import { reasonTotalsLines } from '../../core/record-reasons.ts';
import { EmbeddedLedger } from './embedded-ledger.ts';
import type { FailedJob, InspectableLedger, LedgerOptions, RunListing, SharedOutputKey } from './ledger-options.ts';

export interface OpenLedgerOptions extends LedgerOptions {
  /** `--ledger`; undefined or '' for the default. */
  readonly url: string | undefined;
  /** `--output`: a local folder or `s3://bucket/prefix`. */
  readonly output: string;
  /** PostgreSQL schema (LEDGER_SCHEMA); default `cc_ledger`. */
  readonly schema?: string;
  /** For `status`: an embedded ledger is read beside the worker that holds it (see EmbeddedLedgerOptions). */
  readonly readOnly?: boolean;
}

/**
 * Where the embedded ledger lives by default: `<output>/.ledger` for a local output (Spark,
 * Hive, DuckDB and Athena skip dot-folders when they read the Parquet beside it); for an S3
 * output, which has no local folder, `./.ledger/<hash of the output URL>` in the working folder.
 */
export function defaultEmbeddedDirectory(output: string): string {
  if (/^s3:\/\//i.test(output)) {
    const name = createHash('sha256').update(output).digest('hex').slice(0, 16);
    return resolve('.ledger', name);
  }
  return join(resolve(output), '.ledger');
}

export async function openLedger(options: OpenLedgerOptions): Promise<InspectableLedger> {
  const url = options.url?.trim() ?? '';
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // Loaded only for a fleet: a local run need not load the PostgreSQL driver.
    const { PostgresLedger } = await import('./postgres-ledger.ts');
    return PostgresLedger.open({
      ...options,
      connectionString: url,
      ...(options.schema ? { schema: options.schema } : {}),
    });
  }
  if (url === '' || url === 'embedded')
    return EmbeddedLedger.open({ ...options, directory: defaultEmbeddedDirectory(options.output) });
  if (url.startsWith('file://')) return EmbeddedLedger.open({ ...options, directory: fileURLToPath(url) });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new Error(
      `configuration error (user's): --ledger must be empty (embedded), a folder, or postgres://…; got ${url}`,
    );
  }
  return EmbeddedLedger.open({ ...options, directory: resolve(url) });
}

export interface RunStatus {
  readonly runId: string;
  readonly stats: RunStats;
  readonly workers: readonly WorkerProgress[];
  /** The first failed jobs by URI (all of them when `stats.failed` is no larger). */
  readonly failed: readonly FailedJob[];
  /** Inputs sharing an output with an input enqueued before them (a ledger older than the rule). */
  readonly shared: readonly SharedOutputKey[];
}

/** Failed jobs a status lists; `stats.failed` says how many there are in all. */
const failedListedMax = 20;

export async function readRunStatus(ledger: InspectableLedger, runId: string): Promise<RunStatus> {
  const [stats, workers, failed, shared] = await Promise.all([
    ledger.stats(runId),
    ledger.workerProgress(runId),
    ledger.failedJobs(runId, failedListedMax),
    ledger.sharedOutputKeys(runId, failedListedMax),
  ]);
  return { runId, stats, workers, failed, shared };
}

/** What `status` prints on a terminal: the run's counts, then one line per worker. */
export function runStatusText(status: RunStatus): string {
  const { stats } = status;
  const total = stats.done + stats.failed + stats.remaining;
  const lines = [
    `run ${status.runId}: ${stats.done}/${total} done, ${stats.failed} failed, ${stats.pending} pending, ${stats.claimed} claimed`,
    `  done: ${bytesText(stats.inputBytesDone)} read, ${countText(stats.rowsDone, 'row')} written, ` +
      `${countText(stats.badRecordsDone, 'bad record')}, ${stats.skippedRecordsDone} skipped, ` +
      `${countText(stats.recordWarningsDone, 'row')} with warnings`,
    ...reasonTotalsLines({
      bad: stats.badByReasonDone,
      skipped: stats.skippedByReasonDone,
      warning: stats.warningByReasonDone,
    }),
  ];
  for (const worker of status.workers) lines.push(workerProgressLine(worker));
  for (const job of status.failed) lines.push(`  failed: ${job.uri}: ${job.lastError ?? 'no error recorded'}`);
  if (stats.failed > status.failed.length) lines.push(`  … and ${stats.failed - status.failed.length} more failed`);
  for (const job of status.shared) lines.push(sharedOutputKeyLine(job));
  if (stats.failed > 0) lines.push(`  ${retryHint}`);
  return lines.join('\n');
}

/**
 * The time left on a worker's current file at its recent rate, in ms; null when its size, its
 * bytes read or the rate is not known.
 */
export function currentFileEtaMs(worker: WorkerProgress): number | null {
  const { currentBytes, currentSizeBytes, bytesPerSecond } = worker;
  if (worker.currentInput === null || currentBytes === undefined) return null;
  if (currentSizeBytes === null || currentSizeBytes === undefined) return null;
  if (bytesPerSecond === null || bytesPerSecond === undefined || bytesPerSecond <= 0) return null;
  return (Math.max(0, currentSizeBytes - currentBytes) / bytesPerSecond) * 1_000;
}

/** One worker in `status`: what it reads now, how far, how fast, when that file is done; then its totals. */
export function workerProgressLine(worker: WorkerProgress): string {
  const parts: string[] = [];
  if (worker.currentInput !== null) {
    const read = worker.currentBytes;
    const size = worker.currentSizeBytes ?? null;
    if (read !== undefined)
      parts.push(size === null ? `${bytesText(read)} read` : `${bytesText(read)} of ${bytesText(size)}`);
    if (worker.bytesPerSecond !== undefined && worker.bytesPerSecond !== null)
      parts.push(rateText(worker.bytesPerSecond));
    const etaMs = currentFileEtaMs(worker);
    if (etaMs !== null) parts.push(`ETA ${durationText(etaMs)}`);
  }
  const current = worker.currentInput === null ? 'no current file' : worker.currentInput;
  return (
    `  ${worker.workerId} ${worker.status}: ${current}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}; ` +
    `in all ${worker.records} records, ${worker.badRecords} bad, ${bytesText(worker.bytes)} read`
  );
}

/** How a user exports failed inputs again, once fixed. */
export const retryHint =
  'to export the failed inputs again once fixed: `node cmd/worker retry-failed` with the same options,' +
  ' then run again (or everything under a new --run-id)';

/** An input left sharing its output with another by a ledger written before outputs had to be distinct. */
export function sharedOutputKeyLine(job: SharedOutputKey): string {
  const what = job.state === 'done' ? 'both were exported, one over the other' : 'it was not exported';
  return (
    `  shared output: ${job.uri}: its output ${job.outputKey} is also the output of ${job.heldBy} (${what});` +
    ' export it under a new --run-id'
  );
}

/** What `status` prints when no run is named: every run the ledger holds, the most recently active first. */
export function runListText(runs: readonly RunListing[], where: string): string {
  if (runs.length === 0) return `the ledger at ${where} holds no run`;
  const lines = [
    `runs in the ledger at ${where} (name one with --run-id, or with the --input and --output it ran with):`,
  ];
  for (const run of runs) {
    lines.push(
      `  ${run.runId} input ${run.input ?? '(not recorded)'} output ${run.output ?? '(not recorded)'}: ` +
        `${run.done} done, ${run.pending + run.claimed} pending, ${run.failed} failed, ` +
        `last activity ${new Date(run.lastActivityMs).toISOString()}`,
    );
  }
  return lines.join('\n');
}
