/** The five stages every job passes through, in pipeline order. */
export const stages = ['fetch', 'decode', 'encode', 'upload', 'commit'] as const;
export type Stage = (typeof stages)[number];

/** Position of a stage in the pipeline: 0 for fetch up to 4 for commit. */
export const stageRank: Readonly<Record<Stage, number>> = {
  fetch: 0,
  decode: 1,
  encode: 2,
  upload: 3,
  commit: 4,
};

/** A per-stage table, e.g. caps or counts. */
export type PerStage<T> = Record<Stage, T>;

export function perStage<T>(make: (stage: Stage) => T): PerStage<T> {
  return {
    fetch: make('fetch'),
    decode: make('decode'),
    encode: make('encode'),
    upload: make('upload'),
    commit: make('commit'),
  };
}

/** The remotes whose concurrency adapts to throttling. */
export const remotes = ['source', 'sink'] as const;
export type Remote = (typeof remotes)[number];

/** Scheduling policies: `weighted` is the default; the others exist for the ablation. */
export const policies = ['weighted', 'fifo', 'round-robin'] as const;
export type Policy = (typeof policies)[number];
