import { assert } from '../core/failure.ts';
import type { WorkerLimits } from '../core/limits.ts';
import { coalesceGapBytesOf } from '../core/request-plan.ts';
import type { ByteRange } from '../core/source.ts';
import type { MetricsSnapshot } from '../core/metrics-snapshot.ts';
import { stages, type PerStage } from '../core/stage.ts';
import { Checkers } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import { findInstanceType, type InstanceType, s3PutClassDollarsPerRequest } from './instance-types.ts';
import { NetworkLink, RateCeiling } from './network-models.ts';
import { chance, exponential, randomStreams, uniform } from './random-streams.ts';
import { percentile, RunStatistics, type TimeSeries } from './run-statistics.ts';
import { limitsForInstance, nicBytesPerSecond, type Scenario } from './scenario.ts';
import { SimulatedInstance, type SimulationContext } from './simulated-instance.ts';
import { SimulatedLedger } from './simulated-ledger.ts';
import { drawPicks } from './subset-picks.ts';
import { SubsetTally, type SubsetTotals, type SubsetWorkUnit } from './subset-tally.ts';

/** Utilisation of each shared resource, 0–1: the highest is the bottleneck. */
export interface ResourceUtilization {
  readonly cpu: number;
  readonly networkIn: number;
  readonly networkOut: number;
  readonly sourceRequests: number;
  readonly sinkRequests: number;
  /** Each instance's own request-rate ceiling (limits.remoteRequestsPerSecondMax); 0 when there is none. */
  readonly sourceGovernor: number;
  readonly sinkGovernor: number;
}

export interface SimulationResult {
  readonly instances: number;
  readonly instanceType: string;
  readonly policy: string;
  readonly seed: number;
  readonly files: number;
  /** How the run was simulated: instances and files actually simulated. */
  readonly simulated: {
    readonly instances: number;
    readonly files: number;
    readonly events: number;
    readonly hours: number;
  };
  readonly makespanHours: number;
  readonly filesDone: number;
  readonly filesFailed: number;
  readonly filesPerHour: number;
  readonly gigabytesPerHour: number;
  /** Instance hours (on-demand, per-second billing) and the S3 requests on the output. */
  readonly costDollars: number;
  /** Of `costDollars`, the output's S3 requests (`s3PutClassDollarsPerRequest`). */
  readonly requestCostDollars: number;
  readonly bottleneck: string;
  readonly resourceUtilization: ResourceUtilization;
  /** Mean running tasks over the stage's cap. */
  readonly stageUtilization: PerStage<number>;
  /** Mean tasks waiting per instance. */
  readonly meanQueueDepth: PerStage<number>;
  readonly jobLatencySeconds: { readonly p50: number; readonly p99: number };
  readonly peakHeldBytes: number;
  readonly crashes: number;
  readonly jobsReclaimed: number;
  /**
   * Each instance's share of the source's fleet-wide request ceiling: as its
   * `--source-requests-per-second`, it keeps the fleet under that ceiling.
   */
  readonly sourceRequestsPerSecondShare: number;
  /** Requests of the simulated instances refused for being over the fleet-wide ceiling. */
  readonly throttled: { readonly source: number; readonly sink: number };
  /** Every 503 the simulated instances were answered: over the ceiling, or at random below it. */
  readonly slowDowns: { readonly source: number; readonly sink: number };
  readonly violations: readonly string[];
  readonly violationCount: number;
  readonly timeSeries: TimeSeries;
  /** A subset run's picks and requests, scaled to the crawl; null for whole files. */
  readonly subset: SubsetResult | null;
}

export interface SubsetResult extends SubsetTotals {
  /** Rows the committed jobs exported: every picked capture of a done job, once. */
  readonly capturesExported: number;
  /** The gap one request bridged: the core's rule (core/request-plan.ts) or the scenario's. */
  readonly coalesceGapBytes: number;
}

/** Hooks for tests and tools that want more than the summary. */
export interface SimulationObserver {
  /** Every metrics snapshot a worker emits, as the node runtime would log it. */
  readonly onSnapshot?: (instance: number, snapshot: MetricsSnapshot) => void;
  /** A worker's core said `finished` while `tasksInFlight` of its tasks were unanswered. */
  readonly onFinished?: (instance: number, tasksInFlight: number) => void;
}

/** Events a run may take per file before it is declared stuck; generous, so only a livelock hits it. */
const eventsPerFileMax = 2_000;
/** The same per picked capture of a subset: each may be a request of its own, with its retries. */
const eventsPerPickMax = 200;
/**
 * Picked captures a subset's sample simulates at most; its files are cut to hold about this
 * many (see subsetFilesMax), the rest extrapolated as for whole files. A sparse pick is a
 * request a capture, so this bounds the events: 100,000 runs in seconds.
 */
const subsetSampleCapturesMax = 100_000;

/**
 * What is simulated of the scenario. Two shortcuts keep a whole crawl fast (bench sim.ts
 * measures their error against full detail): at most `sampleInstancesMax` instances, each
 * with its share of the files (the fleet-wide request ceilings are scaled to the same share),
 * and at most `sampleFilesMax` files for them, the rest of the makespan extrapolated at the
 * rate measured in the sample's steady middle (see extrapolatedEndMs). `scale` turns counts
 * of the simulated files into counts of the scenario's.
 */
interface Sample {
  readonly instances: number;
  /** Files the sampled instances would get: their share of the crawl. */
  readonly shareFiles: number;
  /** Files actually simulated. */
  readonly files: number;
  readonly scale: number;
}

/**
 * Files of a subset's sample: about `subsetSampleCapturesMax` picks, but at least a claim's
 * worth of jobs on each instance, and enough for their read-ahead (`fetchAheadChunksMax`
 * requests a job) to fill its fetch streams, as a crawl's many jobs do: a dense pick coalesced
 * into whole chunks is then as stream-bound in the sample as in the crawl. A dense pick of one
 * request a capture then simulates every request of those files: minutes. Whole files: no
 * bound here.
 */
function subsetFilesMax(scenario: Scenario, limits: WorkerLimits, instances: number): number {
  if (scenario.subset === null) return Infinity;
  // A claim takes up to `claimBatchMax` jobs: fewer jobs an instance leave the sample's last
  // instances none (56 files on 8 instances claiming 16 each kept four idle: 2.3× the time).
  const jobsPerInstance = Math.max(
    2,
    limits.claimBatchMax,
    Math.ceil(limits.stageWorkersMax.fetch / limits.fetchAheadChunksMax),
  );
  return Math.max(
    jobsPerInstance * instances,
    Math.ceil((subsetSampleCapturesMax * scenario.files) / scenario.subset.captures),
  );
}

function sampleOf(scenario: Scenario, limits: WorkerLimits): Sample {
  const sampled = scenario.sampleInstancesMax > 0 && scenario.instances > scenario.sampleInstancesMax;
  const instances = sampled ? scenario.sampleInstancesMax : scenario.instances;
  const shareFiles = sampled
    ? Math.max(1, Math.round((scenario.files * instances) / scenario.instances))
    : scenario.files;
  const filesMax = Math.max(scenario.sampleFilesMax, 10 * instances);
  const files =
    scenario.sampleFilesMax > 0
      ? Math.min(shareFiles, filesMax, subsetFilesMax(scenario, limits, instances))
      : shareFiles;
  return { instances, shareFiles, files, scale: scenario.files / files };
}

/**
 * A subset's jobs are not alike (a skewed pick puts thousands of picks in a few files and one
 * in most), so the rate of jobs ended says little of the work left (a skewed pick of 2
 * million captures came out at 0.94 h by it, below the 1.7 h its requests take at the
 * ceiling), and scaling the whole sample scales its ramp and tail too (+31% on 10 million
 * captures from S3). The work is what the binding resource spends (`unit`): the sample's rate
 * of it from when a tenth of it was done until the queue ran dry (every instance busy), over
 * the work of the files not simulated. Counted in picks whatever bound, a skewed pick's rate
 * depended on which jobs the window held (a heavy job coalesces thousands of picks into a few
 * requests); measured to 90% of the sample's time, it took in the sample's drain: 10 million
 * captures from S3 came out 30% above their requests at CommonCrawl's ceiling, from a sample of
 * 78 s whose queue ran dry at 47 s.
 */
function subsetExtrapolatedEndMs(
  tally: SubsetTally,
  endMs: number,
  sample: Sample,
  unit: SubsetWorkUnit,
  drainedAtMs: number | null,
): number {
  const fromMs = tally.decodedShareAtMs(unit, 0.1);
  const toMs = drainedAtMs !== null && drainedAtMs > fromMs ? drainedAtMs : 0.9 * endMs;
  const work = tally.decodedBetween(unit, fromMs, toMs);
  if (work <= 0 || toMs <= fromMs) return endMs * (sample.shareFiles / sample.files);
  const totals = tally.totals();
  const total = unit === 'picks' ? totals.captures : unit === 'requests' ? totals.requests : totals.bytesFetched;
  const left = total * (sample.shareFiles / sample.files - 1);
  return endMs + (left * (toMs - fromMs)) / work;
}

/** A subset's work in what the most utilised resource spends: picks on CPU, bytes on the network, else requests. */
function subsetWorkUnitOf(utilization: ResourceUtilization): SubsetWorkUnit {
  const most = mostUtilised(utilization);
  return most === 'cpu' ? 'picks' : most === 'networkIn' ? 'bytes' : 'requests';
}

/**
 * The sample's end, plus the time its instances would take for the files not simulated, at
 * the rate they committed files between 10% and 90% of the sample (past the ramp-up, before
 * the tail): more files only lengthen that steady middle.
 */
function extrapolatedEndMs(
  ledger: SimulatedLedger,
  endMs: number,
  sample: Sample,
  tally: SubsetTally | null,
  utilization: ResourceUtilization,
): number {
  if (sample.shareFiles <= sample.files) return endMs;
  if (tally !== null)
    return subsetExtrapolatedEndMs(tally, endMs, sample, subsetWorkUnitOf(utilization), ledger.drainedAtMs);
  const ends = ledger.jobs
    .filter((job) => job.status === 'done')
    .map((job) => job.endedAtMs)
    .sort((a, b) => a - b);
  const low = Math.floor(0.1 * ends.length);
  const high = Math.floor(0.9 * ends.length);
  const spanMs = (ends[high] ?? 0) - (ends[low] ?? 0);
  if (high <= low || spanMs <= 0) return endMs * (sample.shareFiles / sample.files);
  return endMs + ((sample.shareFiles - sample.files) * spanMs) / (high - low);
}

function fileSizes(scenario: Scenario, files: number, random: SimulationContext['random']): number[] {
  const spread = scenario.fileBytesSpread;
  return Array.from({ length: files }, () =>
    Math.round(scenario.fileBytes * (1 - spread + 2 * spread * uniform(random.workload))),
  );
}

/**
 * The jobs of the sample: a file each, or for a subset the files the draw picked captures of
 * (the sample's share of them), each with its picks; a file without a pick is no job, as an
 * index names only the files it picked from.
 */
function workloadOf(
  scenario: Scenario,
  sample: Sample,
  random: SimulationContext['random'],
): { sizes: number[]; picks: ByteRange[][] | null } {
  const sizes = fileSizes(scenario, sample.files, random);
  const subset = scenario.subset;
  if (subset === null) return { sizes, picks: null };
  const captures = subset.captures * (sample.files / scenario.files);
  const drawn = drawPicks(captures, sizes, subset, random.workload, scenario.files);
  const kept = drawn.flatMap((picks, index) => (picks.length > 0 ? [index] : []));
  return { sizes: kept.map((index) => sizes[index] ?? 0), picks: kept.map((index) => drawn[index] ?? []) };
}

/**
 * Runs one scenario: a fleet of instances, each its own core, sharing one ledger, the
 * source's and sink's request ceilings, and one clock. Deterministic: everything random
 * comes from the scenario's seed, and nothing reads a real clock.
 */
export function simulate(scenario: Scenario, observer: SimulationObserver = {}): SimulationResult {
  const type = findInstanceType(scenario.instanceType);
  assert(type !== undefined, `unknown instance type ${scenario.instanceType}`);
  const limits = limitsForInstance(type, scenario);
  const sample = sampleOf(scenario, limits);
  const random = randomStreams(scenario.seed);
  const workload = workloadOf(scenario, sample, random);
  const models = scenario.models;
  const picks = workload.picks?.reduce((sum, filePicks) => sum + filePicks.length, 0) ?? 0;
  const queue = new EventQueue(eventsPerFileMax * sample.files + eventsPerPickMax * picks + 100_000);
  const ledger = new SimulatedLedger(workload.sizes, models.ledger, workload.picks);
  const badJobs = new Set(
    ledger.jobs.filter(() => chance(random.workload, models.data.badInputRate)).map((job) => job.jobId),
  );
  const fleetShare = sample.instances / scenario.instances;
  let finishedCount = 0;
  const context: SimulationContext = {
    queue,
    ledger,
    models,
    random,
    badJobs,
    limits,
    invariantChecks: scenario.invariantChecks ?? 'full',
    subsetTally:
      workload.picks === null
        ? null
        : new SubsetTally(new Map(ledger.jobs.map((job) => [job.jobId, job.picks ?? []] as const))),
    sourceCeiling: new RateCeiling(models.source.requestsPerSecondMax * fleetShare),
    sinkCeiling: new RateCeiling(models.sink.requestsPerSecondMax * fleetShare),
    checkers: new Checkers(limits),
    statistics: new RunStatistics(),
    onSnapshot: observer.onSnapshot ?? (() => {}),
    onFinishedWithTasks: observer.onFinished ?? (() => {}),
    onFinished: () => {
      finishedCount += 1;
    },
  };
  const instances = Array.from(
    { length: sample.instances },
    (_, index) =>
      new SimulatedInstance(
        index,
        context,
        new NetworkLink(nicBytesPerSecond(type)),
        new NetworkLink(nicBytesPerSecond(type)),
      ),
  );
  for (const instance of instances) {
    queue.at(0, () => instance.start());
    scheduleCrash(context, instance);
  }
  const why = queue.run(() => finishedCount === instances.length);
  const endMs = lastEndMs(ledger, queue.nowMs);
  context.checkers.atEnd(ledger, {
    endMs,
    finished: why === 'stopped',
    why,
    jobEndBoundMs: scenario.jobEndBoundMs,
    runBoundMs: scenario.runBoundMs,
  });
  return summarize({ scenario, type, sample, context, instances, endMs });
}

/** Crashes come as a Poisson process per instance, while there is work left. */
function scheduleCrash(context: SimulationContext, instance: SimulatedInstance): void {
  const model = context.models.crash;
  if (model.crashesPerInstanceHour <= 0) return;
  const gapMs = exponential(context.random.crashes, 3_600_000 / model.crashesPerInstanceHour);
  context.queue.after(gapMs, () => {
    if (instance.finished || context.ledger.allEnded) return;
    instance.crash();
    context.queue.after(model.restartMs, () => {
      instance.start();
      scheduleCrash(context, instance);
    });
  });
}

/** When the last job ended: the work is done then, whatever the idle workers do after. */
function lastEndMs(ledger: SimulatedLedger, fallbackMs: number): number {
  let endMs = 0;
  for (const job of ledger.jobs) endMs = Math.max(endMs, job.endedAtMs);
  return ledger.allEnded ? endMs : fallbackMs;
}

interface SummaryParts {
  readonly scenario: Scenario;
  readonly type: InstanceType;
  readonly sample: Sample;
  readonly context: SimulationContext;
  readonly instances: readonly SimulatedInstance[];
  readonly endMs: number;
}

function summarize(parts: SummaryParts): SimulationResult {
  const { scenario, type, sample, context, instances, endMs } = parts;
  const { ledger, statistics, limits } = context;
  const done = ledger.jobs.filter((job) => job.status === 'done');
  const latencies = done.map((job) => (job.endedAtMs - job.firstClaimAtMs) / 1000).sort((a, b) => a - b);
  // A subset moves the bytes of its requests, not of its files.
  const bytesDone =
    (context.subsetTally?.totals().bytesFetched ?? done.reduce((sum, job) => sum + job.sizeBytes, 0)) * sample.scale;
  const requestCostDollars = context.sinkCeiling.accepted * sample.scale * s3PutClassDollarsPerRequest;
  const instanceMs = Math.max(endMs, 1) * sample.instances;
  const stageUtilization = mapStages(
    (stage) => statistics.activeAreaMs[stage] / (limits.stageWorkersMax[stage] * instanceMs),
  );
  const nicBytes = nicBytesPerSecond(type) * (instanceMs / 1000);
  const resourceUtilization: ResourceUtilization = {
    cpu: (statistics.activeAreaMs.decode + statistics.activeAreaMs.encode) / (limits.cpuSlotsMax * instanceMs),
    networkIn: instances.reduce((sum, instance) => sum + instance.inbound.bytesCarried, 0) / nicBytes,
    networkOut: instances.reduce((sum, instance) => sum + instance.outbound.bytesCarried, 0) / nicBytes,
    sourceRequests: context.sourceCeiling.accepted / (context.sourceCeiling.requestsPerSecond * (endMs / 1000) || 1),
    sinkRequests: context.sinkCeiling.accepted / (context.sinkCeiling.requestsPerSecond * (endMs / 1000) || 1),
    sourceGovernor: governorUtilization(context.sourceCeiling, limits.remoteRequestsPerSecondMax.source, instanceMs),
    sinkGovernor: governorUtilization(context.sinkCeiling, limits.remoteRequestsPerSecondMax.sink, instanceMs),
  };
  const hours =
    Math.max(extrapolatedEndMs(ledger, endMs, sample, context.subsetTally, resourceUtilization), 1) / 3_600_000;
  return {
    instances: scenario.instances,
    instanceType: scenario.instanceType,
    policy: scenario.policy,
    seed: scenario.seed,
    files: scenario.files,
    simulated: {
      instances: sample.instances,
      files: sample.files,
      events: context.queue.eventsProcessed,
      hours: endMs / 3_600_000,
    },
    makespanHours: hours,
    filesDone: Math.round(done.length * sample.scale),
    filesFailed: Math.round((ledger.jobs.length - done.length) * sample.scale),
    filesPerHour: (done.length * sample.scale) / hours,
    gigabytesPerHour: bytesDone / 1e9 / hours,
    costDollars: scenario.instances * type.dollarsPerHour * hours + requestCostDollars,
    requestCostDollars,
    bottleneck: bottleneckOf(resourceUtilization, statistics.activeAreaMs),
    resourceUtilization,
    stageUtilization,
    meanQueueDepth: mapStages((stage) => statistics.queueAreaMs[stage] / instanceMs),
    jobLatencySeconds: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    peakHeldBytes: statistics.peakHeldBytes,
    crashes: instances.reduce((sum, instance) => sum + instance.crashes, 0),
    jobsReclaimed: ledger.reclaimed,
    sourceRequestsPerSecondShare: scenario.models.source.requestsPerSecondMax / scenario.instances,
    throttled: { source: context.sourceCeiling.refused, sink: context.sinkCeiling.refused },
    slowDowns: {
      source: context.sourceCeiling.refused + context.sourceCeiling.refusedAtRandom,
      sink: context.sinkCeiling.refused + context.sinkCeiling.refusedAtRandom,
    },
    violations: context.checkers.violations,
    violationCount: context.checkers.violationCount,
    timeSeries: statistics.timeSeries(sample.instances, scenario.instances / sample.instances, endMs),
    subset: subsetResultOf(context, sample.scale),
  };
}

/** A subset run's figures, scaled from the sample to the crawl. */
function subsetResultOf(context: SimulationContext, scale: number): SubsetResult | null {
  const tally = context.subsetTally;
  if (tally === null) return null;
  const totals = tally.totals();
  const exported = context.ledger.jobs.reduce((sum, job) => sum + (job.status === 'done' ? job.exportedRows : 0), 0);
  return {
    captures: Math.round(totals.captures * scale),
    requests: Math.round(totals.requests * scale),
    requestsSent: Math.round(totals.requestsSent * scale),
    bytesPicked: totals.bytesPicked * scale,
    bytesFetched: totals.bytesFetched * scale,
    capturesExported: Math.round(exported * scale),
    coalesceGapBytes: context.limits.coalesceGapBytes ?? coalesceGapBytesOf(context.limits),
  };
}

const resourceNames: Record<keyof ResourceUtilization, string> = {
  cpu: 'CPU',
  networkIn: 'fetch (instance network in)',
  networkOut: 'upload (instance network out)',
  sourceRequests: 'fetch (CommonCrawl request-rate ceiling)',
  sinkRequests: 'upload (S3 PUT rate per prefix)',
  sourceGovernor: "fetch (each worker's source request rate, --source-requests-per-second)",
  sinkGovernor: "upload (each worker's sink request rate)",
};

/** What a resource is called in `bottleneck`. */
export function resourceName(resource: keyof ResourceUtilization): string {
  return resourceNames[resource];
}

/**
 * Requests the sample's instances sent a remote (accepted or refused: each spent a token of
 * its instance's governor) against what their governors allow over the run.
 */
function governorUtilization(ceiling: RateCeiling, perSecond: number | null, instanceMs: number): number {
  if (perSecond === null) return 0;
  return (ceiling.accepted + ceiling.refused) / (perSecond * (instanceMs / 1000));
}

function mostUtilised(utilization: ResourceUtilization): keyof ResourceUtilization {
  let best: keyof ResourceUtilization = 'cpu';
  for (const key of Object.keys(resourceNames) as (keyof ResourceUtilization)[]) {
    if (utilization[key] > utilization[best]) best = key;
  }
  return best;
}

/** The most utilised resource, named by the stage it limits. */
function bottleneckOf(utilization: ResourceUtilization, activeAreaMs: PerStage<number>): string {
  const best = mostUtilised(utilization);
  const percent = `${Math.round(utilization[best] * 100)}%`;
  if (best !== 'cpu') return `${resourceNames[best]}, ${percent}`;
  const stage = activeAreaMs.decode >= activeAreaMs.encode ? 'decode' : 'encode';
  return `${stage} (CPU), ${percent}`;
}

function mapStages<T>(make: (stage: (typeof stages)[number]) => T): PerStage<T> {
  return {
    fetch: make('fetch'),
    decode: make('decode'),
    encode: make('encode'),
    upload: make('upload'),
    commit: make('commit'),
  };
}
