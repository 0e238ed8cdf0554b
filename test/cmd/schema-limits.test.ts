// The worker states its schema's decode output ratio to the core: content rows are several
// times their chunk and the core reserves their growth (core/capacity.ts); index rows shrink.
// It starts the read-ahead by where the files are (core/read-ahead.ts).
import { describe, expect, it } from 'vitest';
import {
  contentDecodeOutputRatio,
  contentRowGroupBytes,
  defaultLimits,
  localReadAheadStartChunks,
} from '../../core/limits.ts';
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

describe("the worker's read-ahead by source", () => {
  const startFor = (input: string, extra: readonly string[] = []): number | null =>
    limitsOf(loadWorkerConfig(['--input', input, '--output', 'out', ...extra], {})).readAheadStartChunks;

  it('starts local files at two chunks, and remote sources at the whole window', () => {
    expect(startFor('in.warc.gz')).toBe(localReadAheadStartChunks);
    expect(startFor('/data/crawl/*.warc.gz')).toBe(localReadAheadStartChunks);
    expect(startFor('cc:CC-MAIN-2024-22', ['--cc-base', '/mirror/commoncrawl'])).toBe(localReadAheadStartChunks);
    expect(startFor('s3://bucket/crawl/')).toBeNull();
    expect(startFor('https://data.commoncrawl.org/crawl-data/x.warc.gz')).toBeNull();
    expect(startFor('cc:CC-MAIN-2024-22')).toBeNull();
  });
});
