// The instance's NIC as the fleet simulation uses it (sim/network-models.ts): bytes queue on
// the link from when a request is sent. On an idle link a small transfer ends at its own time
// whatever the first bytes of the transfers sent before it (queued at the first byte, a fast
// request waited for every slower one sent before it); a full link still carries no more than
// its rate.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetworkLink } from '../../sim/network-models.ts';

const streamBytesPerSecond = 88_000_000;

describe('the NIC link', () => {
  it('ends each small transfer at its own time on an idle link, whatever the latencies before it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2_000 }), { minLength: 1, maxLength: 200 }), (latencies) => {
        const link = new NetworkLink(3_000_000_000);
        latencies.forEach((latencyMs, index) => {
          const sentMs = index;
          const bytes = 69_000;
          const aloneEndMs = sentMs + latencyMs + (bytes / streamBytesPerSecond) * 1000;
          expect(link.transferEndMs(sentMs + latencyMs, bytes, aloneEndMs, sentMs)).toBeCloseTo(aloneEndMs, 9);
        });
      }),
    );
  });

  it('carries no more than its rate when full', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 100 }), fc.integer({ min: 0, max: 500 }), (transfers, latencyMs) => {
        const link = new NetworkLink(100_000_000);
        const bytes = 32 * 1024 ** 2;
        let lastEndMs = 0;
        for (let index = 0; index < transfers; index += 1) {
          const aloneEndMs = latencyMs + (bytes / streamBytesPerSecond) * 1000;
          lastEndMs = Math.max(lastEndMs, link.transferEndMs(latencyMs, bytes, aloneEndMs, 0));
        }
        expect(lastEndMs).toBeGreaterThanOrEqual(((transfers * bytes) / 100_000_000) * 1000 - 1e-6);
        expect(link.bytesCarried).toBe(transfers * bytes);
      }),
    );
  });
});
