/**
 * `node cmd/worker` as a child process a test can watch, signal, kill and wait for, with
 * bounded waits. A worker started with a name runs with HOSTNAME set to it, so its ledger
 * worker id is `<name>-<pid>-<n>cpu` and the test can find its leases.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { s3rverCredentials } from './s3rver-process.ts';

export const workerBinary = resolve(import.meta.dirname, '../../cmd/worker');

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
}

export interface WorkerSpawnOptions {
  readonly env: Record<string, string>;
  readonly cwd: string;
}

/** A worker on one CPU thread that sends its metrics nowhere: the flags most tests of the binary add. */
export const oneThreadNoMetrics: readonly string[] = ['--metrics', 'none', '--threads', '1'];

/**
 * A worker that runs in `folder` with nothing of this process's environment but PATH and HOME
 * (this process's, or `home`), and `extra`.
 */
export function localWorkerOptions(
  folder: string,
  extra: Record<string, string> = {},
  home: string = process.env.HOME ?? '',
): WorkerSpawnOptions {
  return { cwd: folder, env: { PATH: process.env.PATH ?? '', HOME: home, ...extra } };
}

/** A worker that runs in `folder` with nothing of this process's environment but PATH, and s3rver's key pair. */
export function s3rverWorkerOptions(folder: string): WorkerSpawnOptions {
  return {
    cwd: folder,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: folder,
      AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
  };
}

export class WorkerProcess {
  private readonly child: ChildProcess;
  private stderrText = '';
  private stdoutText = '';
  private exitValue: WorkerExit | null = null;
  readonly exited: Promise<WorkerExit>;
  readonly startedAtMs = Date.now();

  constructor(
    readonly name: string,
    args: readonly string[],
    options: WorkerSpawnOptions,
  ) {
    this.child = spawn(process.execPath, [workerBinary, ...args], {
      env: { ...options.env, HOSTNAME: name },
      cwd: options.cwd,
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdoutText += chunk.toString()));
    // 'close', not 'exit': the process may exit before the last of its stderr has been read.
    this.exited = new Promise((resolveExit) => {
      this.child.on('close', (code, signal) => {
        this.exitValue = { code, signal, stderr: this.stderrText, stdout: this.stdoutText };
        resolveExit(this.exitValue);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The start of this worker's id in the ledger (`lease_owner`, `worker_id`). */
  get workerIdPrefix(): string {
    return `${this.name}-${this.pid}-`;
  }

  get exit(): WorkerExit | null {
    return this.exitValue;
  }

  get stderr(): string {
    return this.stderrText;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitValue === null) this.child.kill(signal);
  }

  /** SIGKILL, then the exit (bounded: a process that outlives SIGKILL is a broken machine). */
  async killNow(): Promise<WorkerExit> {
    this.signal('SIGKILL');
    const exit = await this.exitWithin(10_000);
    if (exit === null) throw new Error(`worker ${this.name} (pid ${this.pid}) did not exit 10 s after SIGKILL`);
    return exit;
  }

  /** The exit, or null if the worker is still running after `timeoutMs`. */
  async exitWithin(timeoutMs: number): Promise<WorkerExit | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolveTimeout) => (timer = setTimeout(() => resolveTimeout(null), timeoutMs)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Runs a worker command (a run, `status`, `cleanup`) to its end, bounded by `timeoutMs`,
 * without blocking this process's event loop, which may serve the worker's HTTP tree.
 */
export async function runWorkerCommand(
  args: readonly string[],
  options: WorkerSpawnOptions,
  timeoutMs = 60_000,
): Promise<WorkerExit> {
  const worker = new WorkerProcess('command', args, options);
  const exit = await worker.exitWithin(timeoutMs);
  if (exit !== null) return exit;
  await worker.killNow();
  throw new Error(`node cmd/worker ${args.join(' ')} did not finish within ${timeoutMs} ms: ${worker.stderr}`);
}

/**
 * Runs a worker command to its end while this process waits, blocked: for tests that serve the
 * worker nothing. Killed past `timeoutMs` (its exit then has the signal and a null code).
 */
export function runWorkerCommandSync(
  args: readonly string[],
  options: WorkerSpawnOptions,
  timeoutMs = 60_000,
): WorkerExit {
  const result = spawnSync(process.execPath, [workerBinary, ...args], {
    cwd: options.cwd,
    env: options.env,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: result.status, signal: result.signal, stderr: result.stderr, stdout: result.stdout };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
