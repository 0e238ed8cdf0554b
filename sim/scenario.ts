import type { InvariantChecks } from '../core/invariants.ts';
import { contentDecodeOutputRatio, withLimits, type WorkerLimits } from '../core/limits.ts';
import type { PerStage, Policy } from '../core/stage.ts';
import { findCrawlPreset } from './crawl-presets.ts';
import { findInstanceType, type InstanceType } from './instance-types.ts';
import { pickSpreads, type PickSpread } from './subset-picks.ts';
import { defaultModels, inflateModes, withModels, type ModelOverrides, type Models } from './models.ts';

/** Limits a scenario may set by hand; the rest follow from the instance type. */
export type LimitOverrides = Partial<Omit<WorkerLimits, 'stageWorkersMax' | 'policy' | 'seed'>> & {
  readonly stageWorkersMax?: Partial<PerStage<number>>;
};

/**
 * A subset run (`--input index:…`): each file's job carries picked ranges drawn from the
 * workload stream (subset-picks.ts), which the core plans into requests and coalesces as it
 * does in production. Files and their sizes are the scenario's.
 */
export interface SubsetWorkload {
  /** Picked captures over the whole crawl (the sample gets its share). */
  readonly captures: number;
  readonly spread: PickSpread;
  /** A picked capture's record: a CommonCrawl response is about 20 KB gzip'd. */
  readonly captureBytes: number;
  /** Records of a file are this far apart: a response and the request and metadata records after it, ~29 KB. */
  readonly recordSpacingBytes: number;
  /** The gap one request bridges (the worker's `--coalesce-gap-kb`); null for the core's rule, 0 for one request a capture. */
  readonly coalesceGapBytes: number | null;
}

export const defaultSubsetWorkload: SubsetWorkload = {
  captures: 10_000_000,
  spread: 'even',
  captureBytes: 20_000,
  recordSpacingBytes: 29_000,
  coalesceGapBytes: null,
};

/** Everything one simulation needs; a scenario file gives any part of it, flags override. */
export interface Scenario {
  readonly instances: number;
  readonly instanceType: string;
  readonly files: number;
  readonly fileBytes: number;
  readonly fileBytesSpread: number;
  readonly seed: number;
  readonly policy: Policy;
  readonly models: Models;
  readonly limits: LimitOverrides;
  /**
   * The planner's shortcut for large fleets: simulate at most this many instances, each with
   * its share of the files, and scale the fleet-wide request ceilings by the same fraction.
   * Instances are alike and share only the ledger and those ceilings, so the makespan of the
   * sample is the makespan of the fleet; bench `sim.ts` measures the error against full runs.
   * 0 simulates every instance.
   */
  readonly sampleInstancesMax: number;
  /** At most this many files are simulated; the rest of the makespan is extrapolated. 0 simulates all. */
  readonly sampleFilesMax: number;
  /** Liveness: every job must end within this long of its first claim. */
  readonly jobEndBoundMs: number;
  /** Liveness: the whole run must end within this much simulated time. */
  readonly runBoundMs: number;
  /**
   * The core's own checks at every step: `full` (the default) scans every job and task, which
   * is how the simulator proves the core; `counters` keeps the O(1) checks of production, for
   * comparisons of whole crawls where the scans would double the time and prove nothing new.
   */
  readonly invariantChecks?: InvariantChecks;
  /** Jobs are subsets of their files, or null for whole files (the default). */
  readonly subset: SubsetWorkload | null;
}

const hourMs = 3_600_000;

export const defaultScenario: Scenario = {
  instances: 10,
  instanceType: 'c6gn.4xlarge',
  files: 1_000,
  fileBytes: 1024 ** 3,
  fileBytesSpread: 0.15,
  seed: 1,
  policy: 'weighted',
  models: defaultModels,
  limits: {},
  sampleInstancesMax: 8,
  sampleFilesMax: 8_000,
  jobEndBoundMs: 6 * hourMs,
  runBoundMs: 1_000 * hourMs,
  subset: null,
};

/** A scenario as read from a file: models and limits partial, a crawl preset by name. */
export interface ScenarioFile extends Partial<Omit<Scenario, 'models' | 'limits' | 'subset'>> {
  readonly crawl?: string;
  /** Any part of a subset workload, over `defaultSubsetWorkload`. */
  readonly subset?: Partial<SubsetWorkload> | null;
  readonly models?: ModelOverrides;
  readonly limits?: LimitOverrides;
}

const scenarioKeys = new Set(['crawl', 'models', 'limits', ...Object.keys(defaultScenario)]);

/** Merges a scenario file over a base; returns an error message for what cannot be used. */
export function applyScenarioFile(base: Scenario, file: unknown): Scenario | string {
  if (typeof file !== 'object' || file === null || Array.isArray(file))
    return 'the scenario file must hold a mapping of scenario keys';
  const unknownKey = Object.keys(file).find((key) => !scenarioKeys.has(key));
  if (unknownKey !== undefined) return `unknown scenario key "${unknownKey}" (known: ${[...scenarioKeys].join(', ')})`;
  const given = file as ScenarioFile;
  let scenario: Scenario = base;
  if (given.crawl !== undefined) {
    const preset = findCrawlPreset(given.crawl);
    if (preset === undefined) return `unknown crawl preset "${given.crawl}"`;
    scenario = {
      ...scenario,
      files: preset.files,
      fileBytes: preset.fileBytes,
      fileBytesSpread: preset.fileBytesSpread,
    };
  }
  const { crawl: _crawl, models, limits, subset, ...rest } = given;
  return {
    ...scenario,
    ...rest,
    subset: subset === undefined ? scenario.subset : subset === null ? null : { ...defaultSubsetWorkload, ...subset },
    models: withModels(scenario.models, models),
    limits: {
      ...scenario.limits,
      ...limits,
      stageWorkersMax: { ...scenario.limits.stageWorkersMax, ...limits?.stageWorkersMax },
    },
  };
}

/** What is wrong with a scenario, or null. */
export function scenarioProblem(scenario: Scenario): string | null {
  if (!Number.isInteger(scenario.instances) || scenario.instances < 1) return 'instances must be a positive integer';
  if (findInstanceType(scenario.instanceType) === undefined) return `unknown instance type "${scenario.instanceType}"`;
  if (!Number.isInteger(scenario.files) || scenario.files < 1) return 'files must be a positive integer';
  if (!(scenario.fileBytes >= 1)) return 'fileBytes must be positive';
  if (!(scenario.fileBytesSpread >= 0 && scenario.fileBytesSpread < 1)) return 'fileBytesSpread must be in [0, 1)';
  if (!Number.isInteger(scenario.seed)) return 'seed must be an integer';
  if (!(inflateModes as readonly string[]).includes(scenario.models.cpu.inflate))
    return `models.cpu.inflate must be ${inflateModes.join(' or ')}`;
  if (!Number.isInteger(scenario.sampleInstancesMax) || scenario.sampleInstancesMax < 0)
    return 'sampleInstancesMax must be a non-negative integer';
  if (scenario.subset !== null) {
    const problem = subsetProblem(scenario.subset);
    if (problem !== null) return `subset: ${problem}`;
  }
  if (!Number.isInteger(scenario.sampleFilesMax) || scenario.sampleFilesMax < 0)
    return 'sampleFilesMax must be a non-negative integer';
  return null;
}

function subsetProblem(subset: SubsetWorkload): string | null {
  if (!Number.isInteger(subset.captures) || subset.captures < 1) return 'captures must be a positive integer';
  if (!(pickSpreads as readonly string[]).includes(subset.spread)) return `spread must be ${pickSpreads.join(' or ')}`;
  if (!(subset.captureBytes >= 1)) return 'captureBytes must be positive';
  if (!(subset.recordSpacingBytes >= subset.captureBytes))
    return 'recordSpacingBytes must be at least captureBytes (records do not overlap)';
  if (subset.coalesceGapBytes !== null && !(subset.coalesceGapBytes >= 0))
    return 'coalesceGapBytes must be null (the core rule) or at least 0';
  return null;
}

const bytesPerGigabit = 1e9 / 8;
const gibibyte = 1024 ** 3;

/**
 * The core's limits for one instance of a type. Why each:
 * - CPU: one thread per vCPU, and decode and encode may each use all of them.
 * - Fetch streams: enough to fill the sustained NIC at the per-stream rate, times 1.5 for the
 *   time each request spends in latency rather than moving bytes, at least 4.
 * - Uploads: Parquet output is ~1/300 of the input (120 B/row, 30,000 rows per GiB), so a
 *   quarter of the fetch streams is plenty, at least 4.
 * - Memory: half the RAM; the rest is node's heap, zlib and the Parquet writer's state.
 * - Jobs: chunks of one job decode in order, so decode runs in parallel only across jobs; two
 *   jobs per vCPU keep every core busy while some jobs wait for fetches.
 * - Split decoding (`limits.splitDecode`, the worker's `--split-decode on`): the chunks of one
 *   file decode on every lane, as the core's rule says (core/split-decode.ts); as the worker
 *   does (cmd/worker/wiring.ts), only with two CPU lanes or more.
 */
export function limitsForInstance(type: InstanceType, scenario: Scenario): WorkerLimits {
  const nicBytesPerSecond = type.baselineGbps * bytesPerGigabit;
  const fetch = Math.min(
    256,
    Math.max(4, Math.ceil((1.5 * nicBytesPerSecond) / scenario.models.source.streamBytesPerSecond)),
  );
  const upload = Math.max(4, Math.ceil(fetch / 4));
  const overrides = scenario.limits;
  const limits = withLimits({
    cpuSlotsMax: type.vcpus,
    networkStreamsMax: fetch + upload,
    memoryBudgetBytes: Math.floor((type.memoryGibibytes * gibibyte) / 2),
    jobsActiveMax: 2 * type.vcpus,
    claimBatchMax: Math.max(1, type.vcpus),
    // As the worker states it for its schema (cmd/worker/wiring.ts), whatever the models produce.
    ...(scenario.models.schema.output === 'content' ? { decodeOutputRatio: contentDecodeOutputRatio } : {}),
    ...(scenario.subset !== null && { coalesceGapBytes: scenario.subset.coalesceGapBytes }),
    ...overrides,
    stageWorkersMax: { fetch, decode: type.vcpus, encode: type.vcpus, upload, commit: 4, ...overrides.stageWorkersMax },
    policy: scenario.policy,
    seed: scenario.seed,
  });
  return { ...limits, splitDecode: limits.splitDecode && limits.cpuSlotsMax >= 2 };
}

/** Sustained NIC bytes per second of an instance type. */
export function nicBytesPerSecond(type: InstanceType): number {
  return type.baselineGbps * bytesPerGigabit;
}
