/**
 * The commands that read or change a run's ledger without exporting anything: `status` (one
 * run, or every run the ledger holds when none is named) and `retry-failed` (the failed jobs
 * back to pending, attempts reset). Resetting failed jobs is an operator's decision, never a
 * worker's: a worker restarting in a fleet must not retry poison inputs by itself.
 */
import { resolve } from 'node:path';
import type { InspectableLedger } from '../../adapters/ledger/ledger-options.ts';
import {
  currentFileEtaMs,
  defaultEmbeddedDirectory,
  readRunStatus,
  runListText,
  runStatusText,
} from '../../adapters/ledger/open-ledger.ts';
import type { RunOrigin } from '../../core/ledger.ts';
import { summaryInputsListedMax } from './run-summary.ts';
import { inputSpecOf, ledgerOf, runIdOf } from './wiring.ts';
import type { WorkerConfig } from './worker-config.ts';

/** A command names a run by --run-id, or by --input (whose run id derives from input and output). */
export function namesRun(config: WorkerConfig): boolean {
  return config.runId !== undefined || config.input !== undefined;
}

/** Where the run's ledger is, for messages: a folder, or the database without its credentials. */
export function ledgerWhere(config: WorkerConfig): string {
  if (/^postgres(ql)?:\/\//i.test(config.ledger)) {
    try {
      const url = new URL(config.ledger);
      return `${url.protocol}//${url.host}${url.pathname}`;
    } catch {
      return 'the PostgreSQL database given';
    }
  }
  if (config.ledger === 'embedded') {
    const folder = defaultEmbeddedDirectory(config.output);
    return config.shard === undefined ? folder : `${folder}-shard-${config.shard.index}-of-${config.shard.count}`;
  }
  return config.ledger;
}

/** What the run's first enqueue records: its input and output as `status` lists them, local paths made absolute. */
export function runOriginOf(config: WorkerConfig): RunOrigin {
  const input = inputSpecOf(config);
  return {
    input: /^[a-z][a-z0-9+.-]*:/i.test(input) ? input : resolve(input),
    output: config.output.startsWith('s3://') ? config.output : resolve(config.output),
  };
}

function unknownRunLine(runId: string, config: WorkerConfig): string {
  return (
    `error: no run ${runId} in the ledger at ${ledgerWhere(config)};` +
    ' `node cmd/worker status` without --run-id and --input lists the runs it holds\n'
  );
}

/**
 * `node cmd/worker status [--json]`: one run (exit 2 if the ledger holds no such run), or every
 * run when none is named. The JSON's fields are documented in docs/operations.md ("Watching a run").
 */
export async function statusCommand(config: WorkerConfig, json: boolean): Promise<number> {
  const ledger = await ledgerOf(config, true);
  try {
    if (!namesRun(config)) {
      const runs = await ledger.listRuns();
      process.stdout.write(`${json ? JSON.stringify({ runs }) : runListText(runs, ledgerWhere(config))}\n`);
      return 0;
    }
    const runId = runIdOf(config);
    if ((await ledger.runListing(runId)) === undefined) {
      process.stderr.write(unknownRunLine(runId, config));
      return 2;
    }
    const status = await readRunStatus(ledger, runId);
    const printed = json
      ? JSON.stringify({
          runId: status.runId,
          ...status.stats,
          workers: status.workers.map((worker) => ({ ...worker, currentFileEtaMs: currentFileEtaMs(worker) })),
          failedJobs: status.failed,
          sharedOutputKeys: status.shared,
        })
      : runStatusText(status);
    process.stdout.write(`${printed}\n`);
    return 0;
  } finally {
    await ledger.close();
  }
}

/** `node cmd/worker retry-failed` with the run's options: puts its failed jobs back to pending and says which. */
export async function retryFailedCommand(config: WorkerConfig): Promise<number> {
  const ledger: InspectableLedger = await ledgerOf(config);
  try {
    const runId = runIdOf(config);
    if ((await ledger.runListing(runId)) === undefined) {
      process.stderr.write(unknownRunLine(runId, config));
      return 2;
    }
    const reset = await ledger.retryFailed(runId);
    if (reset.length === 0) {
      process.stdout.write(`run ${runId}: no failed job to put back\n`);
      return 0;
    }
    const lines = [
      `run ${runId}: ${reset.length} failed job${reset.length === 1 ? '' : 's'} put back to pending, attempts reset:`,
    ];
    const sorted = reset.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    for (const job of sorted.slice(0, summaryInputsListedMax)) {
      lines.push(`  ${job.uri} (was: ${job.lastError ?? 'no error recorded'})`);
    }
    if (sorted.length > summaryInputsListedMax) lines.push(`  … and ${sorted.length - summaryInputsListedMax} more`);
    lines.push('run the same command without retry-failed to export them');
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await ledger.close();
  }
}
