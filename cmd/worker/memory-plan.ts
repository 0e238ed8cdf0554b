/**
 * How `--memory-budget-mb` is spent. The budget covers everything the worker holds beyond the
 * fixed cost of its main thread (node, tsx, Effect and the compiled sources, about 110 MB):
 * - each CPU slot's own memory (a thread, or the event loop with `--threads 0`);
 * - the bytes held between stages (chunks, rows, encoded bytes), which the core keeps within
 *   what is left: the data budget.
 * So peak RSS stays under the budget plus 150 MB, whatever the input (the end-to-end bench).
 */
import { availableParallelism } from 'node:os';
import type { OutputSchema } from '../../core/capture-row.ts';
import { defaultLimits } from '../../core/limits.ts';

const mebibyte = 1024 * 1024;

/**
 * One CPU slot's own memory, measured on 600 MB of CommonCrawl-like input (peak RSS less the
 * data budget and the main thread, at 1 and 2 threads and on the event loop): about 25 MB of
 * isolate and modules, 55 MB of inflated records' buffers that wait for the garbage collector
 * (it runs on V8's schedule, not when they die), and an encode's working copy of its rows.
 */
export const cpuSlotReserveMb = 144;
/**
 * What one CPU slot adds for the content schema: the larger of decoding one record (an
 * encoded body held, up to 32 MiB, and what it decodes to, up to 64 MiB: warc-limits.ts) and
 * encoding one row group of 8 MiB of payload (parquetjs keeps about five copies of it live:
 * core/limits.ts), a slot doing one at a time, and the payload buffers the garbage collector
 * has not freed yet. Measured: exporting files of 4 MB payloads with one thread at a 400 MiB
 * budget peaked at 540-558 MB with 96 MiB here, 20-40 MB more than the budget and the main
 * thread's 110 MB; 128 MiB holds that.
 */
export const contentSlotReserveMb = 128;
/** Chunks the data budget must hold at least: one being decoded per CPU slot and one being fetched. */
const chunksPerSlotMin = 1;

export interface MemoryPlan {
  readonly dataBudgetBytes: number;
  readonly jobsActiveMax: number;
}

function slotsOf(threads: number): number {
  return Math.max(1, threads);
}

/** One CPU slot's own memory for a schema. */
export function slotReserveMb(schema: OutputSchema): number {
  return schema === 'content' ? cpuSlotReserveMb + contentSlotReserveMb : cpuSlotReserveMb;
}

function reserveMb(threads: number, schema: OutputSchema): number {
  return slotsOf(threads) * slotReserveMb(schema);
}

/** The smallest budget that leaves room for one chunk per CPU slot plus one in flight. */
export function minimumBudgetMb(threads: number, chunkMb: number, schema: OutputSchema = 'index'): number {
  return reserveMb(threads, schema) + (slotsOf(threads) * chunksPerSlotMin + 1) * chunkMb;
}

/** The default budget: the threads' reserve plus four chunks of read-ahead per slot, at least 512 MiB of data. */
export function defaultBudgetMb(
  threads: number = availableParallelism(),
  chunkMb = 32,
  schema: OutputSchema = 'index',
): number {
  return reserveMb(threads, schema) + Math.max(512, 4 * slotsOf(threads) * chunkMb);
}

/**
 * Splits the budget, or says why it is too small. Jobs held at once are cut so that their
 * gathering parts (a part each) and one chunk fit the data budget: the core's stall rule
 * may otherwise exceed the budget by that much (core/capacity.ts).
 */
export function memoryPlan(
  budgetMb: number,
  threads: number,
  chunkMb: number,
  schema: OutputSchema = 'index',
): MemoryPlan | string {
  const minimum = minimumBudgetMb(threads, chunkMb, schema);
  if (budgetMb < minimum) {
    return (
      `--memory-budget-mb ${budgetMb} is too small for ${threads} CPU thread(s) and ${chunkMb} MiB chunks: it needs at least ${minimum} ` +
      `(${slotReserveMb(schema)} MiB per thread with --schema ${schema}, one chunk per thread and one more); lower --threads or --chunk-mb, or raise the budget`
    );
  }
  const dataMb = budgetMb - reserveMb(threads, schema);
  const jobsFitting = Math.floor(((dataMb - chunkMb) * mebibyte) / defaultLimits.partBytes);
  return {
    dataBudgetBytes: dataMb * mebibyte,
    jobsActiveMax: Math.max(slotsOf(threads), Math.min(defaultLimits.jobsActiveMax, jobsFitting)),
  };
}
