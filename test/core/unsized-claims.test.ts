/**
 * Jobs the driver claimed but could not size come to the core in `jobsClaimed.unsized`: it
 * fails them through the ledger (which retries one that is not the input's fault later),
 * except while draining, when one whose lookup was cut short goes back uncharged; one whose
 * input is gone fails even then.
 */
import { describe, expect, test } from 'vitest';
import { inputFault, ourFault } from '../../core/failure.ts';
import { withLimits } from '../../core/limits.ts';
import { step } from '../../core/step.ts';
import { createWorkerState } from '../../core/worker-state.ts';
import { inputRefFor } from '../../adapters/source/input-naming.ts';

describe('the core, given jobs it could not size', () => {
  const job = (id: string) => {
    const input = inputRefFor(`https://example.invalid/${id}.warc.gz`, `${id}.warc.gz`);
    return { jobId: id, input, sizeBytes: null, attempt: 1, outputKey: `${id}.parquet` };
  };

  test('releases a cancelled one while draining, and fails one whose input is gone', () => {
    const state = createWorkerState(withLimits({}), { invariantChecks: 'full' });
    expect(step(state, 0, []).commands.map((command) => command.kind)).toContain('claimJobs');
    step(state, 1, [{ kind: 'shutdownRequested' }]);
    const { commands } = step(state, 2, [
      {
        kind: 'jobsClaimed',
        jobs: [],
        exhausted: false,
        unsized: [
          { job: job('cut'), failure: ourFault('sizing cancelled', true) },
          { job: job('gone'), failure: inputFault('HEAD answered 404') },
        ],
      },
    ]);
    const ledgerWrites = commands
      .filter((command) => command.kind === 'releaseJob' || command.kind === 'failJob')
      .map((command) => `${command.kind} ${(command as { lease: { jobId: string } }).lease.jobId}`);
    expect(ledgerWrites).toEqual(['releaseJob cut', 'failJob gone']);
  });

  test('fails a throttled one when not draining: the ledger retries it later', () => {
    const state = createWorkerState(withLimits({}), { invariantChecks: 'full' });
    step(state, 0, []);
    const { commands } = step(state, 1, [
      {
        kind: 'jobsClaimed',
        jobs: [],
        exhausted: false,
        unsized: [
          {
            job: job('busy'),
            failure: { reason: 'HEAD answered 503', fault: 'remote', retryable: true, throttled: true },
          },
        ],
      },
    ]);
    expect(commands.filter((command) => command.kind === 'failJob')).toHaveLength(1);
    expect(commands.filter((command) => command.kind === 'releaseJob')).toHaveLength(0);
  });
});
