// Proves that code which catches the faults of its input or of a remote lets a bug of its own
// through: each catch takes only the errors it expects (zlib's codes, a URIError, a SyntaxError,
// node's argument-parser codes, the SDK's shapes), and a TypeError or the like thrown inside it
// surfaces as itself (the job fails as our fault) instead of becoming a dropped connection, an
// empty member, a user's mistake or an ignored log line.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifyAwsError } from '../../adapters/aws/aws-failure.ts';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import { journalFileName, replayJournal } from '../../adapters/ledger/journal-file.ts';
import { walkFiles } from '../../adapters/source/file-walk.ts';
import { urlPath } from '../../adapters/source/input-naming.ts';
import { manifestLines } from '../../adapters/source/manifest.ts';
import { removeAbandonedTemporaries } from '../../adapters/sink/local-cleanup.ts';
import { PoliteHttpClient } from '../../adapters/source/polite-http-client.ts';
import { userAgent } from '../../adapters/source/user-agent.ts';
import { FailureError } from '../../core/failure.ts';
import { contractOptions } from './ledger-contract.ts';
import { inflateTruncatedMember } from '../../adapters/warc/gzip-member.ts';
import { ConfigError, loadWorkerConfig } from '../../cmd/worker/worker-config.ts';
import { parseSimFlags, UsageError } from '../../cmd/sim/flags.ts';
import { calibrate } from '../../sim/calibration.ts';
import { defaultModels } from '../../sim/models.ts';

// Switches that make node's argument parser, the shard parser and a few file and zlib calls fail.
const broken = vi.hoisted(() => ({
  parseArgs: false,
  parseShard: false,
  gunzip: false,
  bodyWindow: false,
  packageJson: false,
  stat: null as string | null,
  lockRead: null as string | null,
}));
vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>();
  const failing = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });
  const stat = (async (...args: Parameters<typeof fs.stat>) => {
    if (broken.stat !== null) throw failing(broken.stat);
    return fs.stat(...args);
  }) as typeof fs.stat;
  const readFile = (async (...args: Parameters<typeof fs.readFile>) => {
    if (broken.lockRead !== null && String(args[0]).endsWith('/lock')) throw failing(broken.lockRead);
    return fs.readFile(...args);
  }) as typeof fs.readFile;
  return { ...fs, stat, readFile, default: { ...fs, stat, readFile } };
});
vi.mock('../../adapters/source/bounded-body.ts', async (original) => {
  const body = await original<typeof import('../../adapters/source/bounded-body.ts')>();
  return {
    ...body,
    readBodyWindow: (...args: Parameters<typeof body.readBodyWindow>) => {
      if (broken.bodyWindow) throw new RangeError('injected body bug');
      return body.readBodyWindow(...args);
    },
  };
});
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => {
    if (broken.packageJson && String(args[0]).endsWith('/package.json')) return '{"version": "1.0.0",';
    return fs.readFileSync(...args);
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});
vi.mock('node:zlib', async (original) => {
  const zlib = await original<typeof import('node:zlib') & { default: typeof import('node:zlib') }>();
  const gunzipSync = ((...args: Parameters<typeof zlib.gunzipSync>) => {
    if (broken.gunzip) throw new TypeError('injected gunzip bug');
    return zlib.gunzipSync(...args);
  }) as typeof zlib.gunzipSync;
  return { ...zlib, gunzipSync, default: { ...zlib.default, gunzipSync } };
});
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
  Object.assign(broken, { parseArgs: false, parseShard: false, gunzip: false, packageJson: false, bodyWindow: false });
  Object.assign(broken, { stat: null, lockRead: null });
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

describe('file and zlib calls that take only what they expect', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bugs-surface-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  async function listed(folder: string): Promise<string[]> {
    const names: string[] = [];
    for await (const name of walkFiles(folder)) names.push(name);
    return names;
  }

  it('folder walk: a dangling link is no input, a link that cannot be looked at fails the listing', async () => {
    const folder = join(root, 'walk');
    await mkdir(folder);
    await writeFile(join(folder, 'a.warc.gz'), 'x');
    await symlink(join(folder, 'a.warc.gz'), join(folder, 'b.warc.gz'));
    await symlink(join(folder, 'gone.warc.gz'), join(folder, 'c.warc.gz'));
    expect(await listed(folder)).toEqual(['a.warc.gz', 'b.warc.gz']);
    broken.stat = 'EIO';
    await expect(listed(folder)).rejects.toThrow('EIO');
  });

  it('local cleanup: a missing output has nothing to clean, one that cannot be looked at says so', async () => {
    const modifiedBeforeMs = Date.now();
    expect(await removeAbandonedTemporaries({ root: join(root, 'none'), modifiedBeforeMs })).toEqual({
      removed: [],
      kept: 0,
    });
    broken.stat = 'EACCES';
    await expect(removeAbandonedTemporaries({ root, modifiedBeforeMs })).rejects.toThrow('EACCES');
  });

  it('manifest: bytes that are no gzip are the input fault, a bug in inflating them is not', () => {
    const notGzip = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
    expect(captured(() => manifestLines(notGzip, 'warc.paths.gz'))).toMatchObject({ failure: { fault: 'input' } });
    broken.gunzip = true;
    const gzipped = zlib.gzipSync(Buffer.from('crawl-data/a.warc.gz\n'));
    const error = captured(() => manifestLines(gzipped, 'warc.paths.gz'));
    expect(error).not.toBeInstanceOf(FailureError);
    expect(error).toBeInstanceOf(TypeError);
  });

  it('User-Agent: a package.json that does not parse is a broken install, not version 0.0.0', () => {
    expect(userAgent()).toMatch(/^cc-chunks-worker\/\d+\.\d+\.\d+/);
    broken.packageJson = true;
    expect(() => userAgent()).toThrow(SyntaxError);
  });

  it('embedded ledger: a torn last line is cut, but a bug while parsing lines never cuts the journal', async () => {
    const directory = join(root, 'journal');
    await mkdir(directory);
    const path = join(directory, journalFileName);
    await writeFile(path, '{"op":"a"}\n{"op":"b"}\n{"op":');
    expect((await replayJournal(directory)).lines).toEqual([{ op: 'a' }, { op: 'b' }]);
    const whole = '{"op":"a"}\n{"op":"b"}\n';
    expect(await readFile(path, 'utf8')).toBe(whole);
    const parse = JSON.parse.bind(JSON);
    vi.spyOn(JSON, 'parse').mockImplementation((text: string) => (text.startsWith('{"op"') ? injected() : parse(text)));
    await expect(replayJournal(directory)).rejects.toThrow('injected bug');
    expect(await readFile(path, 'utf8')).toBe(whole);
  });

  it('embedded ledger: a lock file that cannot be read is not taken over', async () => {
    const directory = join(root, 'ledger');
    await (await EmbeddedLedger.open({ ...contractOptions, directory })).close();
    await writeFile(join(directory, 'lock'), String(process.ppid));
    broken.lockRead = 'EACCES';
    await expect(EmbeddedLedger.open({ ...contractOptions, directory })).rejects.toThrow('EACCES');
    broken.lockRead = 'ENOENT';
    // Gone between the two calls: the holder let go, and the lock is free to take.
    await (await EmbeddedLedger.open({ ...contractOptions, directory })).close();
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

describe('HTTP bodies', () => {
  it('a dropped body is a retryable remote fault; a bug while reading one is not a dropped connection', async () => {
    let drops = 1;
    const server = createServer((_request, response) => {
      response.writeHead(206, { 'content-range': 'bytes 0-9/100', 'content-length': '10' });
      if (drops-- > 0) {
        response.write('01234');
        response.destroy();
        return;
      }
      response.end('0123456789');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.warc.gz`;
    const client = new PoliteHttpClient({ requestsPerSecond: 1000, burst: 100, connectionAttempts: 1 });
    try {
      const dropped = await client
        .readRange(url, { offsetBytes: 0, lengthBytes: 10 })
        .catch((caught: unknown) => caught);
      expect(dropped).toMatchObject({ failure: { fault: 'remote', retryable: true } });
      broken.bodyWindow = true;
      const bug = await client.readRange(url, { offsetBytes: 0, lengthBytes: 10 }).catch((caught: unknown) => caught);
      expect(bug).toBeInstanceOf(RangeError);
      expect(bug).not.toBeInstanceOf(FailureError);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
