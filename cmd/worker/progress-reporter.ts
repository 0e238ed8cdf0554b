import type { Ledger, WorkerProgress } from '../../core/ledger.ts';
import { realClock, type RuntimeClock, type TimerHandle } from './runtime-clock.ts';
import { RecentRate } from './progress-line.ts';

/** Progress rows go to the ledger at least every this many records… */
const recordsPerReport = 1_000;
/** …and at least this often while the worker runs. */
const reportIntervalMs = 10_000;
/**
 * Inputs whose bytes read are kept, so that the current file's count survives its jobs
 * interleaving: a worker runs a few jobs at once (`jobsMax` in core/limits.ts is far below it).
 */
const inputsTrackedMax = 64;

/**
 * Keeps this worker's progress row in the ledger current (current file with its bytes read and
 * size, records, bytes, bad records, recent read rate, status), so `status` shows what every
 * worker of a fleet is doing and when its current file should be done. A report that
 * fails is logged by the caller and replaced by the next one; reports never pile up: one is in
 * flight at a time.
 */
export class ProgressReporter {
  private progress: WorkerProgress;
  private recordsAtLastReport = 0;
  private inFlight: Promise<void> | null = null;
  private readonly timer: TimerHandle;
  private readonly rate = new RecentRate();
  /** Bytes read and size of the inputs being read, the most recently read last. */
  private readonly inputs = new Map<string, { bytes: number; sizeBytes: number | null }>();

  constructor(
    private readonly ledger: Ledger,
    private readonly runId: string,
    workerId: string,
    private readonly onError: (error: unknown) => void,
    private readonly clock: RuntimeClock = realClock,
  ) {
    this.progress = { workerId, currentInput: null, records: 0, bytes: 0, badRecords: 0, status: 'running' };
    this.timer = clock.every(reportIntervalMs, () => this.report());
  }

  /** A chunk of `input` (of `sizeBytes`, when known) was decoded. */
  decoded(input: string, records: number, bytes: number, badRecords: number, sizeBytes: number | null = null): void {
    const progress = this.progress;
    const read = (this.inputs.get(input)?.bytes ?? 0) + bytes;
    this.inputs.delete(input);
    this.inputs.set(input, { bytes: read, sizeBytes });
    const oldest = this.inputs.keys().next();
    if (this.inputs.size > inputsTrackedMax && oldest.done !== true) this.inputs.delete(oldest.value);
    this.progress = {
      ...progress,
      currentInput: input,
      records: progress.records + records,
      bytes: progress.bytes + bytes,
      badRecords: progress.badRecords + badRecords,
      currentBytes: read,
      currentSizeBytes: sizeBytes,
    };
    if (this.progress.records - this.recordsAtLastReport >= recordsPerReport) this.report();
  }

  draining(): void {
    this.progress = { ...this.progress, status: 'draining' };
    this.report();
  }

  /** The last report, with status `stopped`; waits for it. */
  async stop(): Promise<void> {
    this.clock.cancel(this.timer);
    await this.inFlight;
    this.progress = {
      ...this.progress,
      status: 'stopped',
      currentInput: null,
      currentBytes: 0,
      currentSizeBytes: null,
      bytesPerSecond: null,
    };
    this.report();
    await this.inFlight;
  }

  private report(): void {
    if (this.inFlight !== null) return;
    this.recordsAtLastReport = this.progress.records;
    if (this.progress.status !== 'stopped') {
      this.rate.sample(this.clock.nowMs(), this.progress.bytes);
      this.progress = { ...this.progress, bytesPerSecond: this.rate.bytesPerSecond() };
    }
    this.inFlight = this.ledger
      .progress(this.runId, this.progress)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = null;
      });
  }
}
