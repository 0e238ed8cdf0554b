/**
 * A CPU thread: decodes chunks and encodes row groups for the jobs pinned to it. It keeps
 * each job's decoder, gathered rows and encoder until the job is dropped or writes its footer.
 */
import { parentPort } from 'node:worker_threads';
import type { CaptureRow } from '../../core/capture-row.ts';
import type { JobDecoder } from '../../core/decoder.ts';
import type { JobEncoder } from '../../core/encoder.ts';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { CpuReply, CpuRequest } from './cpu-messages.ts';
import { failureOf } from './task-failure.ts';

interface ThreadJob {
  decoder: JobDecoder | null;
  encoder: JobEncoder | null;
  rows: CaptureRow[];
}

const decoders = new WarcDecoder();
const encoders = createParquetEncoder();
const jobs = new Map<string, ThreadJob>();

function jobOf(jobId: string): ThreadJob {
  let job = jobs.get(jobId);
  if (job === undefined) {
    job = { decoder: null, encoder: null, rows: [] };
    jobs.set(jobId, job);
  }
  return job;
}

function decode(request: Extract<CpuRequest, { op: 'decode' }>): CpuReply {
  const job = jobOf(request.jobId);
  job.decoder ??= decoders.open(request.input);
  const decoded = job.decoder.push(request.chunk, request.final);
  for (const row of decoded.rows) job.rows.push(row);
  return { requestId: request.requestId, ok: true, rows: decoded.rows.length, rowBytes: decoded.rowBytes, counters: decoded.counters };
}

/** Pieces joined into a buffer of their own: a transferred buffer must not be Node's shared pool. */
function joined(pieces: readonly Uint8Array[]): Uint8Array {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

async function encode(request: Extract<CpuRequest, { op: 'encode' }>): Promise<CpuReply> {
  const job = jobOf(request.jobId);
  job.encoder ??= encoders.open();
  const rows = job.rows.slice(0, request.rows);
  job.rows = job.rows.slice(request.rows);
  const pieces: Uint8Array[] = [];
  if (rows.length > 0) pieces.push(await job.encoder.writeRowGroup(rows));
  if (request.final) {
    pieces.push(await job.encoder.finish());
    jobs.delete(request.jobId);
  }
  return { requestId: request.requestId, ok: true, encoded: joined(pieces) };
}

async function handle(request: CpuRequest): Promise<void> {
  if (request.op === 'drop') {
    jobs.delete(request.jobId);
    return;
  }
  let reply: CpuReply;
  try {
    reply = request.op === 'decode' ? decode(request) : await encode(request);
  } catch (error) {
    reply = { requestId: request.requestId, ok: false, failure: failureOf(error) };
  }
  const transfer = 'encoded' in reply ? [reply.encoded.buffer as ArrayBuffer] : [];
  parentPort?.postMessage(reply, transfer);
}

// One request at a time, in arrival order: a job's row groups must be encoded in order.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (request: CpuRequest) => {
  queue = queue.then(() => handle(request));
});
