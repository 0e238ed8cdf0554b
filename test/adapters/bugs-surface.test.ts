// Proves that code which catches the faults of its input or of a remote lets a bug of its own
// through: each catch takes only the errors it expects (zlib's codes, a URIError, a SyntaxError,
// node's argument-parser codes, the SDK's shapes), and a TypeError or the like thrown inside it
// surfaces as itself (the job fails as our fault) instead of becoming a dropped connection, an
// empty member, a user's mistake or an ignored log line.
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyAwsError } from '../../adapters/aws/aws-failure.ts';
import { urlPath } from '../../adapters/source/input-naming.ts';
import { inflateTruncatedMember } from '../../adapters/warc/gzip-member.ts';
import { ConfigError, loadWorkerConfig } from '../../cmd/worker/worker-config.ts';
import { parseSimFlags, UsageError } from '../../cmd/sim/flags.ts';
import { calibrate } from '../../sim/calibration.ts';
import { defaultModels } from '../../sim/models.ts';

// Switches that make node's argument parser and the shard parser throw as a bug would.
const broken = vi.hoisted(() => ({ parseArgs: false, parseShard: false }));
vi.mock('node:util', async (original) => {
  const util = await original<typeof import('node:util')>();
  const parseArgs = ((...args: Parameters<typeof util.parseArgs>) => {
    if (broken.parseArgs) throw new TypeError('injected parser bug');
    return util.parseArgs(...args);
  }) as typeof util.parseArgs;
  return { ...util, parseArgs, default: { ...util, parseArgs } };
});
vi.mock('../../adapters/ledger/static-shard.ts', async (original) => {
  const shard = await original<typeof import('../../adapters/ledger/static-shard.ts')>();
  return {
    ...shard,
    parseShard: (...args: Parameters<typeof shard.parseShard>) => {
      if (broken.parseShard) throw new TypeError('injected shard bug');
      return shard.parseShard(...args);
    },
  };
});

afterEach(() => {
  broken.parseArgs = false;
  broken.parseShard = false;
  vi.restoreAllMocks();
});

const injected = (): never => {
  throw new TypeError('injected bug');
};

describe('catches that take only what they expect', () => {
  it('AWS: a TypeError of ours is our fault, not a retryable fault of the remote', () => {
    const bug = classifyAwsError(new TypeError("Cannot read properties of undefined (reading 'Bucket')"), 'put x');
    expect(bug).toMatchObject({ fault: 'ours', retryable: false });
    expect(classifyAwsError(new RangeError('Invalid array length'), 'put x').fault).toBe('ours');
    // The SDK's own failures keep their classification.
    expect(classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'put x').fault).toBe(
      'remote',
    );
    expect(classifyAwsError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'put x').fault).toBe(
      'remote',
    );
  });

  it('gzip: a truncated member whose inflation fails for our own reason throws', () => {
    const text = Array.from({ length: 2_000 }, (_, index) => `line ${(index * 7_919) % 10_007}`).join('\n');
    const member = zlib.gzipSync(Buffer.from(text));
    const cut = member.subarray(0, member.length - 20);
    expect(inflateTruncatedMember(cut, 0, cut.length).length).toBeGreaterThan(0);
    const corrupt = Buffer.from(cut);
    corrupt.fill(0xff, 12, 400);
    expect(inflateTruncatedMember(corrupt, 0, corrupt.length)).toEqual(Buffer.alloc(0));
    vi.spyOn(zlib, 'inflateRawSync').mockImplementation(injected);
    expect(() => inflateTruncatedMember(cut, 0, cut.length)).toThrow('injected bug');
  });

  it('input names: a malformed escape keeps the path, a bug does not', () => {
    expect(urlPath(new URL('https://example.com/a%E0%A4%A/x.warc.gz'))).toBe('/a%E0%A4%A/x.warc.gz');
    vi.spyOn(globalThis, 'decodeURIComponent').mockImplementation(injected);
    expect(() => urlPath(new URL('https://example.com/a.warc.gz'))).toThrow('injected bug');
  });

  it('calibration: other log lines are skipped, a bug while reading them is not', () => {
    expect(calibrate('{"level":"info"}\nnot json\n', defaultModels, 1)).toMatch(/fewer than two/);
    vi.spyOn(JSON, 'parse').mockImplementation(injected);
    expect(() => calibrate('{"level":"info"}\n', defaultModels, 1)).toThrow('injected bug');
  });

  it('worker options: a mistyped flag is the user mistake, a parser bug is not', () => {
    expect(() => loadWorkerConfig(['--no-such-flag'], {})).toThrow(ConfigError);
    broken.parseArgs = true;
    const error = captured(() => loadWorkerConfig(['--input', 'x'], {}));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(ConfigError);
  });

  it('worker options: a malformed --shard is the user mistake, a bug in reading it is not', () => {
    const base = ['--input', 'x.warc.gz', '--output', 'out'];
    expect(() => loadWorkerConfig([...base, '--shard', 'one/four'], {})).toThrow(ConfigError);
    broken.parseShard = true;
    expect(captured(() => loadWorkerConfig([...base, '--shard', '0/4'], {}))).not.toBeInstanceOf(ConfigError);
  });

  it('simulator options: an unknown flag is bad usage, a parser bug is not', () => {
    expect(() => parseSimFlags(['--no-such-flag'])).toThrow(UsageError);
    broken.parseArgs = true;
    const error = captured(() => parseSimFlags([]));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(UsageError);
  });
});

function captured(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
