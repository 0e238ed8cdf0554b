/**
 * `--source-requests-per-second`: read from the flag, the environment or the YAML file like any
 * option; `none` or a positive number, anything else a one-line ConfigError; absent, 20 a second
 * for HTTPS inputs (a URL, or `cc:` against an https base) and none for S3 and local ones; and
 * it reaches the core's limits as the source's request rate, the sink never getting one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpSourceRequestsPerSecond } from '../../core/limits.ts';
import { limitsOf, sourceRequestsPerSecondOf } from '../../cmd/worker/wiring.ts';
import { ConfigError, loadWorkerConfig } from '../../cmd/worker/worker-config.ts';

const folder = mkdtempSync(join(tmpdir(), 'source-rate-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function rateOf(argv: readonly string[], environment: NodeJS.ProcessEnv = {}): number | null {
  return sourceRequestsPerSecondOf(loadWorkerConfig(['--output', 'out', ...argv], environment));
}

describe('the source request rate option', () => {
  it('defaults by the input: HTTPS gets the polite rate, S3 and local inputs none', () => {
    expect(rateOf(['--input', 'cc:CC-MAIN-2024-22'])).toBe(httpSourceRequestsPerSecond);
    expect(rateOf(['--input', 'https://example.org/a.warc.gz'])).toBe(httpSourceRequestsPerSecond);
    expect(rateOf(['--input', 'cc:CC-MAIN-2024-22', '--cc-base', 's3://commoncrawl/'])).toBeNull();
    expect(rateOf(['--input', 's3://bucket/prefix/'])).toBeNull();
    expect(rateOf(['--input', 'some/folder'])).toBeNull();
    expect(rateOf([])).toBeNull();
  });

  it('takes a number or none from the flag, the environment or the file, in that order', () => {
    const https = ['--input', 'cc:CC-MAIN-2024-22'];
    expect(rateOf([...https, '--source-requests-per-second', '7.5'])).toBe(7.5);
    expect(rateOf([...https, '--source-requests-per-second', 'none'])).toBeNull();
    expect(rateOf(['--input', 's3://bucket/'], { SOURCE_REQUESTS_PER_SECOND: '100' })).toBe(100);
    const file = join(folder, 'worker.yaml');
    writeFileSync(file, 'sourceRequestsPerSecond: 40\n');
    expect(rateOf([...https, '--config', file])).toBe(40);
    expect(rateOf([...https, '--config', file], { SOURCE_REQUESTS_PER_SECOND: '30' })).toBe(30);
    expect(rateOf([...https, '--config', file, '--source-requests-per-second', '5'])).toBe(5);
  });

  it('refuses anything else with one line that says what to write', () => {
    for (const value of ['0', '-3', 'fast', '', 'Infinity', '1e400']) {
      const load = () => loadWorkerConfig(['--output', 'out', `--source-requests-per-second=${value}`], {});
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/^--source-requests-per-second must be a positive number or none, got "/);
    }
    const file = join(folder, 'bad.yaml');
    writeFileSync(file, 'sourceRequestsPerSecond: true\n');
    expect(() => loadWorkerConfig(['--output', 'out', '--config', file], {})).toThrow(
      /--source-requests-per-second must be a positive number or none, got "true"/,
    );
  });

  it("reaches the core's limits as the source's rate; the sink has none", () => {
    const limits = limitsOf(loadWorkerConfig(['--output', 'out', '--input', 'cc:CC-MAIN-2024-22'], {}));
    expect(limits.remoteRequestsPerSecondMax).toEqual({ source: httpSourceRequestsPerSecond, sink: null });
  });
});
