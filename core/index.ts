/** The core's public surface: the state machine, its inputs and commands, limits and ports. */
export { step, type StepResult } from './step.ts';
export { createWorkerState, type WorkerState } from './worker-state.ts';
export type { Input, InputKind, InputOf } from './inputs.ts';
export type { Command, CommandKind, CommandOf, JobOutcome, JobSummary } from './commands.ts';
export { defaultLimits, validateLimits, withLimits, type WorkerLimits } from './limits.ts';
export type { MetricsSnapshot } from './metrics-snapshot.ts';
export { stages, remotes, policies, type Stage, type Remote, type Policy, type PerStage } from './stage.ts';
export * from './failure.ts';
export type { ClaimedJob, InputRef, Lease, LeasedJob } from './input-ref.ts';
export type { Source, ByteRange } from './source.ts';
export type { Decoder, JobDecoder, DecodedChunk } from './decoder.ts';
export type { Encoder, JobEncoder } from './encoder.ts';
export type { Sink, UploadHandle, PartReceipt } from './sink.ts';
export type { Ledger, ClaimResult, HeartbeatResult, JobResult, RunStats, WorkerProgress } from './ledger.ts';
export type { Metrics, MetricDatum } from './metrics.ts';
export type { CaptureRow } from './capture-row.ts';
export { captureColumns } from './capture-row.ts';
export type { RecordCounters } from './record-counters.ts';
