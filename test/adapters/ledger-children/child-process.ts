/**
 * Runs a TypeScript file in a child node process (through tsx) and gathers its stdout lines,
 * so crash tests can kill it with SIGKILL at a moment they choose and read what it had said.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunningChild {
  readonly process: ChildProcess;
  /** Every complete line printed so far. */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line that passes `predicate`, or fails after `timeoutMs`. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGKILL, then wait until the process is gone (its lock and connections with it). */
  kill(): Promise<void>;
}

export function childPath(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

export function startChild(file: string, environment: Record<string, string>): RunningChild {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let partial = '';
  let errors = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    const pieces = (partial + text).split('\n');
    partial = pieces.pop() ?? '';
    lines.push(...pieces);
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    errors = (errors + text).slice(-4_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  return {
    process: child,
    lines,
    exited,
    waitForLine(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(predicate);
          if (found !== undefined) finish(() => resolve(found));
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(() => reject(new Error(`child exited before the expected line; stderr: ${errors}`)));
        };
        const timer = setTimeout(
          () =>
            finish(() => reject(new Error(`child printed no expected line within ${timeoutMs} ms; stderr: ${errors}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
