/**
 * A CPU thread: decodes chunks and encodes row groups for the jobs pinned to it, with the
 * same code the event loop uses for one core (`InProcessCpu`), so a job's decoder, rows and
 * encoder live here until it is dropped or writes its footer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { captureFilterOf } from '../../adapters/filter/capture-filter.ts';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import { PickedRangeDecoder } from '../../adapters/warc/picked-range-decoder.ts';
import { WarcDecoder } from '../../adapters/warc/warc-decoder.ts';
import { decodeDetachedChunk } from '../../adapters/warc/detached-chunk-decoder.ts';
import type { CpuReply, CpuRequest, CpuThreadData } from './cpu-messages.ts';
import { InProcessCpu } from './cpu-stages.ts';
import { failureOf } from './task-failure.ts';
import { ownedBytes, transferablePieces } from './transferable-pieces.ts';

/**
 * The stages, once the row filter is built (the domains file read, the `--where` compiled). A
 * filter that cannot be built here (the domains file gone since the run checked it) fails
 * every task this thread is given, rather than the thread, which would only be started again.
 */
async function stagesOf(data: CpuThreadData): Promise<InProcessCpu> {
  const keep = await captureFilterOf(data.filter);
  const output = data.codec.output;
  const { fullInflate, compression } = data.codec;
  const decoder = new WarcDecoder(keep === null ? { output, fullInflate } : { output, fullInflate, keep });
  const decoderOptions = keep === null ? { output, fullInflate } : { output, fullInflate, keep };
  return new InProcessCpu(
    new PickedRangeDecoder(decoder),
    createParquetEncoder({ schema: output.schema, compression }),
    (input, request) => decodeDetachedChunk(input, decoderOptions, request),
  );
}

const ready: Promise<InProcessCpu | Error> = stagesOf(workerData as CpuThreadData).catch((error: unknown) =>
  error instanceof Error ? error : new Error(String(error)),
);

/** A reply and the buffers it hands over (transferred, not copied). */
interface Answer {
  readonly reply: CpuReply;
  readonly transfer: readonly ArrayBuffer[];
}

async function answer(request: Exclude<CpuRequest, { op: 'drop' }>): Promise<Answer> {
  const stages = await ready;
  if (stages instanceof Error) throw stages;
  if (request.op === 'decode') {
    const { jobId, input, chunk, final, resumeAt } = request;
    const decoded = await stages.decode(jobId, 0, input, chunk, final, resumeAt);
    return { reply: { requestId: request.requestId, ok: true, ...decoded }, transfer: [] };
  }
  if (request.op === 'decodeDetached') {
    const result = await stages.decodeDetached(0, request.input, request.request);
    const bytes = ownedBytes(result.bytes);
    return {
      reply: { requestId: request.requestId, ok: true, ...result, bytes },
      transfer: [bytes.buffer as ArrayBuffer],
    };
  }
  const piece = await stages.encode(request.jobId, 0, request.rows, request.final, request.detached);
  const { pieces, transfer } = transferablePieces(piece.pieces);
  const { requestId } = request;
  return { reply: { requestId, ok: true, encoded: pieces, footerEntries: piece.footerEntries }, transfer };
}

async function handle(request: CpuRequest): Promise<void> {
  if (request.op === 'drop') {
    const stages = await ready;
    if (!(stages instanceof Error)) stages.drop(request.jobId);
    return;
  }
  let answered: Answer;
  try {
    answered = await answer(request);
  } catch (error) {
    answered = { reply: { requestId: request.requestId, ok: false, failure: failureOf(error) }, transfer: [] };
  }
  parentPort?.postMessage(answered.reply, [...answered.transfer]);
}

// One request at a time, in arrival order: a job's row groups must be encoded in order.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (request: CpuRequest) => {
  queue = queue.then(() => handle(request));
});
