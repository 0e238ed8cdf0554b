/**
 * Builds the adapters a configuration names: source, sink, ledger, metrics, and the core's
 * limits. Everything the binary needs from the outside world is made here and nowhere else.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InputRef } from '../../core/input-ref.ts';
import { withLimits, type WorkerLimits } from '../../core/limits.ts';
import type { Sink } from '../../core/sink.ts';
import { createCloudWatchClient, createS3Client } from '../../adapters/aws/aws-clients.ts';
import { CloudWatchMetrics } from '../../adapters/metrics/cloudwatch-metrics.ts';
import { JsonLinesMetrics, type SnapshotReporter } from '../../adapters/metrics/json-lines-metrics.ts';
import { NoMetrics } from '../../adapters/metrics/no-metrics.ts';
import type { InspectableLedger } from '../../adapters/ledger/ledger-options.ts';
import { defaultEmbeddedDirectory, openLedger } from '../../adapters/ledger/open-ledger.ts';
import { LocalFolderSink } from '../../adapters/sink/local-folder-sink.ts';
import { S3Sink } from '../../adapters/sink/s3-sink.ts';
import { AnySource } from '../../adapters/source/any-source.ts';
import { outputKeyFor } from '../../adapters/source/output-key.ts';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { CpuPool } from './cpu-pool.ts';
import { InProcessCpu, type CpuStages } from './cpu-stages.ts';
import type { WorkerConfig } from './worker-config.ts';

const mebibyte = 1024 * 1024;

/** The sample WARC files that ship with the project: the default input. */
export const samplesFolder = fileURLToPath(new URL('../../samples/', import.meta.url));

export function inputSpecOf(config: WorkerConfig): string {
  return config.input ?? samplesFolder;
}

/** A run id that depends only on what is exported where, so a re-run resumes the same run. */
export function runIdOf(config: WorkerConfig): string {
  if (config.runId !== undefined) return config.runId;
  const spec = config.input === undefined ? 'samples' : config.input;
  return `run-${createHash('sha256').update(`${spec}\n${config.output}`).digest('hex').slice(0, 12)}`;
}

export function outputKeyOf(input: InputRef): string {
  return outputKeyFor(input, 'parquet');
}

export function sourceOf(config: WorkerConfig): AnySource {
  const endpoint = config.s3Endpoint;
  return new AnySource({
    commonCrawlBase: config.ccBase,
    s3Client: () => createS3Client(endpoint === undefined ? {} : { endpoint }),
  });
}

export function sinkOf(config: WorkerConfig): Sink {
  if (config.output.startsWith('s3://')) {
    const endpoint = config.s3Endpoint;
    return new S3Sink({ client: createS3Client(endpoint === undefined ? {} : { endpoint }), output: config.output });
  }
  return new LocalFolderSink({ root: resolve(config.output) });
}

/**
 * The run's ledger: embedded beside the output by default, PostgreSQL for a fleet. A static
 * shard keeps an embedded ledger of its own, so shards never share a journal.
 */
export function ledgerOf(config: WorkerConfig, readOnly = false): Promise<InspectableLedger> {
  const shardFolder = config.shard === undefined || config.ledger !== 'embedded'
    ? undefined
    : `${defaultEmbeddedDirectory(config.output)}-shard-${config.shard.index}-of-${config.shard.count}`;
  const url = shardFolder ?? (config.ledger === 'embedded' ? undefined : config.ledger);
  return openLedger({ url, output: config.output, outputKeyOf, readOnly });
}

/** Decode and encode on one thread per core, or on the event loop with `--threads 0`. */
export function cpuStagesOf(config: WorkerConfig): CpuStages {
  return config.threads === 0 ? new InProcessCpu(new WarcDecoder(), createParquetEncoder()) : new CpuPool(config.threads);
}

/** The core's limits for this process: one CPU slot per thread; network concurrency is the core's default. */
export function limitsOf(config: WorkerConfig): WorkerLimits {
  const cpuSlots = Math.max(1, config.threads);
  return withLimits({
    stageWorkersMax: { decode: cpuSlots, encode: cpuSlots },
    cpuSlotsMax: cpuSlots,
    memoryBudgetBytes: config.memoryBudgetMb * mebibyte,
    chunkBytes: config.chunkMb * mebibyte,
    leaseMs: config.leaseSeconds * 1_000,
    heartbeatIntervalMs: Math.floor((config.leaseSeconds * 1_000) / 5),
    leaseSafetyMs: Math.floor((config.leaseSeconds * 1_000) / 10),
    drainTimeoutMs: config.drainTimeout * 1_000,
    seed: process.pid,
  });
}

export function workerIdOf(): string {
  return `${process.env.HOSTNAME ?? 'worker'}-${process.pid}-${availableParallelism()}cpu`;
}

/** Where metrics snapshots go: JSON lines on stdout by default, CloudWatch in AWS, or nowhere. */
export function metricsOf(config: WorkerConfig, runId: string, log: (message: string) => void): SnapshotReporter {
  if (config.metrics === 'none') return new NoMetrics();
  if (config.metrics === 'stdout') return new JsonLinesMetrics();
  return new CloudWatchMetrics({ client: createCloudWatchClient(), dimensions: { RunId: runId }, log });
}
