/**
 * Builds the adapters a configuration names: source, sink, ledger, metrics, CPU stages, and the
 * core's limits. Everything the binary needs from the outside world is made here and nowhere
 * else. Each comes with what closes it, and the heavy ones (the AWS SDK, the PostgreSQL driver,
 * the decoder and encoder when threads do that work) are loaded only when the configuration
 * needs them: a local run's main thread stays small (see memory-plan.ts).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InputRef } from '../../core/input-ref.ts';
import {
  contentDecodeOutputRatio,
  contentRowGroupBytes,
  httpSourceRequestsPerSecond,
  localReadAheadStartChunks,
  withLimits,
  type WorkerLimits,
} from '../../core/limits.ts';
import type { Sink } from '../../core/sink.ts';
import type { Source } from '../../core/source.ts';
import { JsonLinesMetrics, type SnapshotReporter } from '../../adapters/metrics/json-lines-metrics.ts';
import { NoMetrics } from '../../adapters/metrics/no-metrics.ts';
import type { InspectableLedger } from '../../adapters/ledger/ledger-options.ts';
import { defaultEmbeddedDirectory, openLedger } from '../../adapters/ledger/open-ledger.ts';
import { LocalFolderSink } from '../../adapters/sink/local-folder-sink.ts';
import type { CaptureFilterSpec } from '../../adapters/filter/capture-filter.ts';
import { AnySource } from '../../adapters/source/any-source.ts';
import { HttpSource } from '../../adapters/source/http-source.ts';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { outputKeyFor } from '../../adapters/source/output-key.ts';
import { CpuPool } from './cpu-pool.ts';
import { type CodecOptions, InProcessCpu, type CpuStages } from './cpu-stages.ts';
import { memoryPlan } from './memory-plan.ts';
import { ConfigError, type WorkerConfig } from './worker-config.ts';

const mebibyte = 1024 * 1024;

/** An adapter and what releases it: connections, threads, buffered metrics. */
export interface Opened<T> {
  readonly value: T;
  close(): Promise<void>;
}

/** The sample WARC files that ship with the project: the default input. */
export const samplesFolder = fileURLToPath(new URL('../../samples/', import.meta.url));

export function inputSpecOf(config: WorkerConfig): string {
  return config.input ?? samplesFolder;
}

/**
 * A run id that depends only on what is exported where, so a re-run resumes the same run. A
 * cc: input's subset, the schema and a row filter are part of what is exported: the same
 * inputs with another of them are another run, not one already done. Each part is added only
 * when it is not the default, so the ids of runs made before the option existed stay the same.
 */
export function runIdOf(config: WorkerConfig): string {
  if (config.runId !== undefined) return config.runId;
  const input = config.input === undefined ? 'samples' : config.input;
  const spec = input.startsWith('cc:') && config.ccSubset !== 'warc' ? `${input} ${config.ccSubset}` : input;
  const schema = config.schema === 'index' ? '' : `\nschema ${config.schema}`;
  const filter =
    config.where === undefined && config.domains === undefined
      ? ''
      : `\nwhere ${config.where ?? ''}\ndomains ${config.domains ?? ''}`;
  return `run-${createHash('sha256').update(`${spec}\n${config.output}${schema}${filter}`).digest('hex').slice(0, 12)}`;
}

export function outputKeyOf(input: InputRef): string {
  return outputKeyFor(input, 'parquet');
}

async function s3ClientFor(config: WorkerConfig) {
  const { createS3Client } = await import('../../adapters/aws/aws-clients.ts');
  const endpoint = config.s3Endpoint;
  return createS3Client(endpoint === undefined ? {} : { endpoint });
}

/** Every kind of input; the S3 client is built on the first `s3://` input, if any. */
export function sourceOf(config: WorkerConfig): Opened<Source> {
  let destroyClient = (): void => undefined;
  const source = new AnySource({
    commonCrawlBase: config.ccBase,
    commonCrawlSubset: config.ccSubset,
    // The core paces ranged reads and HEADs; the client paces the manifest reads it does not see, alike.
    http: new HttpSource({ client: new PoliteHttpClient({ requestsPerSecond: sourceRequestsPerSecondOf(config) }) }),
    s3Source: async () => {
      const { S3Source } = await import('../../adapters/source/s3-source.ts');
      const client = await s3ClientFor(config);
      destroyClient = () => client.destroy();
      return new S3Source({ client });
    },
  });
  return { value: source, close: async () => destroyClient() };
}

export async function sinkOf(config: WorkerConfig): Promise<Opened<Sink>> {
  if (config.output.startsWith('s3://')) {
    const { S3Sink } = await import('../../adapters/sink/s3-sink.ts');
    const client = await s3ClientFor(config);
    return { value: new S3Sink({ client, output: config.output }), close: async () => client.destroy() };
  }
  return { value: new LocalFolderSink({ root: resolve(config.output) }), close: async () => undefined };
}

/**
 * The run's ledger: embedded beside the output by default, PostgreSQL for a fleet. A static
 * shard keeps an embedded ledger of its own, so shards never share a journal.
 */
export function ledgerOf(config: WorkerConfig, readOnly = false): Promise<InspectableLedger> {
  const shardFolder =
    config.shard === undefined || config.ledger !== 'embedded'
      ? undefined
      : `${defaultEmbeddedDirectory(config.output)}-shard-${config.shard.index}-of-${config.shard.count}`;
  const url = shardFolder ?? (config.ledger === 'embedded' ? undefined : config.ledger);
  return openLedger({ url, output: config.output, outputKeyOf, readOnly, attemptsMax: config.jobAttempts });
}

/**
 * Decode and encode on one thread per core, or on the event loop with `--threads 0`; `filter`
 * (checked by run-preflight.ts) is built where the decoder runs.
 */
export async function cpuStagesOf(
  config: WorkerConfig,
  filter: CaptureFilterSpec | null = null,
): Promise<Opened<CpuStages>> {
  if (config.threads > 0) {
    const pool = new CpuPool(config.threads, codecOptionsOf(config), filter);
    return { value: pool, close: () => pool.close() };
  }
  const [{ WarcDecoder }, { PickedRangeDecoder }, { createParquetEncoder }, { captureFilterOf }] = await Promise.all([
    import('../../adapters/warc/warc-decoder.ts'),
    import('../../adapters/warc/picked-range-decoder.ts'),
    import('../../adapters/parquet/parquet-encoder.ts'),
    import('../../adapters/filter/capture-filter.ts'),
  ]);
  const codec = codecOptionsOf(config);
  const { output, fullInflate, compression } = codec;
  const keep = await captureFilterOf(filter);
  const decoder = new PickedRangeDecoder(
    new WarcDecoder(keep === null ? { output, fullInflate } : { output, fullInflate, keep }),
  );
  const stages = new InProcessCpu(decoder, createParquetEncoder({ schema: output.schema, compression }));
  return { value: stages, close: () => stages.close() };
}

/** What the decoder and encoder of every CPU slot need to know of the configuration. */
export function codecOptionsOf(config: WorkerConfig): CodecOptions {
  return {
    output: { schema: config.schema, contentBytesMax: config.contentMaxKb * 1024 },
    fullInflate: config.inflate === 'full',
    compression: config.compression,
  };
}

/**
 * `--source-requests-per-second`, or its default for the input's kind: HTTPS inputs (a URL,
 * or `cc:` against an https base) get the polite rate; S3 and local ones none.
 */
export function sourceRequestsPerSecondOf(config: WorkerConfig): number | null {
  if (config.sourceRequestsPerSecond !== undefined) return config.sourceRequestsPerSecond;
  return /^https?:\/\//i.test(sourceLocationOf(config)) ? httpSourceRequestsPerSecond : null;
}

/** Where the run's WARC files are read from: a cc: crawl's and an index's from the crawl base. */
function sourceLocationOf(config: WorkerConfig): string {
  const spec = inputSpecOf(config);
  return spec.startsWith('cc:') || spec.startsWith('index:') ? config.ccBase : spec;
}

/** Whether the run's WARC files are on local disk (a path, not a URL). */
function readsLocalFiles(config: WorkerConfig): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(sourceLocationOf(config));
}

/**
 * The core's limits for this process: one CPU slot per thread, the data share of the memory
 * budget (memory-plan.ts); network concurrency is the core's default.
 */
export function limitsOf(config: WorkerConfig): WorkerLimits {
  const cpuSlots = Math.max(1, config.threads);
  const plan = memoryPlan(config.memoryBudgetMb, config.threads, config.chunkMb, config.schema);
  if (typeof plan === 'string') throw new ConfigError(plan);
  return withLimits({
    // Content rows are cut by payload bytes; index rows by rows, the default bound never reached.
    ...(config.schema === 'content'
      ? { rowGroupBytes: contentRowGroupBytes, decodeOutputRatio: contentDecodeOutputRatio }
      : {}),
    stageWorkersMax: { decode: cpuSlots, encode: cpuSlots },
    cpuSlotsMax: cpuSlots,
    // One file's chunks decode on every thread (core/split-decode.ts), when asked: measured
    // slower than one thread a file so far (docs/figures.md), and with one thread no gain.
    splitDecode: config.splitDecode === 'on' && config.threads >= 2,
    memoryBudgetBytes: plan.dataBudgetBytes,
    jobsActiveMax: plan.jobsActiveMax,
    chunkBytes: config.chunkMb * mebibyte,
    coalesceGapBytes: config.coalesceGapKb === undefined ? null : config.coalesceGapKb * 1024,
    leaseMs: config.leaseSeconds * 1_000,
    heartbeatIntervalMs: Math.floor((config.leaseSeconds * 1_000) / 5),
    leaseSafetyMs: Math.floor((config.leaseSeconds * 1_000) / 10),
    drainTimeoutMs: config.drainTimeout * 1_000,
    metricsIntervalMs: config.metricsInterval * 1_000,
    remoteRequestsPerSecondMax: { source: sourceRequestsPerSecondOf(config), sink: null },
    ...(readsLocalFiles(config) ? { readAheadStartChunks: localReadAheadStartChunks } : {}),
    seed: process.pid,
  });
}

export function workerIdOf(): string {
  return `${process.env.HOSTNAME ?? 'worker'}-${process.pid}-${availableParallelism()}cpu`;
}

/** Where metrics snapshots go: JSON lines on stdout by default, CloudWatch in AWS, or nowhere. */
export async function metricsOf(
  config: WorkerConfig,
  runId: string,
  log: (message: string) => void,
): Promise<Opened<SnapshotReporter>> {
  if (config.metrics === 'none') return { value: new NoMetrics(), close: async () => undefined };
  if (config.metrics === 'stdout') return { value: new JsonLinesMetrics(), close: async () => undefined };
  const [{ createCloudWatchClient }, { CloudWatchMetrics }] = await Promise.all([
    import('../../adapters/aws/aws-clients.ts'),
    import('../../adapters/metrics/cloudwatch-metrics.ts'),
  ]);
  const client = createCloudWatchClient();
  const metrics = new CloudWatchMetrics({ client, dimensions: { RunId: runId }, log });
  return {
    value: metrics,
    close: async () => {
      await metrics.flush();
      client.destroy();
    },
  };
}
