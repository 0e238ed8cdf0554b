/**
 * An append-only journal of JSON lines, the embedded ledger's disk.
 *
 * Why it survives SIGKILL at any point:
 * - A change is acknowledged (its promise resolves) only after its line was written and
 *   `fdatasync` returned. Whatever a caller acted on is on disk.
 * - Lines written together (group commit: every change queued while the previous write was
 *   syncing) are one `write`. A kill can leave a prefix of that write: whole lines, which
 *   replay as if those unacknowledged changes had happened (each line is a self-consistent
 *   state of the jobs it names), and at most one torn last line without its newline, which
 *   replay detects, ignores and cuts off before appending again.
 * - Compaction writes a snapshot of the whole state to a temporary file, syncs it, renames it
 *   over the journal (atomic on POSIX) and syncs the folder: a kill leaves either the old
 *   journal or the new one, never a mix.
 * A line that does not parse is tolerated only at the tail (a write cut short, or a power loss
 * that left zeros in the unsynced tail); one followed by valid lines is corruption, reported
 * as such, because skipping it would silently forget a change.
 */
import { closeSync, openSync, fsyncSync } from 'node:fs';
import { open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export const journalFileName = 'journal.jsonl';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export interface JournalOptions {
  /** Returns the whole current state as lines: what compaction writes. */
  readonly snapshot: () => string[];
  /** Lines a snapshot would have now; compaction runs when the journal is much longer. */
  readonly liveLines: () => number;
  /** The journal is never compacted below this many lines (compaction costs a full write). */
  readonly compactLinesMin: number;
}

export interface ReplayedJournal {
  readonly lines: unknown[];
  /** Bytes of a torn last line that were cut off. */
  readonly tornBytes: number;
}

/**
 * Reads every complete line and cuts off a torn tail, so appends start on a line boundary.
 * A reader beside a running writer (`status`) passes `cutTornTail: false`: its "torn" tail
 * may be a line being written.
 */
export async function replayJournal(
  directory: string,
  options: { cutTornTail: boolean } = { cutTornTail: true },
): Promise<ReplayedJournal> {
  const path = join(directory, journalFileName);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], tornBytes: 0 };
    throw error;
  }
  // The last element of the split is what follows the final newline: empty when the file
  // ends cleanly, else a torn line (even one that parses lacks its newline: its write was cut).
  const texts = bytes.toString('utf8').split('\n').slice(0, -1);
  const parsed = texts.map(parseLine);
  // Unparsable lines at the end are a cut write too; they are cut off with the torn line.
  let validCount = parsed.length;
  while (validCount > 0 && parsed[validCount - 1] === undefined) validCount -= 1;
  const firstInvalid = parsed.findIndex((line, index) => line === undefined && index < validCount);
  if (firstInvalid >= 0) {
    throw new Error(
      `embedded ledger journal ${path} is corrupt at line ${firstInvalid + 1} (disk or an edit, not ours to guess): ${texts[firstInvalid]?.slice(0, 120)}`,
    );
  }
  const keptBytes = texts.slice(0, validCount).reduce((sum, text) => sum + Buffer.byteLength(text) + 1, 0);
  if (keptBytes < bytes.length && options.cutTornTail) await truncate(path, keptBytes);
  return {
    lines: parsed.slice(0, validCount).filter((line) => line !== undefined),
    tornBytes: bytes.length - keptBytes,
  };
}

function parseLine(text: string): unknown {
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // A line that is no JSON is a cut write (cut off at the tail) or damage (reported);
    // anything else is a bug, which must never be taken for a torn line and cut from disk.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  return typeof value === 'object' && value !== null ? value : undefined;
}

export class JournalFile {
  private readonly directory: string;
  private readonly options: JournalOptions;
  private handle: FileHandle;
  private linesInFile: number;
  private queued: { line: string; waiter: Waiter }[] = [];
  private flushing = false;
  private broken: Error | undefined;

  private constructor(directory: string, handle: FileHandle, linesInFile: number, options: JournalOptions) {
    this.directory = directory;
    this.handle = handle;
    this.linesInFile = linesInFile;
    this.options = options;
  }

  static async open(directory: string, linesInFile: number, options: JournalOptions): Promise<JournalFile> {
    const handle = await open(join(directory, journalFileName), 'a');
    syncDirectory(directory);
    return new JournalFile(directory, handle, linesInFile, options);
  }

  /** Resolves once the line is on disk. After a disk error every append fails: the state in memory can no longer be trusted to match the disk. */
  append(line: string): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queued.push({ line, waiter: { resolve, reject } });
      if (!this.flushing) void this.flush();
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /**
   * Writes everything queued, one write and one sync per round. Each round takes all that was
   * queued while the previous one synced, so rounds are bounded by the callers' own count.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      try {
        await this.writeOrCompact(batch.map((entry) => entry.line));
        for (const entry of batch) entry.waiter.resolve();
      } catch (error) {
        this.broken = new Error(
          `embedded ledger journal in ${this.directory} failed to write (local disk): ${(error as Error).message}`,
          { cause: error },
        );
        for (const entry of [...batch, ...this.queued]) entry.waiter.reject(this.broken);
        this.queued = [];
      }
    }
    this.flushing = false;
  }

  private async writeOrCompact(lines: string[]): Promise<void> {
    const due = this.linesInFile + lines.length > Math.max(this.options.compactLinesMin, 2 * this.options.liveLines());
    // The snapshot is taken from memory, which already holds the changes of `lines`: it
    // replaces them, and their callers are acknowledged once it is renamed into place.
    if (due) return this.compact();
    await writeAll(this.handle, Buffer.from(lines.join('\n') + '\n'));
    await this.handle.datasync();
    this.linesInFile += lines.length;
  }

  private async compact(): Promise<void> {
    const lines = this.options.snapshot();
    const temporaryPath = join(this.directory, `${journalFileName}.compacting`);
    const temporary = await open(temporaryPath, 'w');
    try {
      if (lines.length > 0) await writeAll(temporary, Buffer.from(lines.join('\n') + '\n'));
      await temporary.sync();
    } finally {
      await temporary.close();
    }
    await rename(temporaryPath, join(this.directory, journalFileName));
    syncDirectory(this.directory);
    await this.handle.close();
    this.handle = await open(join(this.directory, journalFileName), 'a');
    this.linesInFile = lines.length;
  }
}

/** A file write may be partial; bounded by the buffer's length (each round writes at least a byte or throws). */
async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

/** A rename or a new file is durable only once its folder's entry is synced. */
function syncDirectory(directory: string): void {
  const descriptor = openSync(directory, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
