/**
 * The two shared resources a transfer passes through besides its own stream.
 *
 * The NIC: the instance's sustained bandwidth, shared by its streams. We model it as a link
 * that carries bytes in order at the NIC rate: a transfer ends no sooner than its own stream
 * could carry it (latency + bytes / stream rate) and no sooner than the link, busy with the
 * transfers before it, could. Aggregate throughput therefore never exceeds the NIC, and with
 * few streams each gets its stream rate. It is cheaper than exact processor sharing (which
 * reschedules every transfer whenever one starts or ends) and gives the same total rate; a
 * single transfer's time can differ, its mean is what the planner needs. The NIC is full
 * duplex: fetches use the inbound link, uploads the outbound one.
 *
 * The rate ceiling: a remote (CommonCrawl, one S3 prefix) accepts so many requests per second
 * from the whole fleet and throttles the rest. A token bucket holding one second of requests
 * models it: bursts up to the ceiling pass, a sustained rate above it is answered 503.
 */
export class NetworkLink {
  private freeAtMs = 0;
  bytesCarried = 0;

  constructor(readonly bytesPerSecond: number) {}

  /**
   * When a transfer that starts moving bytes at `startMs` and alone would end at `aloneEndMs`
   * ends. Its bytes join the link's queue at `queuedAtMs`: the time the request was sent for a
   * subset's requests. Queued at the first byte (the default, whole files), a transfer waits
   * for the latest first byte of every transfer sent before it, whose latency may be many times
   * its own: with lognormal latencies (median 80 ms, σ 0.8, a mean of 110 ms) ranged GETs of
   * 69 KB took 0.43 s each, and a request-bound subset run 1.6× the time the ceiling allows. A
   * whole file's transfer is mostly bytes, and the README's whole-crawl example moved by 0.6%
   * queued at sending; the whole worker's ports queue at the first byte, and the planner is
   * held within 5% of them, so whole files keep it until both change together.
   */
  transferEndMs(startMs: number, bytes: number, aloneEndMs: number, queuedAtMs = startMs): number {
    const linkEndMs = Math.max(this.freeAtMs, queuedAtMs) + (bytes / this.bytesPerSecond) * 1000;
    this.freeAtMs = linkEndMs;
    this.bytesCarried += bytes;
    return Math.max(aloneEndMs, linkEndMs);
  }
}

export class RateCeiling {
  private tokens: number;
  private lastMs = 0;
  accepted = 0;
  refused = 0;
  /** 503s answered below the ceiling: the few a healthy remote answers at any load. */
  refusedAtRandom = 0;

  constructor(readonly requestsPerSecond: number) {
    this.tokens = requestsPerSecond;
  }

  /** Takes one request at `nowMs`; false means it is over the ceiling (answer 503). */
  admit(nowMs: number): boolean {
    const refill = ((nowMs - this.lastMs) / 1000) * this.requestsPerSecond;
    this.tokens = Math.min(this.requestsPerSecond, this.tokens + refill);
    this.lastMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.accepted += 1;
      return true;
    }
    this.refused += 1;
    return false;
  }
}
