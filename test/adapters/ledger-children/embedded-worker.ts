/**
 * A worker on the embedded ledger in a child process, for the crash test: it enqueues the
 * run's inputs (again, on every start: enqueue is idempotent), then claims and completes jobs
 * until the run is over, saying on stdout what it claimed and what the ledger acknowledged as
 * done. The parent kills it with SIGKILL at random points and starts it again.
 */
import { EmbeddedLedger } from '../../../adapters/ledger/embedded-ledger.ts';
import { contractInputs, someResult } from '../ledger-contract.ts';

const directory = process.env['LEDGER_DIRECTORY'] ?? '';
const jobCount = Number(process.env['JOB_COUNT'] ?? '100');
const runId = 'crash-run';

process.stdout.write('starting\n');
const ledger = await EmbeddedLedger.open({
  directory,
  outputKeyOf: (input) => input.filename,
  // Every start charges the leases the killed process held; the test kills a handful of times.
  attemptsMax: 50,
  // Compact often, so kills also land during compactions.
  compactLinesMin: 40,
});
await ledger.enqueue(runId, contractInputs(jobCount, 'crash'));
process.stdout.write('ready\n');
for (let round = 0; round < 10 * jobCount; round += 1) {
  const { jobs, exhausted } = await ledger.claim(runId, `worker-${process.pid}`, 4, 60_000);
  if (exhausted) break;
  for (const job of jobs) process.stdout.write(`claimed ${job.jobId} ${job.attempt}\n`);
  await Promise.all(
    jobs.map(async (job) => {
      if (await ledger.complete(runId, job, someResult)) process.stdout.write(`done ${job.jobId}\n`);
      else process.stdout.write(`refused ${job.jobId}\n`);
    }),
  );
}
await ledger.close();
process.stdout.write('finished\n');
