/**
 * The worker's configuration: every option has a flag, an environment variable and a YAML
 * key; precedence is flag, then environment, then file, then default. Mistakes are
 * `ConfigError`s with one line that says what to fix (the binary exits 2 on them).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { parse } from 'yaml';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseShard, shardFromEnvironment } from '../../adapters/ledger/static-shard.ts';
import type { ParquetEncoderCompression } from '../../adapters/parquet/parquet-encoder.ts';
import { type CommonCrawlSubset, commonCrawlSubsets } from '../../adapters/source/manifest.ts';
import { httpSourceRequestsPerSecond } from '../../core/limits.ts';
import { outputSchemas, type OutputSchema } from '../../core/capture-row.ts';
import { payloadLimits } from '../../adapters/warc/warc-limits.ts';
import { cpuSlotReserveMb, defaultBudgetMb, memoryPlan } from './memory-plan.ts';

/** `--compression` values, as the user writes them, to the Parquet codec names. */
const compressionOf = {
  gzip: 'GZIP',
  snappy: 'SNAPPY',
  brotli: 'BROTLI',
  none: 'UNCOMPRESSED',
} as const satisfies Record<string, ParquetEncoderCompression>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface OptionSpec {
  readonly flag: string;
  readonly environment: string;
  readonly kind: 'string' | 'integer' | 'boolean';
  readonly defaultValue: string | number | boolean | undefined;
  readonly help: string;
}

/** Every option, in the order `--help` shows them. The YAML key is the camelCase name. */
export const optionSpecs = {
  input: {
    flag: 'input',
    environment: 'INPUT',
    kind: 'string',
    defaultValue: undefined,
    help: 'WARC or ARC file, folder, glob, manifest (warc.paths[.gz]), cc:CC-MAIN-…, https://, s3://, or index:PATH (Parquet or CSV of warc_filename, warc_record_offset, warc_record_length, resolved against --cc-base) (default: the bundled samples)',
  },
  output: {
    flag: 'output',
    environment: 'OUTPUT',
    kind: 'string',
    defaultValue: './out',
    help: 'local folder or s3://bucket/prefix',
  },
  ledger: {
    flag: 'ledger',
    environment: 'LEDGER_URL',
    kind: 'string',
    defaultValue: 'embedded',
    help: '"embedded" (a journal beside the output) or postgres://…',
  },
  runId: {
    flag: 'run-id',
    environment: 'RUN_ID',
    kind: 'string',
    defaultValue: undefined,
    help: 'name of the run every worker shares (default: derived from input and output)',
  },
  shard: {
    flag: 'shard',
    environment: 'SHARD',
    kind: 'string',
    defaultValue: undefined,
    help: 'static shard I/N: inputs I, I+N, … of the sorted list (also WORKER_INDEX or JOB_COMPLETION_INDEX with WORKER_COUNT)',
  },
  limit: {
    flag: 'limit',
    environment: 'LIMIT',
    kind: 'integer',
    defaultValue: undefined,
    help: 'export at most this many inputs',
  },
  schema: {
    flag: 'schema',
    environment: 'SCHEMA',
    kind: 'string',
    defaultValue: 'index',
    help: "index (CommonCrawl's 32 index columns) or content (those, the decoded payload and its headers)",
  },
  contentMaxKb: {
    flag: 'content-max-kb',
    environment: 'CONTENT_MAX_KB',
    kind: 'integer',
    defaultValue: payloadLimits.contentKibDefault,
    help: 'with --schema content: KiB of decoded payload a row keeps; a longer one is cut, content_truncated says length',
  },
  leaseSeconds: {
    flag: 'lease-seconds',
    environment: 'LEASE_SECONDS',
    kind: 'integer',
    defaultValue: 300,
    help: 'lease of a claimed job',
  },
  jobAttempts: {
    flag: 'job-attempts',
    environment: 'JOB_ATTEMPTS',
    kind: 'integer',
    defaultValue: 5,
    help: 'claims of one job that may end badly (a retryable failure, a lease that ran out) before it fails for good; retries wait 1, 2, 4… minutes',
  },
  drainTimeout: {
    flag: 'drain-timeout',
    environment: 'DRAIN_TIMEOUT',
    kind: 'integer',
    defaultValue: 30,
    help: 'seconds running jobs may finish after SIGTERM before they are released',
  },
  s3Endpoint: {
    flag: 's3-endpoint',
    environment: 'S3_ENDPOINT',
    kind: 'string',
    defaultValue: undefined,
    help: 'endpoint of an S3-compatible store (AWS_ENDPOINT_URL_S3 works too)',
  },
  ccBase: {
    flag: 'cc-base',
    environment: 'CC_BASE',
    kind: 'string',
    defaultValue: 'https://data.commoncrawl.org/',
    help: 'where cc: crawl ids are resolved (or s3://commoncrawl/)',
  },
  ccSubset: {
    flag: 'cc-subset',
    environment: 'CC_SUBSET',
    kind: 'string',
    defaultValue: 'warc',
    help: "which files of a cc: crawl: warc (captures), wet (page texts) or wat (metadata envelopes), by the crawl's <subset>.paths.gz",
  },
  sourceRequestsPerSecond: {
    flag: 'source-requests-per-second',
    environment: 'SOURCE_REQUESTS_PER_SECOND',
    kind: 'string',
    defaultValue: undefined,
    help: `requests a second this worker sends the source, or none (default: ${httpSourceRequestsPerSecond} for https inputs, none for s3:// and local ones)`,
  },
  metrics: {
    flag: 'metrics',
    environment: 'METRICS',
    kind: 'string',
    defaultValue: 'stdout',
    help: 'none, stdout (JSON lines) or cloudwatch',
  },
  metricsInterval: {
    flag: 'metrics-interval',
    environment: 'METRICS_INTERVAL',
    kind: 'integer',
    defaultValue: 15,
    help: 'seconds between metrics snapshots',
  },
  memoryBudgetMb: {
    flag: 'memory-budget-mb',
    environment: 'MEMORY_BUDGET_MB',
    kind: 'integer',
    defaultValue: undefined,
    help: `memory beyond the main thread's fixed ~110 MB, in MiB: ${cpuSlotReserveMb} MiB per CPU thread, the rest for data between stages (default: the threads' share + max(512, 4 chunks per thread))`,
  },
  threads: {
    flag: 'threads',
    environment: 'THREADS',
    kind: 'integer',
    defaultValue: undefined,
    help: 'CPU threads for decode and encode; 0 runs them on the main thread (default: one per core)',
  },
  splitDecode: {
    flag: 'split-decode',
    environment: 'SPLIT_DECODE',
    kind: 'string',
    defaultValue: 'off',
    help: 'on: the chunks of one .warc.gz decode on every CPU thread (two threads or more); off (default): each file decodes on one thread, measured faster so far (docs/figures.md)',
  },
  inflate: {
    flag: 'inflate',
    environment: 'INFLATE',
    kind: 'string',
    defaultValue: 'head-only',
    help: "head-only (inflate each record's headers, find the next gzip member by its trailer's size) or full (inflate every member, check every CRC); WET and WAT are always inflated in full",
  },
  compression: {
    flag: 'compression',
    environment: 'COMPRESSION',
    kind: 'string',
    defaultValue: undefined,
    help: "Parquet pages' codec: gzip (smallest files readers all take; the index schema's default), snappy (about 1.3x faster to write, 1.8x the bytes; the content schema's default, as Spark writes), brotli (quality 11: slow) or none",
  },
  chunkMb: {
    flag: 'chunk-mb',
    environment: 'CHUNK_MB',
    kind: 'integer',
    defaultValue: 32,
    help: 'size of one ranged read, in MiB',
  },
  where: {
    flag: 'where',
    environment: 'WHERE',
    kind: 'string',
    defaultValue: undefined,
    help: "export only the captures for which this SQL condition on the index columns holds, as DuckDB's WHERE would, e.g. \"fetch_status = 200 AND content_mime_type = 'text/html'\"",
  },
  domains: {
    flag: 'domains',
    environment: 'DOMAINS',
    kind: 'string',
    defaultValue: undefined,
    help: 'export only the captures whose url_host_registered_domain is listed in this file (one a line, # comments)',
  },
  coalesceGapKb: {
    flag: 'coalesce-gap-kb',
    environment: 'COALESCE_GAP_KB',
    kind: 'integer',
    defaultValue: undefined,
    help: 'index: inputs: picked ranges this close (KiB) share one ranged read (default: what a request costs in stream time, about 1 MiB)',
  },
  logLevel: {
    flag: 'log-level',
    environment: 'LOG_LEVEL',
    kind: 'string',
    defaultValue: 'warn',
    help: 'debug, info, warn or error (JSON lines on stderr)',
  },
  config: {
    flag: 'config',
    environment: 'CONFIG_FILE',
    kind: 'string',
    defaultValue: undefined,
    help: 'YAML file with any of these options (camelCase keys)',
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof optionSpecs;

export interface WorkerConfig {
  readonly input: string | undefined;
  readonly output: string;
  readonly ledger: string;
  readonly runId: string | undefined;
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  readonly limit: number | undefined;
  readonly schema: OutputSchema;
  /** `--content-max-kb`, in KiB. */
  readonly contentMaxKb: number;
  readonly leaseSeconds: number;
  readonly jobAttempts: number;
  readonly drainTimeout: number;
  readonly s3Endpoint: string | undefined;
  readonly ccBase: string;
  readonly ccSubset: CommonCrawlSubset;
  /** Requests a second to the source; null for none; undefined for the default of the input's kind. */
  readonly sourceRequestsPerSecond: number | null | undefined;
  readonly metrics: 'none' | 'stdout' | 'cloudwatch';
  readonly metricsInterval: number;
  readonly memoryBudgetMb: number;
  readonly chunkMb: number;
  /** `--coalesce-gap-kb`: the gap a subset's request bridges; undefined derives it (core/request-plan.ts). */
  readonly coalesceGapKb: number | undefined;
  readonly inflate: 'head-only' | 'full';
  readonly splitDecode: 'on' | 'off';
  readonly compression: ParquetEncoderCompression;
  readonly threads: number;
  /** `--where`: the condition's text, checked by run-preflight.ts. */
  readonly where: string | undefined;
  /** `--domains`: the file's path, read by run-preflight.ts and by each CPU thread. */
  readonly domains: string | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly help: boolean;
}

type RawValues = Partial<Record<OptionName, string | number | boolean>>;

function flagValues(argv: readonly string[]): { values: RawValues; help: boolean } {
  const options = Object.fromEntries(
    Object.values(optionSpecs).map((spec) => [spec.flag, { type: 'string' as const }]),
  );
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    if (!isArgumentMistake(error)) throw error;
    throw new ConfigError(`${error.message.split('\n')[0]} (see --help)`);
  }
  const values: RawValues = {};
  for (const [name, spec] of Object.entries(optionSpecs) as [OptionName, OptionSpec][]) {
    const value = (parsed.values as Record<string, string | boolean | undefined>)[spec.flag];
    if (typeof value === 'string') values[name] = value;
  }
  return { values, help: parsed.values.help === true };
}

/** What node's parseArgs throws for arguments it refuses (unknown option, missing value, positional). */
function isArgumentMistake(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function environmentValues(environment: NodeJS.ProcessEnv): RawValues {
  const values: RawValues = {};
  for (const [name, spec] of Object.entries(optionSpecs) as [OptionName, OptionSpec][]) {
    const value = environment[spec.environment];
    if (value !== undefined && value !== '') values[name] = value;
  }
  return values;
}

/**
 * The YAML parser, loaded by the first `--config`: most runs have none, and loading it costs
 * every start 15–45 ms of CPU (measured with `--cpu-prof` on `--help`). A synchronous require,
 * so that reading the configuration stays synchronous.
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as { parse: typeof parse };
  return yaml.parse(text);
}

function fileValues(path: string): RawValues {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document))
    throw new ConfigError(`config file ${path} must be a mapping of option: value`);
  const values: RawValues = {};
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    if (!(key in optionSpecs) || key === 'config')
      throw new ConfigError(`config file ${path}: unknown option "${key}" (see --help)`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`config file ${path}: option "${key}" must be a single value`);
    }
    values[key as OptionName] = value;
  }
  return values;
}

function asInteger(
  name: OptionName,
  value: string | number | boolean | undefined,
  minimum: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number) || number < minimum) {
    throw new ConfigError(`--${optionSpecs[name].flag} must be an integer ≥ ${minimum}, got "${String(value)}"`);
  }
  return number;
}

/** A positive number of requests a second, or `none`. */
function asRate(name: OptionName, value: string | number | boolean | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const number = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'boolean' || String(value).trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new ConfigError(`--${optionSpecs[name].flag} must be a positive number or none, got "${String(value)}"`);
  }
  return number;
}

function oneOf<T extends string>(name: OptionName, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`--${optionSpecs[name].flag} must be one of ${allowed.join(', ')}, got "${String(value)}"`);
}

/** `--shard I/N`, or the index Kubernetes / AWS Batch / WORKER_INDEX give with WORKER_COUNT. */
function shardOf(value: string | number | boolean | undefined, environment: NodeJS.ProcessEnv): WorkerConfig['shard'] {
  try {
    return value === undefined ? shardFromEnvironment(environment) : parseShard(String(value));
  } catch (error) {
    const userMistake = /^configuration error \(user's\): /;
    if (!(error instanceof Error) || !userMistake.test(error.message)) throw error;
    throw new ConfigError(error.message.replace(userMistake, ''));
  }
}

/**
 * `--content-max-kb`: at least 1, and at most the bytes an encoded body may decode to
 * (payloadLimits.decodedBytesMax), past which no payload could fill a row anyway.
 */
function contentMaxKbOf(value: string | number | boolean | undefined): number {
  const kib = asInteger('contentMaxKb', value, 1) as number;
  const maxKib = payloadLimits.decodedBytesMax / 1024;
  if (kib > maxKib) throw new ConfigError(`--content-max-kb must be at most ${maxKib}, got "${String(value)}"`);
  return kib;
}

/** Reads flags, environment and the YAML file, in that precedence, and validates them. */
export function loadWorkerConfig(argv: readonly string[], environment: NodeJS.ProcessEnv): WorkerConfig {
  const flags = flagValues(argv);
  const fromEnvironment = environmentValues(environment);
  const configPath = flags.values.config ?? fromEnvironment.config;
  const fromFile = configPath === undefined ? {} : fileValues(String(configPath));
  const pick = (name: OptionName): string | number | boolean | undefined =>
    flags.values[name] ?? fromEnvironment[name] ?? fromFile[name] ?? optionSpecs[name].defaultValue;
  const text = (name: OptionName): string | undefined => (pick(name) === undefined ? undefined : String(pick(name)));
  const threads = asInteger('threads', pick('threads'), 0) ?? availableParallelism();
  const chunkMb = asInteger('chunkMb', pick('chunkMb'), 1) as number;
  const schema = oneOf('schema', pick('schema'), outputSchemas);
  const memoryBudgetMb =
    asInteger('memoryBudgetMb', pick('memoryBudgetMb'), 1) ?? defaultBudgetMb(threads, chunkMb, schema);
  const plan = memoryPlan(memoryBudgetMb, threads, chunkMb, schema);
  if (typeof plan === 'string') throw new ConfigError(plan);
  return {
    input: text('input'),
    output: text('output') as string,
    ledger: text('ledger') as string,
    runId: text('runId'),
    shard: shardOf(pick('shard'), environment),
    limit: asInteger('limit', pick('limit'), 1),
    schema,
    contentMaxKb: contentMaxKbOf(pick('contentMaxKb')),
    leaseSeconds: asInteger('leaseSeconds', pick('leaseSeconds'), 10) as number,
    jobAttempts: asInteger('jobAttempts', pick('jobAttempts'), 1) as number,
    drainTimeout: asInteger('drainTimeout', pick('drainTimeout'), 0) as number,
    s3Endpoint: text('s3Endpoint'),
    ccBase: text('ccBase') as string,
    ccSubset: oneOf('ccSubset', pick('ccSubset'), commonCrawlSubsets),
    sourceRequestsPerSecond: asRate('sourceRequestsPerSecond', pick('sourceRequestsPerSecond')),
    metrics: oneOf('metrics', pick('metrics'), ['none', 'stdout', 'cloudwatch'] as const),
    metricsInterval: asInteger('metricsInterval', pick('metricsInterval'), 1) as number,
    memoryBudgetMb,
    chunkMb,
    coalesceGapKb: asInteger('coalesceGapKb', pick('coalesceGapKb'), 0),
    inflate: oneOf('inflate', pick('inflate'), ['head-only', 'full'] as const),
    splitDecode: oneOf('splitDecode', pick('splitDecode'), ['on', 'off'] as const),
    // Content rows are mostly payload: GZIP's 60–110 MB/s here would bound the export below inflate.
    compression:
      compressionOf[
        oneOf('compression', pick('compression') ?? (schema === 'content' ? 'snappy' : 'gzip'), [
          'gzip',
          'snappy',
          'brotli',
          'none',
        ] as const)
      ],
    threads,
    where: text('where'),
    domains: text('domains'),
    logLevel: oneOf('logLevel', pick('logLevel'), ['debug', 'info', 'warn', 'error'] as const),
    help: flags.help,
  };
}

export function helpText(): string {
  const lines = [
    'usage: node cmd/worker [options]',
    '       node cmd/worker status [--ledger URL] [--run-id ID | --input … --output …] [--json]   (every run when none is named)',
    "       node cmd/worker retry-failed [the run's options]   (the run's failed jobs back to pending, attempts reset)",
    '       node cmd/worker --version   (the name and version; npx cc-worker is the same binary)',
    '       node cmd/worker cleanup --output s3://bucket/prefix|FOLDER [--dry-run] [--older-than-hours H]',
    "         (aborts multipart uploads, or removes a local folder's temporary files, older than H hours, default 24)",
    '',
    'options (flag, environment variable, default):',
  ];
  for (const spec of Object.values(optionSpecs) as OptionSpec[]) {
    const fallback = spec.defaultValue === undefined ? '' : ` [default: ${String(spec.defaultValue)}]`;
    lines.push(`  --${spec.flag.padEnd(18)} ${spec.environment.padEnd(17)} ${spec.help}${fallback}`);
  }
  lines.push(
    '',
    "Precedence: flag, then environment, then --config file, then default. AWS settings come from the SDK's usual chain.",
  );
  lines.push(
    'Exit codes: 0 all jobs done; 1 fatal error; 2 bad usage or configuration (or an unknown run); 3 the run holds' +
      ' inputs it did not export (failed for good, or refused for an output another input holds), listed on every run' +
      ' until retry-failed or a new --run-id.',
  );
  return lines.join('\n');
}
