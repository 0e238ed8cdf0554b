/**
 * The whole-worker simulation's port boundary and clock, call by call: a ledger write whose
 * answer is lost has taken effect; an instance that dies at a call never hears from it again,
 * whether the call was made or not; a dead instance's timers never fire; a port call takes
 * its modelled time on the virtual clock.
 */
import { describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { EventQueue } from '../../sim/event-queue.ts';
import { defaultModels } from '../../sim/models.ts';
import { NetworkLink, RateCeiling } from '../../sim/network-models.ts';
import { randomStreams } from '../../sim/random-streams.ts';
import { SimulatedLedgerPort } from '../../sim/simulated-ledger-port.ts';
import { SimulatedSink } from '../../sim/simulated-sink.ts';
import { noFaults, type FaultPlan } from '../../sim/whole-worker/fault-plan.ts';
import { InstanceClock } from '../../sim/whole-worker/instance-clock.ts';
import { ModelSource } from '../../sim/whole-worker/model-source.ts';
import { PortBoundary, type SharedWorld } from '../../sim/whole-worker/port-boundary.ts';

const runId = 'ports';
const inputs = ModelSource.inputsOf([1_000_000]);

interface Rig {
  readonly queue: EventQueue;
  readonly clock: InstanceClock;
  readonly ports: PortBoundary;
  readonly ledger: SimulatedLedgerPort;
  /** Crashes the boundary asked for so far. */
  readonly crashes: () => number;
}

async function rig(plan: FaultPlan, seed = 1): Promise<Rig> {
  const queue = new EventQueue(10_000);
  const ledger = new SimulatedLedgerPort({
    outputKeyOf: (input) => input.filename,
    clock: { nowMs: () => queue.nowMs },
  });
  await ledger.enqueue(runId, inputs);
  const world: SharedWorld = {
    runId,
    ledger,
    sink: new SimulatedSink(),
    source: new ModelSource(inputs),
    models: defaultModels,
    plan,
    random: randomStreams(seed),
    sourceCeiling: new RateCeiling(1_000),
    sinkCeiling: new RateCeiling(1_000),
    badInputs: new Set(),
    onLedgerCompleted: () => undefined,
    onUploadBegun: () => undefined,
    onUploadEnded: () => undefined,
  };
  const clock = new InstanceClock(queue);
  const links = { inbound: new NetworkLink(1e9), outbound: new NetworkLink(1e9) };
  let crashes = 0;
  const ports = new PortBoundary(world, clock, links, 'worker-0.1', () => {
    crashes += 1;
    clock.kill();
    return true;
  });
  return { queue, clock, ports, ledger, crashes: () => crashes };
}

/** Runs every event, letting promises settle between them, as the simulation does. */
async function drain(queue: EventQueue): Promise<void> {
  for (let taken = 0; taken < 1_000; taken++) {
    await new Promise((resolve) => setImmediate(resolve));
    let ran = false;
    const why = queue.run(() => {
      if (ran) return true;
      ran = true;
      return false;
    });
    if (why === 'drained') return;
  }
}

/** What became of a call: its answer, its error, or nothing at all. */
function watch<T>(call: Promise<T>): { outcome: 'pending' | 'answered' | 'failed'; error?: unknown } {
  const seen: { outcome: 'pending' | 'answered' | 'failed'; error?: unknown } = { outcome: 'pending' };
  call.then(
    () => (seen.outcome = 'answered'),
    (error: unknown) => Object.assign(seen, { outcome: 'failed', error }),
  );
  return seen;
}

describe('port boundary', () => {
  test('a ledger write whose answer is lost has taken effect, and fails retryably', async () => {
    const { queue, ports, ledger } = await rig({ ...noFaults, writeThenFailRate: 1 });
    const claim = await ledger.claim(runId, 'worker-0.1', 1, 60_000);
    const lease = { jobId: 'job-0', attempt: claim.jobs[0]?.attempt ?? -1 };
    const seen = watch(
      ports.ledger.complete(runId, lease, {
        rows: 1,
        inputBytes: 1,
        outputBytes: 1,
        counters: { byType: {}, badByReason: {} },
      }),
    );
    await drain(queue);
    expect(seen.outcome).toBe('failed');
    expect(seen.error).toBeInstanceOf(FailureError);
    expect((seen.error as FailureError).failure).toMatchObject({ fault: 'remote', retryable: true });
    expect((await ledger.jobStatus(runId, 'job-0'))?.state).toBe('done');
  });

  test('an instance that dies at a call never hears from it; the call was made or not, by the draw', async () => {
    const landed = new Set<boolean>();
    for (let seed = 1; seed <= 12; seed++) {
      const { queue, ports, ledger, clock, crashes } = await rig(
        { ...noFaults, crashRate: 1, crashesPerInstanceMax: 1 },
        seed,
      );
      const seen = watch(ports.ledger.claim(runId, 'worker-0.1', 1, 60_000));
      await drain(queue);
      expect(seen.outcome).toBe('pending');
      expect(clock.isAlive).toBe(false);
      expect(crashes()).toBe(1);
      landed.add((await ledger.jobStatus(runId, 'job-0'))?.state === 'leased');
    }
    // Both kinds of death were drawn: before the claim (job still pending) and after it (leased, unheard).
    expect([...landed].sort()).toEqual([false, true]);
  });

  test('a dead instance makes no call and fires no timer', async () => {
    const { queue, ports, clock, ledger } = await rig(noFaults);
    let fired = false;
    clock.after(1_000, () => (fired = true));
    clock.kill();
    const seen = watch(ports.ledger.claim(runId, 'worker-0.1', 1, 60_000));
    await drain(queue);
    expect(fired).toBe(false);
    expect(seen.outcome).toBe('pending');
    expect((await ledger.jobStatus(runId, 'job-0'))?.state).toBe('pending');
  });

  test('a read takes its latency and its bytes over the stream, on the virtual clock', async () => {
    const { queue, ports } = await rig(noFaults);
    const seen = watch(ports.source.read(inputs[0]!, { offsetBytes: 0, lengthBytes: 880_000 }));
    await drain(queue);
    expect(seen.outcome).toBe('answered');
    // 880,000 bytes at 88 MB/s is 10 ms, on top of a latency of median 80 ms.
    expect(queue.nowMs).toBeGreaterThan(10);
    expect(queue.nowMs).toBeLessThan(10 + 80 * Math.exp(0.8 * 4));
  });
});
