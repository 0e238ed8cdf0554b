/**
 * Memory of a running process as the kernel counts it, from `/proc/<pid>/status` (Linux):
 * resident set (all threads of a process share it), split into anonymous memory (heaps,
 * buffers, native allocations), file-backed pages (code, mapped files) and shared memory,
 * and the peak resident set so far.
 */
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  readonly rssBytes: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
  readonly shmemBytes: number;
  readonly peakRssBytes: number;
}

const fields = {
  rssBytes: 'VmRSS',
  anonBytes: 'RssAnon',
  fileBytes: 'RssFile',
  shmemBytes: 'RssShmem',
  peakRssBytes: 'VmHWM',
} as const;

/** The process's memory now, or null once it has exited (its status file is gone or empty). */
export function readProcMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kilobytes = (field: string): number | null => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : null;
  };
  const entries = Object.entries(fields).map(([key, field]) => [key, kilobytes(field)] as const);
  // A zombie's status has no Vm lines: it holds no memory worth sampling.
  if (entries.some(([, value]) => value === null)) return null;
  return Object.fromEntries(entries) as unknown as ProcMemory;
}
