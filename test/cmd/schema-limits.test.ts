// The worker states its schema's decode output ratio to the core: content rows are several
// times their chunk and the core reserves their growth (core/capacity.ts); index rows shrink.
import { describe, expect, it } from 'vitest';
import { contentDecodeOutputRatio, contentRowGroupBytes, defaultLimits } from '../../core/limits.ts';
import { limitsOf } from '../../cmd/worker/wiring.ts';
import { loadWorkerConfig } from '../../cmd/worker/worker-config.ts';

function limitsFor(argv: readonly string[]) {
  return limitsOf(loadWorkerConfig(['--input', 'in.warc.gz', '--output', 'out', ...argv], {}));
}

describe("the worker's limits by schema", () => {
  it('states the content ratio and row groups by bytes for --schema content', () => {
    const limits = limitsFor(['--schema', 'content']);
    expect(limits.decodeOutputRatio).toBe(contentDecodeOutputRatio);
    expect(limits.decodeOutputRatio).toBeGreaterThan(1);
    expect(limits.rowGroupBytes).toBe(contentRowGroupBytes);
  });

  it("keeps the index's shrinking ratio by default", () => {
    const limits = limitsFor([]);
    expect(limits.decodeOutputRatio).toBe(defaultLimits.decodeOutputRatio);
    expect(limits.decodeOutputRatio).toBeLessThan(1);
  });
});
