import { at } from '../core/checked-access.ts';
import { assert } from '../core/failure.ts';
import { EventQueue } from './event-queue.ts';
import { exponential, randomStreams } from './random-streams.ts';

/**
 * A tandem queueing network on the simulator's own event queue and random streams: stage i
 * has `servers[i]` servers with exponential service of mean `meanServiceMs[i]`, FIFO queues
 * of unbounded length between stages. It is the textbook system whose answers are known
 * (the bottleneck bound, Little's law, Erlang C), so the oracle tests check the simulator's
 * clock, heap and distributions against queueing theory.
 */
export interface TandemOptions {
  readonly servers: readonly number[];
  readonly meanServiceMs: readonly number[];
  /** Poisson arrivals at this rate, or `saturated`: stage 0 always has work waiting. */
  readonly arrivalsPerMs: number | 'saturated';
  /** Jobs let in; then arrivals stop and the network drains. */
  readonly jobs: number;
  readonly seed: number;
}

export interface StageMeasures {
  /** Time-average jobs at the stage, waiting or in service. */
  readonly meanJobs: number;
  readonly arrivalsPerMs: number;
  /** Mean time from arriving at the stage to leaving it. */
  readonly meanSojournMs: number;
  /** Mean time waiting for a server. */
  readonly meanWaitMs: number;
}

export interface TandemMeasures {
  readonly throughputPerMs: number;
  readonly stages: readonly StageMeasures[];
  readonly endMs: number;
}

interface StageState {
  readonly waiting: { arrivedMs: number }[];
  waitingHead: number;
  busy: number;
  jobsHere: number;
  areaMs: number;
  lastChangeMs: number;
  arrivals: number;
  departures: number;
  sojournMs: number;
  waitMs: number;
}

export function simulateTandem(options: TandemOptions): TandemMeasures {
  assert(
    options.servers.length === options.meanServiceMs.length && options.servers.length > 0,
    'one service time per stage',
  );
  const random = randomStreams(options.seed);
  const queue = new EventQueue(options.jobs * options.servers.length * 3 + 1_000);
  const stages: StageState[] = options.servers.map(() => ({
    waiting: [],
    waitingHead: 0,
    busy: 0,
    jobsHere: 0,
    areaMs: 0,
    lastChangeMs: 0,
    arrivals: 0,
    departures: 0,
    sojournMs: 0,
    waitMs: 0,
  }));
  let admitted = 0;
  let completed = 0;
  let firstCompletionMs = -1;
  const touch = (stage: StageState, delta: number): void => {
    stage.areaMs += stage.jobsHere * (queue.nowMs - stage.lastChangeMs);
    stage.lastChangeMs = queue.nowMs;
    stage.jobsHere += delta;
  };
  const startService = (index: number, arrivedMs: number): void => {
    const stage = at(stages, index);
    stage.busy += 1;
    stage.waitMs += queue.nowMs - arrivedMs;
    queue.after(exponential(random.cpu, at(options.meanServiceMs, index)), () => finishService(index, arrivedMs));
  };
  const arrive = (index: number): void => {
    const stage = at(stages, index);
    touch(stage, 1);
    stage.arrivals += 1;
    if (stage.busy < at(options.servers, index)) startService(index, queue.nowMs);
    else stage.waiting.push({ arrivedMs: queue.nowMs });
  };
  const admit = (): void => {
    if (admitted >= options.jobs) return;
    admitted += 1;
    arrive(0);
  };
  const finishService = (index: number, arrivedMs: number): void => {
    const stage = at(stages, index);
    stage.busy -= 1;
    touch(stage, -1);
    stage.departures += 1;
    stage.sojournMs += queue.nowMs - arrivedMs;
    if (index + 1 < stages.length) arrive(index + 1);
    else {
      completed += 1;
      if (firstCompletionMs < 0) firstCompletionMs = queue.nowMs;
    }
    if (stage.waitingHead < stage.waiting.length) startService(index, at(stage.waiting, stage.waitingHead++).arrivedMs);
    else if (index === 0 && options.arrivalsPerMs === 'saturated') admit();
  };
  if (options.arrivalsPerMs === 'saturated') {
    for (let server = 0; server < at(options.servers, 0); server++) admit();
  } else {
    const rate = options.arrivalsPerMs;
    const next = (): void => {
      admit();
      if (admitted < options.jobs) queue.after(exponential(random.fetch, 1 / rate), next);
    };
    queue.at(0, next);
  }
  const saturatedStop = (): boolean => options.arrivalsPerMs === 'saturated' && admitted >= options.jobs;
  queue.run(saturatedStop);
  for (const stage of stages) touch(stage, 0);
  const endMs = queue.nowMs;
  // Saturated runs measure the steady rate after the pipeline filled, up to the last admission.
  const throughputPerMs =
    options.arrivalsPerMs === 'saturated' ? completed / (endMs - firstCompletionMs) : completed / endMs;
  return {
    throughputPerMs,
    endMs,
    stages: stages.map((stage) => ({
      meanJobs: stage.areaMs / endMs,
      arrivalsPerMs: stage.arrivals / endMs,
      meanSojournMs: stage.sojournMs / Math.max(1, stage.departures),
      meanWaitMs: stage.waitMs / Math.max(1, stage.departures),
    })),
  };
}

/** Erlang C: the probability an arrival waits in an M/M/c queue with offered load a = λ/μ. */
export function erlangC(servers: number, offeredLoad: number): number {
  assert(offeredLoad < servers, 'Erlang C needs a stable queue: λ/μ < c');
  let term = 1;
  let sum = 1;
  for (let k = 1; k < servers; k++) {
    term *= offeredLoad / k;
    sum += term;
  }
  const last = (term * offeredLoad) / servers;
  const waitTerm = last * (servers / (servers - offeredLoad));
  return waitTerm / (sum + waitTerm);
}
