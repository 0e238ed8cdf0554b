/**
 * Runs the worker: enqueues the run's inputs in the ledger (idempotent, so every worker of a
 * fleet may do it), runs the core on the node runtime until the run is done or a signal drains
 * it, prints a summary. Effect holds the run's resources here and nowhere else: each adapter is
 * opened in one scope and closed in reverse order however the run ends (done, failed, or
 * interrupted by a second signal). This module is imported only when a run starts, so `--help`,
 * `--version`, `status`, `retry-failed` and `cleanup` never load Effect (see docs/architecture.md).
 */
import { performance } from 'node:perf_hooks';
// Modules, not the 'effect' barrel: the barrel loads all of Effect (about 20 MB more RSS).
import * as Cause from 'effect/Cause';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Fiber from 'effect/Fiber';
import type * as Scope from 'effect/Scope';
import { resolve } from 'node:path';
import type { InputRef } from '../../core/input-ref.ts';
import type { Ledger, OutputKeyCollision } from '../../core/ledger.ts';
import type { InspectableLedger } from '../../adapters/ledger/ledger-options.ts';
import { shardInputs } from '../../adapters/ledger/static-shard.ts';
import { describeError } from '../../adapters/aws/redact.ts';
import { jsonLinesLogger, logProcessWarnings, type Logger } from './logger.ts';
import { launchLogFields } from './launch.ts';
import { NodeRuntime, type RunOutcome } from './node-runtime.ts';
import { ProgressLine, type ProgressTotals } from './progress-line.ts';
import type { WorkerCounters } from '../../core/worker-state.ts';
import { runOriginOf } from './ledger-commands.ts';
import { checkFilter, checkOutputFolders, listedInputs } from './run-preflight.ts';
import {
  exitCodeOf,
  finishedRunText,
  runSummary,
  summaryInputsListedMax,
  summaryText,
  type LedgerReport,
} from './run-summary.ts';
import { ConfigError, type WorkerConfig } from './worker-config.ts';
import {
  cpuStagesOf,
  inputSpecOf,
  ledgerOf,
  limitsOf,
  metricsOf,
  runIdOf,
  sinkOf,
  sourceOf,
  workerIdOf,
  type Opened,
} from './wiring.ts';
/** Inputs to enqueue in one call; the listing streams, so a crawl's 100,000 files never sit in memory at once. */
const enqueueBatchInputs = 1_000;
/** What enqueueing the listing did: inputs listed, new to the run, and refused for their output (the first few named). */
interface Enqueued {
  readonly listed: number;
  /** Bytes of the inputs listed, when the listing sized every one (null for a manifest). */
  listedBytes: number | null;
  added: number;
  readonly refused: OutputKeyCollision[];
  refusedCount: number;
}

/**
 * What the ledger stores of a listed input. A local file's size counts in the progress line's
 * total but is not stored: the ledger keeps the size of an input's first enqueue, and a local
 * file is fixed in place after it failed (then `retry-failed`), so its size is read when
 * claimed, a `stat` away. A remote listing's size is stored: asking again is a request. A
 * subset's is stored wherever it lies: it is the bytes its picks name, fixed with the job.
 */
function enqueuedRef(input: InputRef): InputRef {
  const kept = input.picks !== undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(input.uri);
  if (kept || input.sizeBytes === undefined) return input;
  const { sizeBytes: _listed, ...unsized } = input;
  return unsized;
}

/**
 * Enqueues the run's inputs (idempotent: every worker of a fleet may do it), with the sizes
 * the listing gave; a manifest gives none, and the worker that claims such a job asks the
 * source then. Unsharded, the listing streams in batches; a static shard needs the whole
 * list, sorted by URI, so that every worker strides the same list.
 */
async function enqueueInputs(
  config: WorkerConfig,
  listing: AsyncIterable<InputRef>,
  ledger: Ledger,
  runId: string,
): Promise<Enqueued> {
  const origin = runOriginOf(config);
  const enqueue = async (batch: readonly InputRef[], into: Enqueued): Promise<void> => {
    for (const input of batch)
      into.listedBytes =
        into.listedBytes === null || input.sizeBytes === undefined ? null : into.listedBytes + input.sizeBytes;
    const result = await ledger.enqueue(runId, batch.map(enqueuedRef), origin);
    into.added += result.added;
    into.refusedCount += result.collisions.length;
    into.refused.push(...result.collisions.slice(0, summaryInputsListedMax - into.refused.length));
  };
  if (config.shard !== undefined) {
    const all: InputRef[] = [];
    for await (const input of listing) all.push(input);
    all.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    const mine = shardInputs(all, config.shard.index, config.shard.count).slice(0, config.limit ?? Infinity);
    const enqueued: Enqueued = { listed: mine.length, listedBytes: 0, added: 0, refused: [], refusedCount: 0 };
    for (let start = 0; start < mine.length; start += enqueueBatchInputs) {
      await enqueue(mine.slice(start, start + enqueueBatchInputs), enqueued);
    }
    return enqueued;
  }
  let batch: InputRef[] = [];
  let kept = 0;
  const enqueued: Enqueued = { listed: 0, listedBytes: 0, added: 0, refused: [], refusedCount: 0 };
  for await (const input of listing) {
    if (config.limit !== undefined && kept >= config.limit) break;
    kept += 1;
    batch.push(input);
    if (batch.length >= enqueueBatchInputs) {
      await enqueue(batch, enqueued);
      batch = [];
    }
  }
  if (batch.length > 0) await enqueue(batch, enqueued);
  return { ...enqueued, listed: kept };
}

/** What the ledger holds against the run, for the summary and the exit code. */
async function ledgerReportOf(ledger: InspectableLedger, runId: string, enqueued: Enqueued): Promise<LedgerReport> {
  const [failed, shared] = await Promise.all([
    ledger.failedJobs(runId, summaryInputsListedMax),
    ledger.sharedOutputKeys(runId, summaryInputsListedMax),
  ]);
  return { failed, refused: enqueued.refused, refusedCount: enqueued.refusedCount, shared };
}

/**
 * SIGINT/SIGTERM: the first drains (claim nothing more, finish or release running jobs by
 * the drain deadline), the second stops at once: the worker's fiber is interrupted, so every
 * resource it opened is closed on the way out — open uploads aborted, leases released, threads
 * stopped — within `stopAtOnceMs`; a third signal, or that deadline, exits without waiting.
 * Installed before anything else starts, so a signal during enqueueing is not lost: the run
 * then drains before it claims.
 */
const stopAtOnceMs = 10_000;
const interruptedExitCode = 130;

class ShutdownSignals {
  private signals = 0;
  private runtime: NodeRuntime | null = null;
  private stopNow: (() => void) | null = null;

  constructor(
    private readonly logger: Logger,
    /** Told when the drain begins, with its deadline (epoch ms): the progress line counts down to it. */
    private readonly onDrain: (deadlineMs: number) => void,
    private readonly drainTimeoutMs: number,
  ) {
    process.on('SIGINT', (signal) => this.onSignal(signal));
    process.on('SIGTERM', (signal) => this.onSignal(signal));
  }

  attach(runtime: NodeRuntime): void {
    this.runtime = runtime;
    if (this.signals > 0) runtime.requestShutdown();
  }

  /** What the second signal does: interrupt the worker's fiber. */
  onStopNow(stop: () => void): void {
    this.stopNow = stop;
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.signals += 1;
    if (this.signals === 1) {
      this.logger.log('warn', 'draining: claiming nothing more, finishing or releasing running jobs', { signal });
      this.runtime?.requestShutdown();
      this.onDrain(Date.now() + this.drainTimeoutMs);
      return;
    }
    if (this.signals === 2 && this.stopNow !== null) {
      this.logger.log('error', 'second signal: stopping at once, aborting uploads and releasing leases', { signal });
      this.stopNow();
      setTimeout(() => process.exit(interruptedExitCode), stopAtOnceMs).unref();
      return;
    }
    this.logger.log('error', 'exiting without cleanup', { signal });
    process.exit(interruptedExitCode);
  }
}

/**
 * Opens an adapter for the worker's scope: it is closed when the scope ends, whichever way —
 * done, failed or interrupted — in the reverse order of opening. A failing close is logged,
 * never hides the outcome.
 */
function scoped<T>(
  logger: Logger,
  what: string,
  open: () => Promise<Opened<T>> | Opened<T>,
): Effect.Effect<T, unknown, Scope.Scope> {
  const acquire = Effect.tryPromise({ try: async () => open(), catch: (error: unknown) => error });
  const release = (opened: Opened<T>) =>
    Effect.promise(() =>
      opened.close().catch((error: unknown) => {
        logger.log('warn', `closing the ${what} failed`, { error: describeError(error) });
      }),
    );
  return Effect.acquireRelease(acquire, release).pipe(Effect.map((opened) => opened.value));
}

/** Waits for a promise inside the worker's fiber; its rejection is the fiber's failure. */
function awaited<T>(run: () => Promise<T>): Effect.Effect<T, unknown> {
  return Effect.tryPromise({ try: run, catch: (error: unknown) => error });
}

function openedLedger(config: WorkerConfig): () => Promise<Opened<InspectableLedger>> {
  return async () => {
    const ledger = await ledgerOf(config);
    return { value: ledger, close: () => ledger.close() };
  };
}

/**
 * Which of the jobs this worker failed the ledger holds failed for good: the exit code is 3
 * only for those. A retryable failure (throttling, a timeout) went back to the queue and may
 * have been done since, by this worker or another. One lookup a failed job.
 */
async function jobsFailedForGood(ledger: InspectableLedger, runId: string, outcome: RunOutcome): Promise<Set<string>> {
  const failed = new Set<string>();
  for (const ended of outcome.ended) {
    if (ended.outcome !== 'failed' || failed.has(ended.jobId)) continue;
    if ((await ledger.jobStatus(runId, ended.jobId))?.state === 'failed') failed.add(ended.jobId);
  }
  return failed;
}

/**
 * The runtime, opened last so it is closed first: on interruption it abandons its jobs
 * (uploads aborted, leases released) before the sink, ledger and threads close under it.
 */
function openedRuntime(runtime: NodeRuntime): Opened<NodeRuntime> {
  return { value: runtime, close: () => runtime.abandon() };
}

function runWorker(
  config: WorkerConfig,
  logger: Logger,
  signals: ShutdownSignals,
  progressLine: ProgressLine,
): Effect.Effect<number, unknown, Scope.Scope> {
  return Effect.gen(function* () {
    const runId = runIdOf(config);
    // The user's mistakes first, before the ledger, sink or threads create anything.
    yield* awaited(() => checkOutputFolders(config));
    const filter = yield* awaited(() => checkFilter(config));
    const source = yield* scoped(logger, 'source', () => sourceOf(config));
    const listing = yield* awaited(() => listedInputs(source, inputSpecOf(config)));
    const ledger = yield* scoped(logger, 'ledger', openedLedger(config));
    const cpu = yield* scoped(logger, 'CPU threads', () => cpuStagesOf(config, filter));
    const sink = yield* scoped(logger, 'sink', () => sinkOf(config));
    const metrics = yield* scoped(logger, 'metrics', () =>
      metricsOf(config, runId, (message) => logger.log('warn', message)),
    );
    const startedMs = performance.now();
    const enqueued = yield* awaited(() => enqueueInputs(config, listing, ledger, runId));
    const inputs = enqueued.listed;
    const output = config.output.startsWith('s3://') ? config.output : resolve(config.output);
    logger.log('info', 'run enqueued', { runId, inputs, added: enqueued.added, refused: enqueued.refusedCount });
    // A run with nothing left says so, and when it finished, instead of starting to export nothing.
    const before = yield* awaited(() => ledger.stats(runId));
    const finished = enqueued.added === 0 && before.remaining === 0 && before.done + before.failed > 0;
    const run = finished ? yield* awaited(() => ledger.runListing(runId)) : undefined;
    if (run !== undefined) {
      const report = yield* awaited(() => ledgerReportOf(ledger, runId, enqueued));
      process.stderr.write(`${finishedRunText(run, before, report, output)}\n`);
      return exitCodeOf(before, report);
    }
    const runtime = yield* scoped(logger, 'runtime', () =>
      openedRuntime(
        new NodeRuntime(
          { source, cpu, sink, ledger, emitMetrics: (snapshot) => metrics.report(snapshot) },
          {
            runId,
            workerId: workerIdOf(),
            limits: limitsOf(config),
            logger,
            onJobEnded: (ended) =>
              logger.log(ended.outcome === 'committed' ? 'info' : 'warn', 'job ended', {
                jobId: ended.jobId,
                input: ended.uri,
                outcome: ended.outcome,
                failure: ended.failure,
                rows: ended.summary.rows,
                badByReason: ended.summary.counters.badByReason,
                skippedByReason: ended.summary.counters.skippedByReason,
                warningByReason: ended.summary.counters.warningByReason,
              }),
          },
        ),
      ),
    );
    signals.attach(runtime);
    // A live line on a terminal (log lines are written above it); nothing on a pipe.
    yield* scoped(logger, 'progress line', () =>
      openedProgressLine(progressLine, () => runtime.counters(), {
        files: inputs,
        bytes: enqueued.listedBytes,
        filesBefore: before.done + before.failed,
        bytesBefore: before.inputBytesDone,
      }),
    );
    const outcome: RunOutcome = yield* awaited(() => runtime.run());
    progressLine.stop();
    const failedForGood = yield* awaited(() => jobsFailedForGood(ledger, runId, outcome));
    const summary = runSummary(
      outcome,
      yield* awaited(() => ledger.stats(runId)),
      performance.now() - startedMs,
      failedForGood,
    );
    const report = yield* awaited(() => ledgerReportOf(ledger, runId, enqueued));
    process.stderr.write(`${summaryText(summary, { runId, output }, report)}\n`);
    return exitCodeOf(summary.stats, report);
  });
}

function openedProgressLine(
  line: ProgressLine,
  read: () => WorkerCounters,
  totals: ProgressTotals,
): Opened<ProgressLine> {
  line.start(read, totals);
  return { value: line, close: async () => line.stop() };
}

/** Runs the worker as an interruptible fiber; the exit code says how it ended. */
export async function runWorkerCommand(config: WorkerConfig): Promise<number> {
  const progressLine = new ProgressLine(process.stderr);
  const logger = jsonLinesLogger(config.logLevel, (line) => progressLine.writeAbove(line));
  logProcessWarnings(logger);
  const launched = launchLogFields();
  logger.log('debug', launched.message, launched.fields);
  const signals = new ShutdownSignals(
    logger,
    (deadlineMs) => progressLine.draining(deadlineMs),
    config.drainTimeout * 1_000,
  );
  const fiber = Effect.runFork(Effect.scoped(runWorker(config, logger, signals, progressLine)));
  signals.onStopNow(() => void Effect.runPromise(Fiber.interrupt(fiber)));
  const exit = await Effect.runPromise(Fiber.await(fiber));
  if (Exit.isSuccess(exit)) return exit.value;
  if (Cause.hasInterruptsOnly(exit.cause)) return interruptedExitCode;
  const error = Cause.squash(exit.cause);
  if (error instanceof ConfigError) {
    process.stderr.write(`error: ${error.message}\n`);
    return 2;
  }
  throw error;
}
