/**
 * The closed form of a subset run (`--input index:…`): N picked captures over M files, drawn
 * (subset-picks.ts), planned into requests by the core's own rule (core/request-plan.ts), and
 * the time and cost that the fleet's ceilings allow. The planner answers with the event
 * simulation (a scenario's `subset` workload, fleet-simulation.ts), where the core itself
 * plans, dispatches and retries each request; this closed form is its cross-check
 * (`closedFormOf`, test/sim/subset-simulation.test.ts), printed beside it, and what the subset
 * benchmark calibrates against a real run (`planPicks`). A subset's work is requests, and its
 * time is whichever of these ceilings binds:
 *
 * - requests a second: each worker's own ceiling (`--source-requests-per-second`, 20 for
 *   HTTPS) times the workers, and the fleet-wide one of the remote (CommonCrawl's 2,000,
 *   sim/models.ts), whichever is lower;
 * - concurrency: a worker's fetch streams (core/limits.ts) each busy for the request's fixed
 *   latency plus its bytes at the stream rate;
 * - bandwidth: the instances' sustained network rate;
 * - CPU: each capture decoded alone and encoded, `cpuSecondsPerCapture` on one of the
 *   instance's cores (by default the simulator's decode and encode rates of the schema and
 *   inflate mode in use; a benchmark calibrates it from a run). A picked range is read by the
 *   decoder a whole file is (adapters/warc/picked-range-decoder.ts wraps it): the index
 *   schema inflates a response's head only unless `--inflate full`, the content schema
 *   inflates it whole, so a capture costs what a capture of a whole file does at those rates.
 *
 * Captures of a file lie at uniformly drawn record positions of a CommonCrawl-like file
 * (records `recordSpacingBytes` apart, a response `captureBytes` long); picks per file follow
 * the chosen spread (`even`: N/M each, `skewed`: Zipf-like, a few files hold most picks, as a
 * query for one site does).
 */
import type { OutputSchema } from '../core/capture-row.ts';
import { defaultLimits } from '../core/limits.ts';
import { coalesceGapBytesOf, planRequests } from '../core/request-plan.ts';
import { seededRandom } from '../core/seeded-random.ts';
import type { ByteRange } from '../core/source.ts';
import { findInstanceType, type InstanceType } from './instance-types.ts';
import { defaultModels, ratesOf, withModels, type InflateMode, type SchemaRates } from './models.ts';
import { limitsForInstance, type Scenario } from './scenario.ts';
import { drawPicks, type PickSpread } from './subset-picks.ts';

export interface SubsetScenario {
  readonly captures: number;
  readonly files: number;
  readonly instances: number;
  readonly instanceType: string;
  readonly spread: PickSpread;
  /** The gap one request bridges; null uses the core's rule. 0 turns coalescing off. */
  readonly gapBytesMax: number | null;
  /** One worker's request ceiling; null for none (S3). */
  readonly workerRequestsPerSecond: number | null;
  /** The remote's ceiling for the whole fleet. */
  readonly fleetRequestsPerSecond: number;
  readonly requestFixedCostMs: number;
  readonly streamBytesPerSecond: number;
  readonly fileBytes: number;
  /** A capture's response record and the request and metadata records between two captures. */
  readonly recordSpacingBytes: number;
  readonly captureBytes: number;
  readonly chunkBytes: number;
  /**
   * CPU time of one capture, decoded alone and encoded; null derives it from the simulator's
   * CPU model at the rates of `schema` and `inflate`.
   */
  readonly cpuSecondsPerCapture: number | null;
  /** The schema exported (`--schema`): a content row costs some ten times an index row. */
  readonly schema: OutputSchema;
  /** How the index schema's decoder inflates (`--inflate`); the content schema always inflates in full. */
  readonly inflate: InflateMode;
  /** Fetch streams of each instance; null for the core's default (core/limits.ts). */
  readonly fetchStreamsPerInstance: number | null;
  /** Cores decoding and encoding on each instance; null for the instance type's vCPUs. */
  readonly coresPerInstance: number | null;
  readonly seed: number;
}

/**
 * A CommonCrawl WARC file: about 1 GiB holding some 37,000 captures, a response (about 20 KB
 * gzip'd) followed by its request and metadata records (some 9 KB): 29 KB apart.
 */
export const defaultSubsetScenario: SubsetScenario = {
  captures: 10_000_000,
  files: 90_000,
  instances: 10,
  instanceType: 'c6gn.4xlarge',
  spread: 'even',
  gapBytesMax: null,
  workerRequestsPerSecond: 20,
  fleetRequestsPerSecond: defaultModels.source.requestsPerSecondMax,
  requestFixedCostMs: defaultLimits.requestFixedCostMs,
  streamBytesPerSecond: defaultLimits.streamBytesPerSecond,
  fileBytes: 1024 ** 3,
  recordSpacingBytes: 29_000,
  captureBytes: 20_000,
  chunkBytes: defaultLimits.chunkBytes,
  cpuSecondsPerCapture: null,
  schema: 'index',
  inflate: 'head-only',
  fetchStreamsPerInstance: null,
  coresPerInstance: null,
  seed: 1,
};

export interface SubsetPlan {
  readonly captures: number;
  readonly requests: number;
  readonly bytesPicked: number;
  readonly bytesFetched: number;
  readonly hours: number;
  readonly dollars: number;
  readonly bound: 'request rate' | 'concurrency' | 'bandwidth' | 'cpu';
}

/** Files sampled for the plan: the rest are scaled from them (their picks are alike). */
const sampledFilesMax = 2_000;

export function planSubset(scenario: SubsetScenario): SubsetPlan {
  const random = seededRandom(scenario.seed);
  const sampled = Math.min(scenario.files, sampledFilesMax);
  const sizes = Array.from({ length: sampled }, () => scenario.fileBytes);
  const files = drawPicks(scenario.captures * (sampled / scenario.files), sizes, scenario, random, scenario.files);
  return planPicks(files, scenario, scenario.files / sampled);
}

/**
 * The plan for given picks (each file's, normalized), scaled by `scale` files a file given:
 * what the planner draws, or what a real index holds (the benchmark checks the model with it).
 */
export function planPicks(files: readonly (readonly ByteRange[])[], scenario: SubsetScenario, scale = 1): SubsetPlan {
  const instance = findInstanceType(scenario.instanceType);
  if (instance === undefined) throw new Error(`unknown instance type ${scenario.instanceType}`);
  const gapBytesMax = scenario.gapBytesMax ?? coalesceGapBytesOf(scenario);
  let requests = 0;
  let bytesPicked = 0;
  let bytesFetched = 0;
  let captures = 0;
  for (const picks of files) {
    const planned = planRequests(picks, { chunkBytes: scenario.chunkBytes, gapBytesMax });
    captures += picks.length;
    requests += planned.length;
    bytesPicked += picks.reduce((sum, pick) => sum + pick.lengthBytes, 0);
    bytesFetched += planned.reduce((sum, request) => sum + request.lengthBytes, 0);
  }
  return timeOf(scenario, instance, {
    captures: captures * scale,
    requests: requests * scale,
    bytesPicked: bytesPicked * scale,
    bytesFetched: bytesFetched * scale,
  });
}

/** One capture's CPU time at the given rates: its response's bytes decoded, one row encoded. */
export function captureCpuSecondsOf(captureBytes: number, rates: SchemaRates): number {
  return captureBytes / rates.decodeBytesPerSecondPerCore + 1 / rates.encodeRowsPerSecondPerCore;
}

function cpuSecondsPerCaptureOf(scenario: SubsetScenario): number {
  if (scenario.cpuSecondsPerCapture !== null) return scenario.cpuSecondsPerCapture;
  const models = withModels(defaultModels, { schema: { output: scenario.schema }, cpu: { inflate: scenario.inflate } });
  return captureCpuSecondsOf(scenario.captureBytes, ratesOf(models));
}

function timeOf(
  scenario: SubsetScenario,
  instance: InstanceType,
  totals: Pick<SubsetPlan, 'captures' | 'requests' | 'bytesPicked' | 'bytesFetched'>,
): SubsetPlan {
  const perWorker = scenario.workerRequestsPerSecond ?? Infinity;
  const requestRate = Math.min(scenario.fleetRequestsPerSecond, perWorker * scenario.instances);
  const meanRequestBytes = totals.requests === 0 ? 0 : totals.bytesFetched / totals.requests;
  const requestSeconds = scenario.requestFixedCostMs / 1000 + meanRequestBytes / scenario.streamBytesPerSecond;
  const streams = scenario.fetchStreamsPerInstance ?? defaultLimits.stageWorkersMax.fetch;
  const concurrencyRate = (scenario.instances * streams) / requestSeconds;
  const bandwidth = (scenario.instances * instance.baselineGbps * 1e9) / 8;
  const cores = scenario.instances * (scenario.coresPerInstance ?? instance.vcpus);
  const seconds = {
    'request rate': totals.requests / requestRate,
    concurrency: totals.requests / concurrencyRate,
    bandwidth: totals.bytesFetched / bandwidth,
    cpu: (totals.captures * cpuSecondsPerCaptureOf(scenario)) / cores,
  } as const;
  const [bound, longest] = (Object.entries(seconds) as [SubsetPlan['bound'], number][]).reduce((worst, entry) =>
    entry[1] > worst[1] ? entry : worst,
  );
  const hours = longest / 3600;
  return { ...totals, hours, dollars: hours * scenario.instances * instance.dollarsPerHour, bound };
}

/**
 * The closed form of an event simulation's subset scenario, to cross-check it: the same
 * fleet, files, picks' shape and seed, the gap the core bridges, each worker's and the
 * fleet's request ceilings, the fetch streams of the instance's limits, a request's fixed cost
 * as the mean of the source's lognormal latency (median × e^(σ²/2)), its stream rate, and a
 * capture's CPU time at the models' decode and encode rates of the schema and inflate mode in
 * use (calibrated ones included), as the simulated workers decode picks (`ratesOf`).
 */
export function closedFormOf(scenario: Scenario): SubsetScenario {
  const subset = scenario.subset;
  if (subset === null) throw new Error('closedFormOf needs a scenario with a subset workload');
  const instance = findInstanceType(scenario.instanceType);
  if (instance === undefined) throw new Error(`unknown instance type ${scenario.instanceType}`);
  const limits = limitsForInstance(instance, scenario);
  const source = scenario.models.source;
  return {
    ...defaultSubsetScenario,
    captures: subset.captures,
    files: scenario.files,
    instances: scenario.instances,
    instanceType: scenario.instanceType,
    spread: subset.spread,
    gapBytesMax: limits.coalesceGapBytes ?? coalesceGapBytesOf(limits),
    workerRequestsPerSecond: limits.remoteRequestsPerSecondMax.source,
    fleetRequestsPerSecond: source.requestsPerSecondMax,
    requestFixedCostMs: source.latencyMedianMs * Math.exp(source.latencySigma ** 2 / 2),
    streamBytesPerSecond: source.streamBytesPerSecond,
    fileBytes: scenario.fileBytes,
    recordSpacingBytes: subset.recordSpacingBytes,
    captureBytes: subset.captureBytes,
    chunkBytes: limits.chunkBytes,
    cpuSecondsPerCapture: captureCpuSecondsOf(subset.captureBytes, ratesOf(scenario.models)),
    schema: scenario.models.schema.output,
    inflate: scenario.models.cpu.inflate,
    fetchStreamsPerInstance: limits.stageWorkersMax.fetch,
    coresPerInstance: limits.cpuSlotsMax,
    seed: scenario.seed,
  };
}
