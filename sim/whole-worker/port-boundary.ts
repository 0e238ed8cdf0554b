/**
 * The ports of one life of a simulated worker, as the node runtime sees them: the shared
 * simulated ledger, sink and source behind a boundary that adds what the network adds. Every
 * call takes its modelled time on the instance's clock (latency, the instance's NIC, the
 * remote's request ceiling) and may meet the fault plan: an error before the call, throttling,
 * a ledger write that lands and loses its answer, a latency spike, or the instance dying just
 * before or just after the call. A dead instance's calls never answer.
 */
import { FailureError, inputFault, remoteFault } from '../../core/failure.ts';
import type { InputRef, Lease } from '../../core/input-ref.ts';
import type { JobResult, Ledger, WorkerProgress } from '../../core/ledger.ts';
import { piecesLength, type PartReceipt, type Sink, type UploadHandle } from '../../core/sink.ts';
import type { ByteRange, Source } from '../../core/source.ts';
import type { Failure } from '../../core/failure.ts';
import type { MetricsSnapshot } from '../../core/metrics-snapshot.ts';
import type { Models, TransferModel } from '../models.ts';
import type { NetworkLink, RateCeiling } from '../network-models.ts';
import { chance, lognormal, uniform, type RandomStreams } from '../random-streams.ts';
import type { SimulatedLedgerPort } from '../simulated-ledger-port.ts';
import type { SimulatedSink } from '../simulated-sink.ts';
import type { FaultPlan } from './fault-plan.ts';
import type { InstanceClock } from './instance-clock.ts';

/** What the instances of one whole-worker simulation share. */
export interface SharedWorld {
  readonly runId: string;
  readonly ledger: SimulatedLedgerPort;
  readonly sink: SimulatedSink;
  readonly source: Source;
  readonly models: Models;
  readonly plan: FaultPlan;
  readonly random: RandomStreams;
  readonly sourceCeiling: RateCeiling;
  readonly sinkCeiling: RateCeiling;
  /** URIs of inputs every read of which fails. */
  readonly badInputs: ReadonlySet<string>;
  /** The ledger accepted a completion (its answer may still be lost). */
  readonly onLedgerCompleted: (lease: Lease, nowMs: number) => void;
  /** An upload began for this life: uploads left open by lives that did not crash are leaks. */
  readonly onUploadBegun: (uploadId: string, life: string) => void;
  readonly onUploadEnded: (uploadId: string) => void;
}

/** The draws one call makes, all at once, so that every call moves the streams alike whatever happens. */
interface CallDraws {
  readonly crash: 'before' | 'after' | null;
  readonly error: boolean;
  readonly throttle: boolean;
  readonly writeLost: boolean;
  readonly spikeMs: number;
}

export interface InstanceLinks {
  readonly inbound: NetworkLink;
  readonly outbound: NetworkLink;
}

export class PortBoundary {
  readonly source: Source;
  readonly sink: Sink;
  readonly ledger: Ledger;
  /** Snapshots go nowhere: what matters here is that emitting one may fail, or be where the instance dies. */
  readonly emitMetrics: (snapshot: MetricsSnapshot) => Promise<void>;

  constructor(
    private readonly world: SharedWorld,
    private readonly clock: InstanceClock,
    private readonly links: InstanceLinks,
    readonly life: string,
    /** Kills this life; false when the instance may crash no more. */
    private readonly crash: () => boolean,
  ) {
    this.source = this.boundSource();
    this.sink = this.boundSink();
    this.ledger = this.boundLedger();
    // A metrics client buffers and sends in the background: the call itself costs no modelled time.
    this.emitMetrics = () => this.call({ write: false, throttles: true }, 0, null, async () => undefined);
  }

  private draws(): CallDraws {
    const { random, plan } = this.world;
    const crashes = chance(random.crashes, plan.crashRate);
    const crashBefore = uniform(random.crashes) < 0.5;
    return {
      crash: crashes ? (crashBefore ? 'before' : 'after') : null,
      error: chance(random.faults, plan.errorRate),
      throttle: chance(random.faults, plan.throttleRate),
      writeLost: chance(random.faults, plan.writeThenFailRate),
      spikeMs: chance(random.faults, plan.latencySpikeRate) ? plan.latencySpikeMs : 0,
    };
  }

  /**
   * One call across the boundary: `waitMs` of time before the call reaches the remote (with
   * `failure` instead, if the remote refuses it), then `body` on the remote's side, then the
   * answer, unless the instance dies meanwhile.
   */
  private async call<T>(
    what: { readonly write: boolean; readonly throttles: boolean },
    waitMs: number,
    failure: Failure | null,
    body: () => Promise<T>,
  ): Promise<T> {
    const clock = this.clock;
    if (!clock.isAlive) return clock.never();
    const draws = this.draws();
    if (draws.crash === 'before' && this.crash()) return clock.never();
    await clock.sleep(waitMs + draws.spikeMs);
    if (failure !== null) throw new FailureError(failure);
    if (draws.error) throw new FailureError(remoteFault('connection reset before the request was sent'));
    if (what.throttles && draws.throttle) throw new FailureError(remoteFault('503 SlowDown', { throttled: true }));
    const answer = await body();
    if (!clock.isAlive) return clock.never();
    if (draws.crash === 'after' && this.crash()) return clock.never();
    if (what.write && draws.writeLost) throw new FailureError(remoteFault('connection lost after COMMIT'));
    return answer;
  }

  private latencyMs(model: { latencyMedianMs: number; latencySigma: number }, stream: 'fetch' | 'upload'): number {
    return lognormal(this.world.random[stream], model.latencyMedianMs, model.latencySigma);
  }

  private ledgerLatencyMs(): number {
    const model = this.world.models.ledger;
    return lognormal(this.world.random.ledger, model.callLatencyMedianMs, model.callLatencySigma);
  }

  /** A ledger call fails as the model says, before it reaches the ledger. */
  private ledgerRefusal(): Failure | null {
    return chance(this.world.random.ledger, this.world.models.ledger.callFailureRate)
      ? remoteFault('ledger unavailable')
      : null;
  }

  /**
   * A request moving `bytes` as the planner's instance model moves them (simulated-instance.ts
   * `transfer`): after its latency the remote's ceiling and the model's 503s and timeouts may
   * refuse it; otherwise it ends when its bytes have passed its stream and the NIC.
   */
  private transferTiming(
    model: TransferModel,
    ceiling: RateCeiling,
    link: NetworkLink,
    bytes: number,
  ): { waitMs: number; failure: Failure | null } {
    const nowMs = this.clock.nowMs();
    const latencyMs = this.latencyMs(model, link === this.links.inbound ? 'fetch' : 'upload');
    const roll = uniform(this.world.random.faults);
    if (!ceiling.admit(nowMs))
      return { waitMs: latencyMs, failure: remoteFault('503 SlowDown: request-rate ceiling', { throttled: true }) };
    if (roll < model.slowDownRate)
      return { waitMs: latencyMs, failure: remoteFault('503 SlowDown', { throttled: true }) };
    if (roll < model.slowDownRate + model.timeoutRate)
      return { waitMs: model.timeoutMs, failure: remoteFault('request timed out') };
    const aloneEndMs = nowMs + latencyMs + (bytes / model.streamBytesPerSecond) * 1000;
    return { waitMs: link.transferEndMs(nowMs + latencyMs, bytes, aloneEndMs) - nowMs, failure: null };
  }

  private boundSource(): Source {
    const { world } = this;
    const request = { write: false, throttles: true };
    return {
      list: (spec, signal) => world.source.list(spec, signal),
      sizeOf: (input, signal) => {
        const latencyMs = this.latencyMs(world.models.source, 'fetch');
        return this.call(request, latencyMs, this.badInput(input), () => world.source.sizeOf(input, signal));
      },
      read: (input: InputRef, range: ByteRange, signal?: AbortSignal) => {
        const { models, sourceCeiling } = world;
        const timing = this.transferTiming(models.source, sourceCeiling, this.links.inbound, range.lengthBytes);
        const failure = this.badInput(input) ?? timing.failure;
        return this.call(request, timing.waitMs, failure, () => world.source.read(input, range, signal));
      },
    };
  }

  private badInput(input: InputRef): Failure | null {
    return this.world.badInputs.has(input.uri) ? inputFault('not a WARC file') : null;
  }

  private boundSink(): Sink {
    const { world } = this;
    const request = { write: false, throttles: true };
    return {
      begin: (key: string, signal?: AbortSignal) =>
        this.call(request, this.latencyMs(world.models.sink, 'upload'), null, async () => {
          const handle = await world.sink.begin(key, signal);
          world.onUploadBegun(handle.uploadId, this.life);
          return handle;
        }),
      // CreateMultipartUpload: one request on the sink's ceiling and faults, no bytes on the link.
      start: (handle: UploadHandle, signal?: AbortSignal) => {
        const timing = this.transferTiming(world.models.sink, world.sinkCeiling, this.links.outbound, 0);
        return this.call(request, timing.waitMs, timing.failure, () => world.sink.start(handle, signal));
      },
      uploadPart: (handle: UploadHandle, partNumber: number, pieces: readonly Uint8Array[], signal?: AbortSignal) => {
        const { models, sinkCeiling } = world;
        const timing = this.transferTiming(models.sink, sinkCeiling, this.links.outbound, piecesLength(pieces));
        return this.call(request, timing.waitMs, timing.failure, () =>
          world.sink.uploadPart(handle, partNumber, pieces, signal),
        );
      },
      complete: (handle: UploadHandle, parts: readonly PartReceipt[], signal?: AbortSignal) => {
        const model = world.models.ledger;
        const waitMs = lognormal(world.random.ledger, model.commitLatencyMedianMs, model.commitLatencySigma);
        const failed = chance(world.random.faults, model.commitFailureRate);
        const failure = failed ? remoteFault('CompleteMultipartUpload: 500 InternalError') : null;
        return this.call(request, waitMs, failure, async () => {
          await world.sink.complete(handle, parts, signal);
          world.onUploadEnded(handle.uploadId);
        });
      },
      // Never faulted: an abort that failed would leave an upload the checker cannot tell from a leak.
      abort: async (handle: UploadHandle) => {
        if (!this.clock.isAlive) return this.clock.never();
        await this.clock.sleep(this.latencyMs(world.models.sink, 'upload'));
        await world.sink.abort(handle);
        world.onUploadEnded(handle.uploadId);
      },
    };
  }

  private boundLedger(): Ledger {
    const { world } = this;
    const ledger = world.ledger;
    const read = { write: false, throttles: false };
    const write = { write: true, throttles: false };
    const ledgerCall = <T>(kind: typeof read, body: () => Promise<T>): Promise<T> =>
      this.call(kind, this.ledgerLatencyMs(), this.ledgerRefusal(), body);
    return {
      enqueue: (runId, inputs, origin) => ledgerCall(write, () => ledger.enqueue(runId, inputs, origin)),
      claim: (runId, workerId, count, leaseMs) =>
        ledgerCall(write, () => ledger.claim(runId, workerId, count, leaseMs)),
      heartbeat: (runId, workerId, leases, leaseMs) =>
        ledgerCall(write, () => ledger.heartbeat(runId, workerId, leases, leaseMs)),
      complete: (runId: string, lease: Lease, result: JobResult) =>
        ledgerCall(write, async () => {
          const accepted = await ledger.complete(runId, lease, result);
          if (accepted) world.onLedgerCompleted(lease, this.clock.nowMs());
          return accepted;
        }),
      fail: (runId, lease, failure) => ledgerCall(write, () => ledger.fail(runId, lease, failure)),
      release: (runId, lease) => ledgerCall(write, () => ledger.release(runId, lease)),
      reclaimExpired: (runId) => ledgerCall(write, () => ledger.reclaimExpired(runId)),
      progress: (runId: string, progress: WorkerProgress) => ledgerCall(write, () => ledger.progress(runId, progress)),
      stats: (runId) => ledgerCall(read, () => ledger.stats(runId)),
    };
  }
}
