/**
 * Static shards: a fleet without a shared ledger. Worker I of N takes inputs I, I+N, I+2N, …
 * of the sorted input list, and keeps its own embedded ledger. Kubernetes Indexed Jobs and
 * AWS Batch array jobs give each worker its index; every worker must see the same sorted list
 * (sort by URI before sharding), or two workers take the same input and others none.
 *
 * Striding rather than cutting the list in N blocks spreads a crawl's segments (whose files
 * differ in size) evenly over the workers.
 */
import { at } from '../../core/checked-access.ts';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export function shardInputs<Input>(sortedInputs: readonly Input[], index: number, count: number): Input[] {
  checkShard({ index, count });
  const taken: Input[] = [];
  for (let position = index; position < sortedInputs.length; position += count) taken.push(at(sortedInputs, position));
  return taken;
}

/** Parses `--shard I/N` (0-based index). */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (match === null)
    throw new Error(`configuration error (user's): --shard must look like I/N, e.g. 0/4; got ${JSON.stringify(text)}`);
  const shard = { index: Number(match[1]), count: Number(match[2]) };
  checkShard(shard);
  return shard;
}

/**
 * The shard from the environment: WORKER_INDEX and WORKER_COUNT, or the index that Kubernetes
 * (JOB_COMPLETION_INDEX) or AWS Batch (AWS_BATCH_JOB_ARRAY_INDEX) sets, with WORKER_COUNT.
 * Undefined when no index is set: the worker is not sharded.
 */
export function shardFromEnvironment(environment: Readonly<Record<string, string | undefined>>): Shard | undefined {
  const indexText =
    environment['WORKER_INDEX'] ?? environment['JOB_COMPLETION_INDEX'] ?? environment['AWS_BATCH_JOB_ARRAY_INDEX'];
  if (indexText === undefined || indexText === '') return undefined;
  const countText = environment['WORKER_COUNT'];
  if (countText === undefined || countText === '') {
    throw new Error(
      `configuration error (user's): a worker index (${indexText}) is set but WORKER_COUNT is not; set WORKER_COUNT to the number of workers`,
    );
  }
  return parseShard(`${indexText}/${countText}`);
}

function checkShard(shard: Shard): void {
  if (!Number.isSafeInteger(shard.count) || shard.count < 1) {
    throw new Error(`configuration error (user's): shard count must be a positive integer, got ${shard.count}`);
  }
  if (!Number.isSafeInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new Error(`configuration error (user's): shard index must be in [0, ${shard.count - 1}], got ${shard.index}`);
  }
}
