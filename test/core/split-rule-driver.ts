/**
 * The core run over one split job whose decodes are played by given decoders (the real ones of
 * adapters/warc, or a model): every task answers at once, in the order sent, and the run ends
 * committed or failed. For the whole file's rules (core/split-decode.ts `judgedApart`).
 */
import type { Command, CommandOf } from '../../core/commands.ts';
import { type Failure, FailureError } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { Input } from '../../core/inputs.ts';
import { defaultLimits, type WorkerLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState } from '../../core/worker-state.ts';
import { leasesRenewed, succeededAtOnce } from './model-task-answers.ts';

export const ruleInput: InputRef = {
  uri: 'file:///f.warc.gz',
  filename: 'f.warc.gz',
  crawl: null,
  subset: null,
  segment: null,
};

/** The answers of a job's decodes: a `FailureError` thrown fails the task, as in the worker. */
export interface RuleDecoders {
  readonly sizeBytes: number;
  readonly chunkBytes: number;
  detached(command: CommandOf<'decodeDetached'>): Input;
  inOrder(command: CommandOf<'decodeChunk'>): Input;
}

export interface RuleOutcome {
  readonly committed: boolean;
  readonly failure: Failure | null;
  /** Whether a decode in order ran: the job fell back (or was never split). */
  readonly decodedInOrder: boolean;
  /** Detached decodes accepted. */
  readonly accepted: number;
}

export function splitLimits(chunkBytes: number): WorkerLimits {
  return {
    ...defaultLimits,
    splitDecode: true,
    cpuSlotsMax: 2,
    stageWorkersMax: { ...defaultLimits.stageWorkersMax, decode: 2, encode: 2 },
    chunkBytes,
    memoryBudgetBytes: 16 * chunkBytes,
    partBytes: 4 * chunkBytes,
    partBytesMin: chunkBytes,
  };
}

/** Runs the job to its end; throws when it does not end within a bound far past a few chunks' turns. */
export function runSplitJob(decoders: RuleDecoders): RuleOutcome {
  const state = createWorkerState(splitLimits(decoders.chunkBytes), { invariantChecks: 'full' });
  const pending: Command[] = [];
  let claimed = false;
  let outcome: { committed: boolean; failure: Failure | null; decodedInOrder: boolean; accepted: number } = {
    committed: false,
    failure: null,
    decodedInOrder: false,
    accepted: 0,
  };
  const execute = (command: Command): Input[] => {
    switch (command.kind) {
      case 'claimJobs': {
        if (claimed) return [{ kind: 'jobsClaimed', jobs: [], exhausted: true }];
        claimed = true;
        const job = { jobId: 'job-0', input: ruleInput, sizeBytes: decoders.sizeBytes, attempt: 1, outputKey: 'o' };
        return [{ kind: 'jobsClaimed', jobs: [job], exhausted: false }];
      }
      case 'heartbeat':
        return [leasesRenewed(command)];
      case 'failJob':
        outcome = { ...outcome, failure: command.failure };
        return [];
      case 'placeDetached':
        if (command.place) outcome = { ...outcome, accepted: outcome.accepted + 1 };
        return [];
      case 'dropJob':
      case 'releaseJob':
      case 'jobEnded':
      case 'emitMetrics':
        return [];
      default:
        pending.push(command);
        return [];
    }
  };
  const answer = (command: Command): Input => {
    if (!('taskId' in command)) throw new Error(`${command.kind} is no task`);
    const atOnce = succeededAtOnce(command);
    if (atOnce !== null) return atOnce;
    try {
      switch (command.kind) {
        case 'decodeDetached':
          return decoders.detached(command);
        case 'decodeChunk':
          outcome = { ...outcome, decodedInOrder: true };
          return decoders.inOrder(command);
        case 'encodeRowGroup':
          return { kind: 'rowGroupEncoded', taskId: command.taskId, bytes: 10 * command.rows + 4 };
        case 'commitJob':
          outcome = { ...outcome, committed: true };
          return { kind: 'jobCommitted', taskId: command.taskId };
        default:
          throw new Error(`no answer for ${command.kind}`);
      }
    } catch (error) {
      if (error instanceof FailureError) return { kind: 'taskFailed', taskId: command.taskId, failure: error.failure };
      throw error;
    }
  };
  let inputs: Input[] = [];
  let nowMs = 0;
  // Bounded: a file of a few chunks ends in far fewer turns.
  for (let turn = 0; turn < 10_000; turn++) {
    const result = step(state, nowMs, inputs);
    inputs = [];
    for (const command of result.commands) {
      if (command.kind === 'finished') return outcome;
      inputs.push(...execute(command));
    }
    inputs.push(...pending.splice(0).map(answer));
    nowMs = inputs.length > 0 ? nowMs + 1 : Math.max(nowMs + 1, result.wakeAtMs ?? nowMs + 1);
  }
  throw new Error('the run did not finish');
}
