/**
 * `node cmd/worker`: exports WARC inputs to Parquet (run-worker.ts), or one of the commands
 * that only read or change a run's ledger or output (`status`, `retry-failed`, `cleanup`),
 * `--help` or `--version`. Those commands load neither Effect nor the runtime: run-worker.ts is
 * imported only when a run starts, the ledger commands only by theirs (measured in
 * docs/figures.md, "Start time").
 * Exit codes: 0 all jobs done; 1 fatal error; 2 bad usage or configuration; 3 the run holds
 * inputs it did not export — failed for good, or refused for an output another input holds
 * (listed on every invocation until `retry-failed` or a new run id).
 */
import { resolve } from 'node:path';
import { describeError } from '../../adapters/aws/redact.ts';
import { versionText } from '../package-version.ts';
import { jsonLinesLogger, logProcessWarnings } from './logger.ts';
import { ConfigError, helpText, loadWorkerConfig, type WorkerConfig } from './worker-config.ts';

/**
 * `node cmd/worker cleanup --output s3://… [--dry-run] [--older-than-hours H]`: aborts
 * multipart uploads under the output prefix begun more than H hours ago (default 24), whose
 * workers died (their parts are billed until aborted). Younger uploads may belong to live
 * workers: use a small H only when no worker of the run is running. A local output is
 * cleaned of its stopped workers' temporary files instead (cleanupLocal).
 */
const cleanupAgeHoursDefault = 24;

async function cleanup(config: WorkerConfig, dryRun: boolean, olderThanHours: number): Promise<number> {
  if (!config.output.startsWith('s3://')) return cleanupLocal(config, dryRun, olderThanHours);
  logProcessWarnings(jsonLinesLogger(config.logLevel));
  const endpoint = config.s3Endpoint;
  const [{ createS3Client }, { abortIncompleteUploads }] = await Promise.all([
    import('../../adapters/aws/aws-clients.ts'),
    import('../../adapters/sink/multipart-cleanup.ts'),
  ]);
  const result = await abortIncompleteUploads({
    client: createS3Client(endpoint === undefined ? {} : { endpoint }),
    output: config.output,
    initiatedBeforeMs: Date.now() - olderThanHours * 3_600_000,
    dryRun,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/**
 * A local output has no multipart uploads; what a worker killed mid-job leaves there is the
 * local sink's hidden temporary files, removed the same way (older than H hours).
 */
async function cleanupLocal(config: WorkerConfig, dryRun: boolean, olderThanHours: number): Promise<number> {
  const { removeAbandonedTemporaries } = await import('../../adapters/sink/local-cleanup.ts');
  const root = resolve(config.output);
  const result = await removeAbandonedTemporaries({
    root,
    modifiedBeforeMs: Date.now() - olderThanHours * 3_600_000,
    dryRun,
  });
  if (result.removed.length === 0 && result.kept === 0) {
    process.stdout.write(
      `nothing to clean: ${root} is a local folder, with no multipart uploads and no temporary file left by a stopped worker\n`,
    );
  } else {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  return 0;
}

/** Takes `--older-than-hours H` out of the arguments of `cleanup`. */
function cleanupAge(argv: readonly string[]): { olderThanHours: number; rest: string[] } {
  const at = argv.indexOf('--older-than-hours');
  if (at < 0) return { olderThanHours: cleanupAgeHoursDefault, rest: [...argv] };
  const olderThanHours = Number(argv[at + 1]);
  if (!Number.isFinite(olderThanHours) || olderThanHours < 0)
    throw new ConfigError(`--older-than-hours must be a number ≥ 0, got "${argv[at + 1] ?? ''}"`);
  return { olderThanHours, rest: [...argv.slice(0, at), ...argv.slice(at + 2)] };
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write(`${versionText()}\n`);
    return 0;
  }
  const subcommand = argv[0] === 'status' || argv[0] === 'cleanup' || argv[0] === 'retry-failed' ? argv[0] : null;
  const json = subcommand === 'status' && argv.includes('--json');
  const dryRun = subcommand === 'cleanup' && argv.includes('--dry-run');
  const options =
    subcommand === null ? argv : argv.slice(1).filter((argument) => argument !== '--json' && argument !== '--dry-run');
  let config: WorkerConfig;
  try {
    if (subcommand === 'cleanup') {
      const { olderThanHours, rest } = cleanupAge(options);
      return await cleanup(loadWorkerConfig(rest, process.env), dryRun, olderThanHours);
    }
    config = loadWorkerConfig(options, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  // Imported by the commands that use them: ledger-commands.ts reaches the adapters through
  // wiring.ts, whose packages `--help` has no use for.
  if (subcommand === 'status') return (await import('./ledger-commands.ts')).statusCommand(config, json);
  if (subcommand === 'retry-failed') return (await import('./ledger-commands.ts')).retryFailedCommand(config);
  const { runWorkerCommand } = await import('./run-worker.ts');
  return runWorkerCommand(config);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fatal: ${describeError(error)}\n`);
    process.exit(1);
  },
);
