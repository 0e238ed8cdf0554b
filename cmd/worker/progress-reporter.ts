import type { Ledger, WorkerProgress } from '../../core/ledger.ts';
import { realClock, type RuntimeClock, type TimerHandle } from './runtime-clock.ts';

/** Progress rows go to the ledger at least every this many records… */
const recordsPerReport = 1_000;
/** …and at least this often while the worker runs. */
const reportIntervalMs = 10_000;

/**
 * Keeps this worker's progress row in the ledger current (current file, records, bytes, bad
 * records, status), so `status` shows what every worker of a fleet is doing. A report that
 * fails is logged by the caller and replaced by the next one; reports never pile up: one is in
 * flight at a time.
 */
export class ProgressReporter {
  private progress: WorkerProgress;
  private recordsAtLastReport = 0;
  private inFlight: Promise<void> | null = null;
  private readonly timer: TimerHandle;

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

  decoded(input: string, records: number, bytes: number, badRecords: number): void {
    const progress = this.progress;
    this.progress = {
      ...progress,
      currentInput: input,
      records: progress.records + records,
      bytes: progress.bytes + bytes,
      badRecords: progress.badRecords + badRecords,
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
    this.progress = { ...this.progress, status: 'stopped', currentInput: null };
    this.report();
    await this.inFlight;
  }

  private report(): void {
    if (this.inFlight !== null) return;
    this.recordsAtLastReport = this.progress.records;
    this.inFlight = this.ledger
      .progress(this.runId, this.progress)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = null;
      });
  }
}
