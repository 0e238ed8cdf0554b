import { allowed } from './remote-limit.ts';
import type { Command } from './commands.ts';
import { dispatchReadyTasks } from './dispatch.ts';
import { assert } from './failure.ts';
import { checkInvariants } from './invariants.ts';
import type { Input, InputOf } from './inputs.ts';
import {
  admitJob,
  endJob,
  maybeQueueCommit,
  queueSizing,
  queueUploadStart,
  SizeTaskIndex,
  StartTaskIndex,
} from './job-lifecycle.ts';
import { ChunkStatus, isSized, PartStatus, type JobState } from './job-state.ts';
import { metricsSnapshot } from './metrics-snapshot.ts';
import { nextTokenAtMs } from './request-rate.ts';
import { enqueueReady, nextBackoffAtMs, releaseDueBackoff } from './ready-queue.ts';
import type { Stage } from './stage.ts';
import { applyTaskAnswer } from './task-answers.ts';
import type { WorkerState } from './worker-state.ts';

export interface StepResult {
  readonly commands: Command[];
  /** When to call `step` again if nothing else happens first; null when nothing is pending. */
  readonly wakeAtMs: number | null;
}

/**
 * The worker's heart: given what happened and the time now, decide what to do next.
 * Never awaits, never reads a clock, never does I/O: the driver (the simulator or the node
 * runtime) owns time and the outside world. `state` is the driver's to keep and only `step`
 * changes it; the same state, times and inputs always give the same commands. It ends by
 * checking the state's invariants (invariants.ts): a broken one throws before its commands
 * can reach the world.
 */
export function step(state: WorkerState, nowMs: number, inputs: readonly Input[]): StepResult {
  assert(nowMs >= state.lastNowMs, `time went backwards: ${nowMs} < ${state.lastNowMs}`);
  state.lastNowMs = nowMs;
  const commands: Command[] = [];
  if (state.finished) return { commands, wakeAtMs: null };
  if (!state.started) start(state, nowMs);
  for (const input of inputs) applyInput(state, input, nowMs, commands);
  releaseDueBackoff(state, nowMs, (job, stage, index) => requeueAfterBackoff(state, job, stage, index, nowMs));
  expireLeases(state, nowMs, commands);
  endDrainAtDeadline(state, nowMs, commands);
  dispatchReadyTasks(state, nowMs, commands);
  sendHeartbeat(state, nowMs, commands);
  claimWhenSlack(state, nowMs, commands);
  emitMetricsWhenDue(state, nowMs, commands);
  finishWhenDone(state, nowMs, commands);
  const wakeAtMs = state.finished ? null : nextWakeAtMs(state, nowMs);
  checkInvariants(state);
  return { commands, wakeAtMs };
}

function start(state: WorkerState, nowMs: number): void {
  state.started = true;
  state.nextHeartbeatAtMs = nowMs + state.limits.heartbeatIntervalMs;
  state.nextMetricsAtMs = nowMs + state.limits.metricsIntervalMs;
}

function applyInput(state: WorkerState, input: Input, nowMs: number, commands: Command[]): void {
  switch (input.kind) {
    case 'jobsClaimed':
      return onJobsClaimed(state, input, nowMs, commands);
    case 'claimFailed':
      state.claimInFlight = false;
      state.claimNotBeforeMs = nowMs + state.limits.claimIdleMs;
      return;
    case 'leasesRenewed':
      return onLeasesRenewed(state, input.jobIds, input.sentAtMs);
    case 'leaseLost':
      return onLeaseLost(state, input.jobId, commands);
    case 'shutdownRequested':
      return onShutdownRequested(state, nowMs, commands);
    case 'timer':
      return;
    default:
      return applyTaskAnswer(state, input, nowMs, commands);
  }
}

/**
 * Drain: claim nothing more, finish or release the jobs by the deadline. A job still being
 * sized goes back to the ledger at once, uncharged: it has done nothing yet, and its HEADs
 * would only spend the drain on a job that cannot finish in it.
 */
function onShutdownRequested(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (state.draining) return;
  state.draining = true;
  state.drainDeadlineMs = nowMs + state.limits.drainTimeoutMs;
  for (const job of [...state.jobs.values()]) if (!isSized(job)) endJob(state, job, 'released', commands);
}

function onJobsClaimed(state: WorkerState, claim: InputOf<'jobsClaimed'>, nowMs: number, commands: Command[]): void {
  state.claimInFlight = false;
  state.exhausted = claim.exhausted && claim.jobs.length === 0;
  if (claim.jobs.length === 0) state.claimNotBeforeMs = nowMs + state.limits.claimIdleMs;
  const leaseValidUntilMs = state.claimSentAtMs + state.limits.leaseMs;
  for (const leased of claim.jobs) {
    // The ledger may hand back a job whose earlier lease of ours expired: that lease is gone.
    const stale = state.jobs.get(leased.jobId);
    if (stale !== undefined) endJob(state, stale, 'lost', commands);
    const job = admitJob(state, leased, nowMs, leaseValidUntilMs);
    if (state.draining) endJob(state, job, 'released', commands);
  }
}

/** A renewal is trusted from when it was sent: the ledger's lease can only run longer than that. */
function onLeasesRenewed(state: WorkerState, jobIds: readonly string[], sentAtMs: number): void {
  const validUntilMs = sentAtMs + state.limits.leaseMs;
  for (const jobId of jobIds) {
    const job = state.jobs.get(jobId);
    if (job !== undefined && validUntilMs > job.leaseValidUntilMs) job.leaseValidUntilMs = validUntilMs;
  }
}

/**
 * A lost lease ends the job at once, unless its commit is in flight: the commit's own fenced
 * write then decides (a heartbeat racing a completing commit reports the lease gone because
 * the job is done), and a refused commit is answered as a lost lease too.
 */
function onLeaseLost(state: WorkerState, jobId: string, commands: Command[]): void {
  const job = state.jobs.get(jobId);
  if (job === undefined) return;
  if (job.commitRunning) job.leaseLostDuringCommit = true;
  else endJob(state, job, 'lost', commands);
}

function requeueAfterBackoff(state: WorkerState, job: JobState, stage: Stage, index: number, nowMs: number): void {
  if (stage === 'fetch' && index === SizeTaskIndex) queueSizing(state, job, nowMs);
  else if (stage === 'upload' && index === StartTaskIndex) queueUploadStart(state, job, nowMs);
  else if (stage === 'fetch') {
    job.chunkStatus[index] = ChunkStatus.Ready;
    enqueueReady(state, job, 'fetch', index, nowMs, job.chunkReserved[index] === 1);
  } else if (stage === 'upload') {
    const part = job.parts[index - 1];
    if (part !== undefined) part.status = PartStatus.Ready;
    enqueueReady(state, job, 'upload', index, nowMs);
  } else {
    assert(stage === 'commit', `a ${stage} task never backs off: its failure ends the job`);
    // The lease check skipped this job while its commit ran; it must be checked before the retry.
    state.nextLeaseCheckAtMs = Math.min(state.nextLeaseCheckAtMs, job.leaseValidUntilMs - state.limits.leaseSafetyMs);
    job.commitQueued = false;
    maybeQueueCommit(state, job, nowMs);
  }
}

/**
 * Jobs whose lease may have run out are lost: stop, drop their data, never commit. A job whose
 * commit is in flight waits for its answer instead; the ledger's fencing decides that one.
 */
function expireLeases(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (nowMs < state.nextLeaseCheckAtMs) return;
  const safetyMs = state.limits.leaseSafetyMs;
  let nextCheckAtMs = Infinity;
  for (const job of [...state.jobs.values()]) {
    if (job.commitRunning) continue;
    if (nowMs >= job.leaseValidUntilMs - safetyMs) endJob(state, job, 'lost', commands);
    else nextCheckAtMs = Math.min(nextCheckAtMs, job.leaseValidUntilMs - safetyMs);
  }
  state.nextLeaseCheckAtMs = nextCheckAtMs;
}

/**
 * At the drain deadline, every job not committing is handed back to the ledger. A job whose
 * object is published is committing until its ledger write ends: that write is a round trip,
 * and a release would only make another worker write the same object again.
 */
function endDrainAtDeadline(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (!state.draining || nowMs < state.drainDeadlineMs) return;
  for (const job of [...state.jobs.values()]) {
    if (!job.commitRunning && !job.objectCompleted) endJob(state, job, 'released', commands);
  }
}

function sendHeartbeat(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (nowMs < state.nextHeartbeatAtMs) return;
  state.nextHeartbeatAtMs = nowMs + state.limits.heartbeatIntervalMs;
  if (state.jobs.size === 0) return;
  const leases = [...state.jobs.values()].map((job) => ({ jobId: job.claimed.jobId, attempt: job.claimed.attempt }));
  commands.push({ kind: 'heartbeat', leases, sentAtMs: nowMs });
}

/**
 * Claims jobs when the pipeline has slack: fewer jobs than `jobsActiveMax`, fewer ready
 * fetches than the source may run at once (so the network would soon idle), and room in the
 * memory budget for another chunk. Never while draining, and one claim at a time.
 */
function claimWhenSlack(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (state.draining || state.claimInFlight || nowMs < state.claimNotBeforeMs) return;
  const limits = state.limits;
  const room = limits.jobsActiveMax - state.jobs.size;
  if (room <= 0) return;
  const fetchSlots = Math.min(limits.stageWorkersMax.fetch, allowed(state.remotes.source));
  const fetchStarved = state.readyCount.fetch < fetchSlots;
  const memoryRoom = state.heldBytes + limits.chunkBytes <= limits.memoryBudgetBytes || state.jobs.size === 0;
  if (!fetchStarved || !memoryRoom) return;
  state.claimInFlight = true;
  state.claimSentAtMs = nowMs;
  commands.push({ kind: 'claimJobs', count: Math.min(room, limits.claimBatchMax) });
}

function emitMetricsWhenDue(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (nowMs < state.nextMetricsAtMs) return;
  state.nextMetricsAtMs = nowMs + state.limits.metricsIntervalMs;
  commands.push({ kind: 'emitMetrics', snapshot: metricsSnapshot(state, nowMs) });
}

/**
 * Done when no job is held, none will come (the run is exhausted, or we are draining), and
 * every task has been answered: tasks of ended jobs still hold memory, and a driver that
 * exits on `finished` must not cut them off.
 */
function finishWhenDone(state: WorkerState, nowMs: number, commands: Command[]): void {
  if (state.jobs.size > 0 || state.claimInFlight || state.inFlight.size > 0) return;
  if (!state.exhausted && !state.draining) return;
  state.finished = true;
  commands.push({ kind: 'emitMetrics', snapshot: metricsSnapshot(state, nowMs) });
  commands.push({ kind: 'finished' });
}

function nextWakeAtMs(state: WorkerState, nowMs: number): number | null {
  let wakeAtMs = Math.min(nextBackoffAtMs(state), state.nextMetricsAtMs);
  if (state.jobs.size > 0) wakeAtMs = Math.min(wakeAtMs, state.nextHeartbeatAtMs, state.nextLeaseCheckAtMs);
  if (state.draining && state.drainDeadlineMs > nowMs) wakeAtMs = Math.min(wakeAtMs, state.drainDeadlineMs);
  // A task held back by its remote's request rate starts when the next token comes.
  if (state.readyCount.fetch > 0) wakeAtMs = Math.min(wakeAtMs, nextTokenAtMs(state.requestRates.source));
  if (state.readyCount.upload > 0) wakeAtMs = Math.min(wakeAtMs, nextTokenAtMs(state.requestRates.sink));
  if (!state.draining && !state.claimInFlight && state.claimNotBeforeMs > nowMs)
    wakeAtMs = Math.min(wakeAtMs, state.claimNotBeforeMs);
  assert(wakeAtMs > nowMs, `a wake-up at ${wakeAtMs} is not after now (${nowMs}): the driver would spin`);
  return Number.isFinite(wakeAtMs) ? wakeAtMs : null;
}
