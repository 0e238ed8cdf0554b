/**
 * The whole worker under simulation: each instance is the real core driven by the real node
 * runtime (cmd/worker/node-runtime.ts), as in production, over simulated ports on virtual
 * time. Only the outside world is a model: the ledger (sim/simulated-ledger-port.ts, held to
 * the real ledgers' contract suite), the object store (sim/simulated-sink.ts, S3's visibility
 * rules), the remote inputs (model-source.ts), the CPU threads (model-cpu.ts) and the time
 * every call takes (port-boundary.ts, the planner's models). Faults come from a seeded plan
 * (fault-plan.ts); the checkers (whole-worker-checks.ts) watch every step and the end state.
 *
 * Time: one event queue for all instances; the runtimes' timers, deferred turns and the ports'
 * sleeps are its events. Between two events every promise chain runs to its end (a macrotask
 * boundary drains the microtasks), and nothing reads a real clock, so a seed replays a run
 * exactly.
 */
import { NodeRuntime } from '../../cmd/worker/node-runtime.ts';
import type { Logger } from '../../cmd/worker/logger.ts';
import { assert } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { WorkerLimits } from '../../core/limits.ts';
import { EventQueue } from '../event-queue.ts';
import { findInstanceType } from '../instance-types.ts';
import { NetworkLink, RateCeiling } from '../network-models.ts';
import { randomStreams, uniform, type RandomStreams } from '../random-streams.ts';
import { limitsForInstance, nicBytesPerSecond, type Scenario } from '../scenario.ts';
import { SimulatedLedgerPort } from '../simulated-ledger-port.ts';
import { SimulatedSink } from '../simulated-sink.ts';
import type { FaultPlan } from './fault-plan.ts';
import { InstanceClock } from './instance-clock.ts';
import { ModelCpu } from './model-cpu.ts';
import { ModelSource } from './model-source.ts';
import { PortBoundary, type SharedWorld } from './port-boundary.ts';
import { WholeWorkerChecks } from './whole-worker-checks.ts';

export interface WholeWorkerOptions {
  /** Fleet, files, models and seed; every instance is simulated, every file (no sampling). */
  readonly scenario: Scenario;
  readonly plan: FaultPlan;
  /** Limits over the instance type's; the planner's `limitsForInstance` by default. */
  readonly limits?: Partial<WorkerLimits>;
  /** Brings back the old one-step commit in every runtime (see NodeRuntime's option). */
  readonly oneStepCommitForTests?: boolean;
}

export interface WholeWorkerResult {
  readonly seed: number;
  /** From the start until the ledger recorded the last job's end. */
  readonly makespanMs: number;
  readonly events: number;
  readonly crashes: number;
  readonly jobsDone: number;
  readonly jobsFailed: number;
  readonly violations: readonly string[];
}

const runId = 'whole-worker';
/** Events a run may take per file before it is declared stuck; generous, so only a livelock hits it. */
const eventsPerFileMax = 20_000;
const silentLogger: Logger = { log: () => undefined };

function outputKeyOf(input: InputRef): string {
  return `${input.filename}.parquet`;
}

/** The scenario's file sizes, drawn as the planner's simulation draws them (same stream, same order). */
function fileSizes(scenario: Scenario, random: RandomStreams): number[] {
  const spread = scenario.fileBytesSpread;
  return Array.from({ length: scenario.files }, () =>
    Math.round(scenario.fileBytes * (1 - spread + 2 * spread * uniform(random.workload))),
  );
}

/** Lets every promise chain started by the last event run to its end before the next event. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One instance: a worker that runs, may crash at a port call, and is restarted as a new worker. */
class SimulatedWorkerSlot {
  finished = false;
  crashes = 0;
  private lives = 0;

  constructor(
    private readonly index: number,
    private readonly world: SharedWorld,
    private readonly queue: EventQueue,
    private readonly limits: WorkerLimits,
    private readonly checks: WholeWorkerChecks,
    private readonly options: WholeWorkerOptions,
    private readonly links: { inbound: NetworkLink; outbound: NetworkLink },
  ) {}

  start(): void {
    this.lives += 1;
    const life = `worker-${this.index}.${this.lives}`;
    const clock = new InstanceClock(this.queue);
    const ports = new PortBoundary(this.world, clock, this.links, life, () => this.crash(clock, life));
    const tally = this.checks.newLife(this.index);
    const seed = Math.floor(uniform(this.world.random.coreSeeds) * 2 ** 31);
    const runtime = new NodeRuntime(
      {
        source: ports.source,
        sink: ports.sink,
        ledger: ports.ledger,
        cpu: new ModelCpu(this.limits.cpuSlotsMax, clock, this.world.models, this.world.random.cpu),
        emitMetrics: (snapshot) => ports.emitMetrics(snapshot),
        clock,
      },
      {
        runId,
        workerId: life,
        limits: { ...this.limits, seed },
        logger: silentLogger,
        // The simulation is where the core is proven: every step scans every job and task.
        invariantChecks: 'full',
        onStep: (state, inputs, commands, nowMs) => tally.onStep(state, inputs, commands, nowMs),
        oneStepCommitForTests: this.options.oneStepCommitForTests ?? false,
      },
    );
    void runtime.run().then(() => {
      if (clock.isAlive) this.finished = true;
    });
  }

  /** The process dies: its runtime never runs again, and a new one starts after the restart time. */
  private crash(clock: InstanceClock, life: string): boolean {
    const plan = this.world.plan;
    if (this.crashes >= plan.crashesPerInstanceMax || !clock.isAlive) return false;
    this.crashes += 1;
    clock.kill();
    this.checks.onCrash(life);
    this.queue.after(plan.restartMs, () => this.start());
    return true;
  }
}

export async function simulateWholeWorker(options: WholeWorkerOptions): Promise<WholeWorkerResult> {
  const { scenario, plan } = options;
  const type = findInstanceType(scenario.instanceType);
  assert(type !== undefined, `unknown instance type ${scenario.instanceType}`);
  const random = randomStreams(scenario.seed);
  const inputs = ModelSource.inputsOf(fileSizes(scenario, random));
  const limits: WorkerLimits = { ...limitsForInstance(type, scenario), ...options.limits };
  const queue = new EventQueue(eventsPerFileMax * scenario.files + 100_000);
  const models = scenario.models;
  const ledger = new SimulatedLedgerPort({
    outputKeyOf,
    clock: { nowMs: () => queue.nowMs },
    attemptsMax: models.ledger.jobAttemptsMax,
    retryBaseMs: models.ledger.jobRetryDelayMs,
  });
  await ledger.enqueue(runId, inputs);
  const checks = new WholeWorkerChecks(limits);
  const badInputs = new Set(inputs.slice(0, plan.badInputs).map((input) => input.uri));
  const world: SharedWorld = {
    runId,
    ledger,
    sink: new SimulatedSink({ partBytesMin: limits.partBytesMin }),
    source: new ModelSource(inputs),
    models,
    plan,
    random,
    sourceCeiling: new RateCeiling(models.source.requestsPerSecondMax),
    sinkCeiling: new RateCeiling(models.sink.requestsPerSecondMax),
    badInputs,
    onLedgerCompleted: (lease, nowMs) => checks.onLedgerCompleted(lease, nowMs),
    onUploadBegun: (uploadId, life) => checks.onUploadBegun(uploadId, life),
    onUploadEnded: (uploadId) => checks.onUploadEnded(uploadId),
  };
  const slots = Array.from({ length: scenario.instances }, (_, index) => {
    const links = {
      inbound: new NetworkLink(nicBytesPerSecond(type)),
      outbound: new NetworkLink(nicBytesPerSecond(type)),
    };
    return new SimulatedWorkerSlot(index, world, queue, limits, checks, options, links);
  });
  for (const slot of slots) queue.at(0, () => slot.start());
  const why = await runQueue(queue, () => slots.every((slot) => slot.finished), scenario.runBoundMs);
  const listing = await ledger.runListing(runId);
  await checks.atEnd({
    runId,
    ledger,
    sink: world.sink,
    inputs,
    badInputs,
    outputKeyOf,
    models,
    finished: why === 'finished',
    why,
  });
  return {
    seed: scenario.seed,
    makespanMs: listing?.lastFinishedMs ?? queue.nowMs,
    events: queue.eventsProcessed,
    crashes: slots.reduce((sum, slot) => sum + slot.crashes, 0),
    jobsDone: listing?.done ?? 0,
    jobsFailed: listing?.failed ?? 0,
    violations: checks.violations,
  };
}

/**
 * Takes events one at a time, letting the promises each one starts settle, until `done` or a
 * bound. An exception out of an event (a core invariant broken, a runtime bug) ends the run as
 * a violation with its seed, as a crash of the process would end the worker.
 */
async function runQueue(queue: EventQueue, done: () => boolean, runBoundMs: number): Promise<string> {
  for (;;) {
    await settle();
    if (done()) return 'finished';
    if (queue.nowMs > runBoundMs) return `still running at t=${queue.nowMs}ms, bound ${runBoundMs}ms`;
    let taken = false;
    let why: ReturnType<EventQueue['run']>;
    try {
      why = queue.run(() => {
        if (taken) return true;
        taken = true;
        return false;
      });
    } catch (error) {
      return `an event threw at t=${queue.nowMs}ms: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    }
    if (why === 'drained') return 'no event left while workers still run (a runtime waits on nothing)';
    if (why === 'event bound reached') return `the event bound was reached at t=${queue.nowMs}ms (a livelock?)`;
  }
}
