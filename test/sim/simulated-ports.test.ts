/**
 * Proves that the simulator's ports behave as the real ones do by their contracts: the
 * simulated ledger passes the Ledger contract on virtual time (the contract's sleeps advance
 * the clock, so lease expiry and retry back-off take no wall time), the in-memory source
 * passes the Source contract and the in-memory store passes the Sink contract. Also proves
 * what the contracts leave open: source latency is spent on the virtual clock, the sink
 * refuses a small part before the last and a receipt for a replaced part, and the fleet's
 * ledger shares the lease fence with the port.
 */
import { describe, expect, test } from 'vitest';
import { FailureError } from '../../core/failure.ts';
import { SimulatedLedger } from '../../sim/simulated-ledger.ts';
import { SimulatedLedgerPort } from '../../sim/simulated-ledger-port.ts';
import { SimulatedSink } from '../../sim/simulated-sink.ts';
import { SimulatedSource } from '../../sim/simulated-source.ts';
import { VirtualClock } from '../../sim/virtual-clock.ts';
import type { ContractClock } from '../adapters/ledger-contract.ts';
import { registerLedgerContract } from '../adapters/ledger-contract.ts';
import { sinkContract } from '../adapters/sink-contract.ts';
import { sourceContract } from '../adapters/source-contract.ts';

function patterned(lengthBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  let state = seed;
  for (let index = 0; index < lengthBytes; index += 1) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

const ledgerClock = new VirtualClock({ startMs: 1_700_000_000_000 });
const virtualContractClock: ContractClock = {
  nowMs: () => ledgerClock.nowMs(),
  sleep: async (milliseconds) => ledgerClock.advance(milliseconds),
};
registerLedgerContract(
  'simulated',
  async (options) => new SimulatedLedgerPort({ ...options, clock: ledgerClock }),
  virtualContractClock,
);

/** Listed under `crawl/`, in path order: the WARC files only. */
const listed: [string, Uint8Array][] = [
  ['crawl/a.warc.gz', patterned(50_000, 1)],
  ['crawl/b/c.warc', patterned(20_001, 2)],
  ['crawl/d.warc.gz', patterned(1, 3)],
];
const unlisted: [string, Uint8Array][] = [
  ['crawl/notes.txt', patterned(100, 4)],
  ['elsewhere/e.warc.gz', patterned(100, 5)],
];

sourceContract('simulated', async () => ({
  source: new SimulatedSource({ files: new Map([...unlisted, ...listed]) }),
  spec: 'crawl/',
  expected: listed.map(([filename, bytes]) => ({ filename, bytes })),
  missing: {
    uri: SimulatedSource.uriOf('crawl/gone.warc.gz'),
    filename: 'crawl/gone.warc.gz',
    crawl: null,
    subset: null,
    segment: null,
  },
}));

sinkContract('simulated', async () => {
  // Small parts keep the contract quick; the rule is the same at S3's 5 MiB.
  const sink = new SimulatedSink({ partBytesMin: 64 * 1024 });
  return {
    sink,
    partBytesMin: sink.partBytesMin,
    readObject: async (key) => sink.readObject(key),
    leftovers: async () => sink.openUploads(),
  };
});

describe('simulated ports beyond their contracts', () => {
  test('a read with latency answers only once virtual time has passed it', async () => {
    const clock = new VirtualClock();
    const source = new SimulatedSource({ files: new Map(listed), clock, latencyMs: 40 });
    let answered = false;
    const [input] = [
      {
        uri: SimulatedSource.uriOf('crawl/a.warc.gz'),
        filename: 'crawl/a.warc.gz',
        crawl: null,
        subset: null,
        segment: null,
      },
    ];
    const reading = source.read(input, { offsetBytes: 0, lengthBytes: 10 }).then((bytes) => {
      answered = true;
      return bytes;
    });
    clock.advance(39);
    await Promise.resolve();
    expect(answered).toBe(false);
    clock.advance(1);
    expect(await reading).toEqual(listed[0]![1].subarray(0, 10));
    expect(clock.sleeping).toBe(0);
  });

  test('the sink refuses a small part before the last and a receipt for a replaced part', async () => {
    const sink = new SimulatedSink({ partBytesMin: 100 });
    const small = await sink.begin('small/first.parquet');
    await sink.start(small);
    const receipts = [
      await sink.uploadPart(small, 1, [new Uint8Array(99)]),
      await sink.uploadPart(small, 2, [new Uint8Array(5)]),
    ];
    await expect(sink.complete(small, receipts)).rejects.toBeInstanceOf(FailureError);
    const replaced = await sink.begin('replaced/part.parquet');
    const stale = await sink.uploadPart(replaced, 1, [new Uint8Array(10)]);
    await sink.uploadPart(replaced, 1, [new Uint8Array(20)]);
    await expect(sink.complete(replaced, [stale])).rejects.toBeInstanceOf(FailureError);
    expect(sink.readObject('small/first.parquet')).toBeNull();
    expect(sink.readObject('replaced/part.parquet')).toBeNull();
  });

  test('the sink refuses a part after the first before the upload was started, as S3 would', async () => {
    const sink = new SimulatedSink({ partBytesMin: 100 });
    const handle = await sink.begin('unstarted/two.parquet');
    await sink.uploadPart(handle, 1, [new Uint8Array(200)]);
    await expect(sink.uploadPart(handle, 2, [new Uint8Array(5)])).rejects.toBeInstanceOf(FailureError);
    await sink.start(handle);
    await sink.uploadPart(handle, 2, [new Uint8Array(5)]);
    expect(sink.startedCount()).toBe(1);
  });

  test('the fleet ledger keeps its fence: an expired lease is refused before it is reclaimed', () => {
    const ledger = new SimulatedLedger([10], { jobAttemptsMax: 3, jobRetryDelayMs: 1 });
    const [job] = ledger.claim(0, 1, 0, 100).jobs;
    expect(ledger.holds({ jobId: job!.jobId, attempt: job!.attempt }, 99)).toBe(true);
    expect(ledger.complete({ jobId: job!.jobId, attempt: job!.attempt + 1 }, 50)).toBe(false);
    expect(ledger.complete({ jobId: job!.jobId, attempt: job!.attempt }, 100)).toBe(false);
    expect(ledger.claim(1, 1, 100, 100).jobs.map((claimed) => claimed.attempt)).toEqual([2]);
  });
});
