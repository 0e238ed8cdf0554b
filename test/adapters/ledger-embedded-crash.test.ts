/**
 * Proves the embedded ledger survives SIGKILL at random points: a child process claims and
 * completes jobs and is killed mid-work several times (during startup, enqueue, claims,
 * completes and compactions alike), then restarted until the run is over. Nothing the ledger
 * acknowledged as done is handed out again, nothing is lost (every job ends done, none
 * failed), and no job is completed twice. The kill times come from a seed printed on failure
 * (LEDGER_CRASH_SEED replays it).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import { journalFileName } from '../../adapters/ledger/journal-file.ts';
import { contractInputs } from './ledger-contract.ts';
import { childPath, startChild } from './ledger-children/child-process.ts';

const jobCount = 2_000;
const killsMax = 6;

/** A small seeded generator (mulberry32), so a failing run's kill times can be replayed. */
function seededUnit(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

test('a worker killed at random points and restarted redoes nothing done and loses nothing', async () => {
  const seed = Number(process.env['LEDGER_CRASH_SEED'] ?? Date.now() % 1_000_000);
  const random = seededUnit(seed);
  const directory = await mkdtemp(join(tmpdir(), 'embedded-ledger-crash-'));
  const transcript: string[] = [];
  let kills = 0;
  try {
    for (let start = 0; start < killsMax + 3; start += 1) {
      const child = startChild(childPath('embedded-worker.ts'), {
        LEDGER_DIRECTORY: directory,
        JOB_COUNT: String(jobCount),
      });
      if (kills < killsMax) {
        // Some kills land while the child opens the ledger (replay, enqueue), most while it works.
        const moment = random() < 0.3 ? 'starting' : 'ready';
        await child.waitForLine((line) => line === moment, 20_000).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, random() * (moment === 'starting' ? 60 : 150)));
        await child.kill();
        kills += 1;
      } else {
        await child.waitForLine((line) => line === 'finished', 30_000);
        await child.exited;
      }
      transcript.push(...child.lines);
      if (child.lines.includes('finished')) break;
    }
    const context = `seed ${seed} (LEDGER_CRASH_SEED=${seed} replays it)`;
    expect(transcript, context).toContain('finished');
    checkTranscript(transcript, context);

    const ledger = await EmbeddedLedger.open({ directory, outputKeyOf: (input) => input.filename });
    try {
      expect(await ledger.stats('crash-run'), context).toMatchObject({ done: jobCount, failed: 0, remaining: 0 });
      const journalLines = (await readFile(join(directory, journalFileName), 'utf8')).split('\n').length;
      expect(journalLines, `compaction keeps the journal short; ${context}`).toBeLessThan(200);
      expect((await ledger.enqueue('crash-run', contractInputs(jobCount, 'crash'))).added).toBe(0);
    } finally {
      await ledger.close();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

/** In the order the children said it: no claim after an acknowledged done, no second done. */
function checkTranscript(transcript: readonly string[], context: string): void {
  const done = new Set<string>();
  for (const line of transcript) {
    const [word, jobId] = line.split(' ');
    if (word === 'claimed')
      expect(done.has(jobId!), `job ${jobId} handed out after it was done; ${context}`).toBe(false);
    if (word === 'done') {
      expect(done.has(jobId!), `job ${jobId} completed twice; ${context}`).toBe(false);
      done.add(jobId!);
    }
    expect(word, `a held lease was refused; ${context}`).not.toBe('refused');
  }
}
