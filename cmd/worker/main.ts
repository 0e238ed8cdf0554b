/**
 * `node cmd/worker`: exports WARC inputs to Parquet. Parses the configuration, enqueues the
 * run's inputs in the ledger (idempotent, so every worker of a fleet may do it), runs the
 * core on the node runtime until the run is done or a signal drains it, prints a summary.
 * Exit codes: 0 all jobs done; 1 fatal error; 2 bad usage or configuration; 3 finished, but
 * some jobs failed for good (listed).
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import type { InputRef } from '../../core/input-ref.ts';
import type { Ledger } from '../../core/ledger.ts';
import { createS3Client } from '../../adapters/aws/aws-clients.ts';
import { readRunStatus, runStatusText } from '../../adapters/ledger/open-ledger.ts';
import { abortIncompleteUploads } from '../../adapters/sink/multipart-cleanup.ts';
import { shardInputs } from '../../adapters/ledger/static-shard.ts';
import type { Source } from '../../core/source.ts';
import { describeError } from '../../adapters/aws/redact.ts';
import { jsonLinesLogger, type Logger } from './logger.ts';
import { NodeRuntime, type RunOutcome } from './node-runtime.ts';
import { ProgressLine } from './progress-line.ts';
import { runSummary, summaryText } from './run-summary.ts';
import { ConfigError, helpText, loadWorkerConfig, type WorkerConfig } from './worker-config.ts';
import { cpuStagesOf, inputSpecOf, ledgerOf, limitsOf, metricsOf, runIdOf, sinkOf, sourceOf, workerIdOf } from './wiring.ts';

/** Inputs to enqueue in one call; the listing streams, so a crawl's 100,000 files never sit in memory at once. */
const enqueueBatchInputs = 1_000;
/** Size lookups in flight while enqueueing (a manifest lists paths without sizes). */
const sizeLookupsMax = 32;

/** The batch with every input's size, looked up `sizeLookupsMax` at a time where missing. */
async function withSizes(source: Source, batch: readonly InputRef[]): Promise<InputRef[]> {
  const sized: InputRef[] = [];
  for (let start = 0; start < batch.length; start += sizeLookupsMax) {
    const slice = batch.slice(start, start + sizeLookupsMax);
    sized.push(...(await Promise.all(slice.map(async (input) => (input.sizeBytes === undefined ? { ...input, sizeBytes: await source.sizeOf(input) } : input)))));
  }
  return sized;
}

/**
 * Enqueues the run's inputs (idempotent: every worker of a fleet may do it). Unsharded, the
 * listing streams in batches; a static shard needs the whole list, sorted by URI, so that
 * every worker strides the same list.
 */
async function enqueueInputs(config: WorkerConfig, source: Source, ledger: Ledger, runId: string): Promise<number> {
  const listing = source.list(inputSpecOf(config));
  if (config.shard !== undefined) {
    const all: InputRef[] = [];
    for await (const input of listing) all.push(input);
    all.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    const mine = shardInputs(all, config.shard.index, config.shard.count).slice(0, config.limit ?? Infinity);
    for (let start = 0; start < mine.length; start += enqueueBatchInputs) {
      await ledger.enqueue(runId, await withSizes(source, mine.slice(start, start + enqueueBatchInputs)));
    }
    return mine.length;
  }
  let batch: InputRef[] = [];
  let kept = 0;
  for await (const input of listing) {
    if (config.limit !== undefined && kept >= config.limit) break;
    kept += 1;
    batch.push(input);
    if (batch.length >= enqueueBatchInputs) {
      await ledger.enqueue(runId, await withSizes(source, batch));
      batch = [];
    }
  }
  if (batch.length > 0) await ledger.enqueue(runId, await withSizes(source, batch));
  return kept;
}

/**
 * SIGINT/SIGTERM: the first drains (claim nothing more, finish or release running jobs by
 * the drain deadline), the second exits at once. Installed before anything else starts, so
 * a signal during enqueueing is not lost: the run then drains before it claims.
 */
class ShutdownSignals {
  private signals = 0;
  private runtime: NodeRuntime | null = null;

  constructor(private readonly logger: Logger) {
    process.on('SIGINT', (signal) => this.onSignal(signal));
    process.on('SIGTERM', (signal) => this.onSignal(signal));
  }

  get requested(): boolean {
    return this.signals > 0;
  }

  attach(runtime: NodeRuntime): void {
    this.runtime = runtime;
    if (this.requested) runtime.requestShutdown();
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.signals += 1;
    if (this.signals > 1) {
      this.logger.log('error', 'second signal: exiting at once', { signal });
      process.exit(130);
    }
    this.logger.log('warn', 'draining: claiming nothing more, finishing or releasing running jobs', { signal });
    this.runtime?.requestShutdown();
  }
}

async function runWorker(config: WorkerConfig): Promise<number> {
  const logger = jsonLinesLogger(config.logLevel);
  const signals = new ShutdownSignals(logger);
  const runId = runIdOf(config);
  const source = sourceOf(config);
  const ledger = await ledgerOf(config);
  const cpu = cpuStagesOf(config);
  try {
    const startedMs = performance.now();
    const inputs = await enqueueInputs(config, source, ledger, runId);
    logger.log('info', 'run enqueued', { runId, inputs });
    const metrics = metricsOf(config, runId, (message) => logger.log('warn', message));
    const runtime = new NodeRuntime(
      { source, cpu, sink: sinkOf(config), ledger, emitMetrics: (snapshot) => metrics.report(snapshot) },
      {
        runId,
        workerId: workerIdOf(),
        limits: limitsOf(config),
        logger,
        onJobEnded: (ended) => logger.log(ended.outcome === 'committed' ? 'info' : 'warn', 'job ended', { jobId: ended.jobId, input: ended.uri, outcome: ended.outcome, failure: ended.failure }),
      },
    );
    signals.attach(runtime);
    // A live line on a terminal, unless the logs are wanted there.
    const progressLine = new ProgressLine(process.stderr, () => runtime.counters(), inputs);
    if (config.logLevel === 'warn' || config.logLevel === 'error') progressLine.start();
    const outcome: RunOutcome = await runtime.run();
    progressLine.stop();
    const summary = runSummary(outcome, await ledger.stats(runId), performance.now() - startedMs);
    process.stderr.write(`${summaryText(summary, { runId, output: config.output.startsWith('s3://') ? config.output : resolve(config.output) })}\n`);
    return summary.failed.length > 0 ? 3 : 0;
  } finally {
    await cpu.close();
    await ledger.close();
  }
}

/** `node cmd/worker status`: where a run stands, from either ledger. */
async function printStatus(config: WorkerConfig, json: boolean): Promise<number> {
  const ledger = await ledgerOf(config, true);
  try {
    const status = await readRunStatus(ledger, runIdOf(config));
    process.stdout.write(`${json ? JSON.stringify({ runId: status.runId, ...status.stats, workers: status.workers, failedJobs: status.failed }) : runStatusText(status)}\n`);
    return 0;
  } finally {
    await ledger.close();
  }
}

/**
 * `node cmd/worker cleanup --output s3://… [--dry-run]`: aborts multipart uploads under the
 * output prefix begun more than `cleanupAgeHours` ago, whose workers died (their parts are
 * billed until aborted). Younger uploads may belong to live workers and are left alone.
 */
const cleanupAgeHours = 24;

async function cleanup(config: WorkerConfig, dryRun: boolean): Promise<number> {
  if (!config.output.startsWith('s3://')) throw new ConfigError('cleanup needs --output s3://bucket/prefix (a local output leaves no parts behind)');
  const endpoint = config.s3Endpoint;
  const result = await abortIncompleteUploads({
    client: createS3Client(endpoint === undefined ? {} : { endpoint }),
    output: config.output,
    initiatedBeforeMs: Date.now() - cleanupAgeHours * 3_600_000,
    dryRun,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const subcommand = argv[0] === 'status' || argv[0] === 'cleanup' ? argv[0] : null;
  const json = subcommand === 'status' && argv.includes('--json');
  const dryRun = subcommand === 'cleanup' && argv.includes('--dry-run');
  const options = subcommand === null ? argv : argv.slice(1).filter((argument) => argument !== '--json' && argument !== '--dry-run');
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig(options, process.env);
    if (subcommand === 'cleanup') return await cleanup(config, dryRun);
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
  return subcommand === 'status' ? printStatus(config, json) : runWorker(config);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fatal: ${describeError(error)}\n`);
    process.exit(1);
  },
);
