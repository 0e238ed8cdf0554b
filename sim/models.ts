import type { OutputSchema } from '../core/capture-row.ts';

/**
 * The parameters of every latency, throughput and fault model, with defaults and where each
 * default comes from. A scenario file or `--calibrate` overrides any of them. Rates are per
 * second and sizes in bytes, as the names say.
 */
export interface TransferModel {
  /** Median time to first byte of one request. */
  readonly latencyMedianMs: number;
  /** Lognormal shape of that latency: p99 = median × e^(2.326 σ). */
  readonly latencySigma: number;
  /** What one stream (one HTTP connection) moves at most. */
  readonly streamBytesPerSecond: number;
  /** Probability that a request is answered 503 SlowDown (throttled) after its latency. */
  readonly slowDownRate: number;
  /** Probability that a request hangs until `timeoutMs` and fails (retryable). */
  readonly timeoutRate: number;
  readonly timeoutMs: number;
  /** Requests per second the remote accepts from the whole fleet; beyond, 503 SlowDown. */
  readonly requestsPerSecondMax: number;
}

/** How the index schema's decoder inflates a record: the worker's `--inflate`. */
export const inflateModes = ['head-only', 'full'] as const;
export type InflateMode = (typeof inflateModes)[number];

export interface CpuModel {
  /** WARC bytes (compressed, as fetched) one core decodes per second, inflating the heads only. */
  readonly decodeBytesPerSecondPerCore: number;
  /** The same with every member inflated whole (`--inflate full`): CRCs checked, bodies inflated. */
  readonly fullInflateDecodeBytesPerSecondPerCore: number;
  /** Which of the two the simulated workers run; the content schema always inflates in full. */
  readonly inflate: InflateMode;
  /** Rows one core encodes to Parquet per second. */
  readonly encodeRowsPerSecondPerCore: number;
  /** `exponential` draws each service time with the rate's mean (the oracle tests); `fixed` uses the mean. */
  readonly serviceTime: 'fixed' | 'exponential';
}

export interface LedgerModel {
  /** Round trip of a claim, heartbeat, fail or release to the ledger. */
  readonly callLatencyMedianMs: number;
  readonly callLatencySigma: number;
  /**
   * Probability that a ledger call fails (connection reset, failover): a claim is answered
   * `claimFailed`, a heartbeat gets no answer, a fail or release is not recorded (the lease
   * then expires and the job is reclaimed).
   */
  readonly callFailureRate: number;
  /**
   * Of the commits' ledger writes that fail, the share that took effect before the answer was
   * lost (a connection dropped after COMMIT): the worker tries again and must hear "done".
   */
  readonly answerLostShare: number;
  /**
   * The first step of a commit, CompleteMultipartUpload. The second, the fenced ledger write,
   * is a ledger call (`callLatencyMedianMs`, `callFailureRate`), retried alone when it fails.
   */
  readonly commitLatencyMedianMs: number;
  readonly commitLatencySigma: number;
  /** Probability that completing an object fails retryably (a 500 on CompleteMultipartUpload). */
  readonly commitFailureRate: number;
  /** Attempts of a job (claims) before the ledger marks it dead. */
  readonly jobAttemptsMax: number;
  /** Wait before a job that failed retryably can be claimed again. */
  readonly jobRetryDelayMs: number;
}

export interface CrashModel {
  /** Mean crashes per instance-hour (a process killed, a spot reclaim, a kernel panic). */
  readonly crashesPerInstanceHour: number;
  /** Time from a crash until the worker runs again (systemd restart, or a new instance). */
  readonly restartMs: number;
}

/** What a job's bytes turn into. */
export interface DataModel {
  /** Rows (captures) per WARC byte. */
  readonly rowsPerInputByte: number;
  /** Bytes rows take in memory per WARC byte. */
  readonly rowBytesPerInputByte: number;
  /** Parquet bytes per row. */
  readonly parquetBytesPerRow: number;
  /** Probability that an input cannot be read at all (non-retryable: the input's fault). */
  readonly badInputRate: number;
}

/**
 * The schema the simulated workers export (`--schema`), and the content schema's own rates: a
 * content row carries its payload, so it takes more to decode, to encode and to hold. The
 * index schema's rates are `cpu` and `data`; `ratesOf` gives the ones in use.
 */
export interface SchemaModel {
  readonly output: OutputSchema;
  readonly contentDecodeBytesPerSecondPerCore: number;
  readonly contentEncodeRowsPerSecondPerCore: number;
  readonly contentRowBytesPerInputByte: number;
  readonly contentParquetBytesPerRow: number;
}

/** The rates of the schema the models export. */
export interface SchemaRates {
  readonly decodeBytesPerSecondPerCore: number;
  readonly encodeRowsPerSecondPerCore: number;
  readonly rowBytesPerInputByte: number;
  readonly parquetBytesPerRow: number;
}

/** The index schema's decode rate for the inflate mode the models run. */
export function indexDecodeRateOf(cpu: CpuModel): number {
  return cpu.inflate === 'full' ? cpu.fullInflateDecodeBytesPerSecondPerCore : cpu.decodeBytesPerSecondPerCore;
}

export function ratesOf(models: Models): SchemaRates {
  if (models.schema.output === 'content') {
    return {
      decodeBytesPerSecondPerCore: models.schema.contentDecodeBytesPerSecondPerCore,
      encodeRowsPerSecondPerCore: models.schema.contentEncodeRowsPerSecondPerCore,
      rowBytesPerInputByte: models.schema.contentRowBytesPerInputByte,
      parquetBytesPerRow: models.schema.contentParquetBytesPerRow,
    };
  }
  return {
    decodeBytesPerSecondPerCore: indexDecodeRateOf(models.cpu),
    encodeRowsPerSecondPerCore: models.cpu.encodeRowsPerSecondPerCore,
    rowBytesPerInputByte: models.data.rowBytesPerInputByte,
    parquetBytesPerRow: models.data.parquetBytesPerRow,
  };
}

/** What decoding the input bytes [startBytes, endBytes) of a whole file gives and costs. */
export interface SpanDecode {
  /** Rows, cumulatively rounded, so a file's chunks add up to its whole row count. */
  readonly rows: number;
  /** Their size in memory, rounded the same way. */
  readonly rowBytes: number;
  /** The mean time one core takes, at the rate of the schema and inflate mode in use. */
  readonly decodeMs: number;
}

/** The one cost of a decode, for the planner's instance model and the whole worker's model CPU alike. */
export function spanDecodeOf(models: Models, startBytes: number, endBytes: number): SpanDecode {
  const rates = ratesOf(models);
  const upTo = (perByte: number): number => Math.floor(endBytes * perByte) - Math.floor(startBytes * perByte);
  return {
    rows: upTo(models.data.rowsPerInputByte),
    rowBytes: upTo(rates.rowBytesPerInputByte),
    decodeMs: ((endBytes - startBytes) / rates.decodeBytesPerSecondPerCore) * 1000,
  };
}

export interface Models {
  readonly source: TransferModel;
  readonly sink: TransferModel;
  readonly cpu: CpuModel;
  readonly ledger: LedgerModel;
  readonly crash: CrashModel;
  readonly data: DataModel;
  readonly schema: SchemaModel;
}

const gibibyte = 1024 ** 3;

export const defaultModels: Models = {
  source: {
    // S3 first-byte latency is "100–200 ms" for small objects in AWS's S3 performance
    // guidelines; CommonCrawl's bucket is in us-east-1, read from the same region. A median
    // of 80 ms with σ 0.8 puts p99 at ~0.5 s, the tail those guidelines tell you to retry.
    latencyMedianMs: 80,
    latencySigma: 0.8,
    // AWS's S3 performance guidelines: "make one concurrent request for each 85–90 MB/s".
    streamBytesPerSecond: 88_000_000,
    // CommonCrawl answers 503 SlowDown when overloaded; 0.1% is our assumption for a quiet day.
    slowDownRate: 0.001,
    timeoutRate: 0.0001,
    timeoutMs: 30_000,
    // CommonCrawl's data service answers a few thousand requests per second across all users.
    // We take 2,000 for our fleet, leaving the rest to everyone else.
    requestsPerSecondMax: 2_000,
  },
  sink: {
    // S3 PUT of an 8 MiB part from EC2 in-region: same guidelines as above.
    latencyMedianMs: 60,
    latencySigma: 0.6,
    streamBytesPerSecond: 88_000_000,
    slowDownRate: 0.001,
    timeoutRate: 0.0001,
    timeoutMs: 30_000,
    // S3 documents 3,500 PUT/COPY/POST/DELETE per second per partitioned prefix; the output
    // keys of a crawl share one prefix (`crawl=…/subset=…/`).
    requestsPerSecondMax: 3_500,
  },
  cpu: {
    // Measured (`npm run bench -- index-decode`, docs/figures.md): index export on one thread of
    // the shared 2-core x86 development VM, Node 20, CPU time, on a 100 MB file at CommonCrawl's
    // density. Head-only decoding (the default) ran 2.02 CPU s/GB, 495 MB/s.
    // Graviton cores are unmeasured: they are assumed to match this VM's core (zlib's inflate
    // and V8 run at similar per-core speed on Graviton2/3 and current x86, not checked here);
    // `--calibrate` replaces the rate with one measured on the machine itself.
    decodeBytesPerSecondPerCore: 490_000_000,
    // The same run, the same file, `--inflate full`: 13.6 CPU s/GB, 73.6 MB/s (docs/figures.md,
    // `index-decode` rows: decode only, head-only against full, 6.72x). The same assumption
    // for Graviton cores as above.
    fullInflateDecodeBytesPerSecondPerCore: 74_000_000,
    inflate: 'head-only',
    // The same run: export minus decode, 0.83 CPU s/GB for 25,470 rows a GB, about 30,700 rows/s
    // (GZIP pages, the default); the encode bench gives 24–31 k rows/s on the same machine.
    encodeRowsPerSecondPerCore: 30_000,
    serviceTime: 'fixed',
  },
  ledger: {
    // PostgreSQL in the same region: a one-row UPDATE … RETURNING is a few milliseconds.
    callLatencyMedianMs: 5,
    callLatencySigma: 0.5,
    // A managed PostgreSQL fails over a few times a year; one call in 100,000 is our assumption.
    callFailureRate: 0.00001,
    // An assumption: a connection that drops mid-call is as likely to drop after the commit as before.
    answerLostShare: 0.5,
    // CompleteMultipartUpload is ~100–300 ms in our experience of S3.
    commitLatencyMedianMs: 150,
    commitLatencySigma: 0.5,
    commitFailureRate: 0.0005,
    jobAttemptsMax: 5,
    jobRetryDelayMs: 60_000,
  },
  crash: {
    // One crash per 100 instance-hours: an assumption (OOM kills, spot reclaims); set 0 to turn off.
    crashesPerInstanceHour: 0.01,
    restartMs: 90_000,
  },
  data: {
    // CommonCrawl: ~30,000 captures per ~1 GiB WARC file.
    rowsPerInputByte: 30_000 / gibibyte,
    // Index rows are ~1/50 of the WARC bytes in memory (strings of URL, headers and digests).
    rowBytesPerInputByte: 1 / 50,
    // The cc-index-table Parquet files hold ~120 bytes per row after compression.
    parquetBytesPerRow: 120,
    badInputRate: 0,
  },
  schema: {
    output: 'index',
    // The index rates above scaled by what `--calibrate` measured of an index run and a content
    // run of the worker on the same 100 MB CommonCrawl-like file, one thread, one after the other
    // on the same machine: content decodes at 0.50x the index's bytes/s (it copies each payload
    // out) and encodes at 0.043x its rows/s (each row's payload is GZIP-compressed in Parquet).
    // `--calibrate` with a content run's log replaces them.
    contentDecodeBytesPerSecondPerCore: 50_000_000,
    contentEncodeRowsPerSecondPerCore: 2_200,
    // A content row holds its decoded payload: the generated pages compress 4-6x in the WARC.
    contentRowBytesPerInputByte: 4.5,
    // Measured in the same content run: 5,319 Parquet bytes per row (the index run: 95).
    contentParquetBytesPerRow: 5_300,
  },
};

/** Models with some fields replaced, one level deep, as a scenario file gives them. */
export type ModelOverrides = { readonly [K in keyof Models]?: Partial<Models[K]> };

export function withModels(base: Models, overrides: ModelOverrides | undefined): Models {
  if (overrides === undefined) return base;
  return {
    source: { ...base.source, ...overrides.source },
    sink: { ...base.sink, ...overrides.sink },
    cpu: { ...base.cpu, ...overrides.cpu },
    ledger: { ...base.ledger, ...overrides.ledger },
    crash: { ...base.crash, ...overrides.crash },
    data: { ...base.data, ...overrides.data },
    schema: { ...base.schema, ...overrides.schema },
  };
}
