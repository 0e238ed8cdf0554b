/**
 * A CPU thread: decodes chunks and encodes row groups for the jobs pinned to it, with the
 * same code the event loop uses for one core (`InProcessCpu`), so a job's decoder, rows and
 * encoder live here until it is dropped or writes its footer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createParquetEncoder, parquetCompressionDefault } from '../../adapters/parquet/parquet-encoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import type { CpuReply, CpuRequest, CpuThreadOptions } from './cpu-messages.ts';
import { InProcessCpu } from './cpu-stages.ts';
import { failureOf } from './task-failure.ts';

const options = (workerData ?? { fullInflate: false, compression: parquetCompressionDefault }) as CpuThreadOptions;
const stages = new InProcessCpu(
  new WarcDecoder({ fullInflate: options.fullInflate }),
  createParquetEncoder({ compression: options.compression }),
);

/** Bytes in a buffer of their own: a transferred buffer must not be Node's shared pool. */
function owned(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes : bytes.slice();
}

async function answer(request: Exclude<CpuRequest, { op: 'drop' }>): Promise<CpuReply> {
  if (request.op === 'decode') {
    const decoded = await stages.decode(request.jobId, 0, request.input, request.chunk, request.final);
    return { requestId: request.requestId, ok: true, ...decoded };
  }
  const encoded = owned(await stages.encode(request.jobId, 0, request.rows, request.final));
  return { requestId: request.requestId, ok: true, encoded };
}

async function handle(request: CpuRequest): Promise<void> {
  if (request.op === 'drop') return stages.drop(request.jobId);
  let reply: CpuReply;
  try {
    reply = await answer(request);
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
