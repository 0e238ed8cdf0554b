/**
 * Answers that the core's model runtimes (the split-decoding drivers) give alike: the tasks
 * whose work they do not model succeed at once, and a heartbeat renews every lease it names.
 */
import type { Command, CommandOf } from '../../core/commands.ts';
import type { Input } from '../../core/inputs.ts';

/** The answer of a fetch, an upload's start, a part or an object's completion that succeeds at once; null for other commands. */
export function succeededAtOnce(command: Command): Input | null {
  switch (command.kind) {
    case 'fetchChunk':
      return { kind: 'chunkFetched', taskId: command.taskId, bytes: command.lengthBytes };
    case 'startUpload':
      return { kind: 'uploadStarted', taskId: command.taskId };
    case 'uploadPart':
      return { kind: 'partUploaded', taskId: command.taskId };
    case 'completeObject':
      return { kind: 'objectCompleted', taskId: command.taskId };
    default:
      return null;
  }
}

/** Every lease the heartbeat names, renewed. */
export function leasesRenewed(command: CommandOf<'heartbeat'>): Input {
  return { kind: 'leasesRenewed', jobIds: command.leases.map((lease) => lease.jobId), sentAtMs: command.sentAtMs };
}
