// Proves that a folder listing (and an S3 prefix listing, which takes names by the same rule)
// takes ARC files as inputs beside WARC files: `.arc` and `.arc.gz`, in any case.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isWarcName } from '../../adapters/source/input-naming.ts';
import { LocalSource } from '../../adapters/source/local-source.ts';

const root = mkdtempSync(join(tmpdir(), 'arc-listing-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('input listing', () => {
  it('takes .arc and .arc.gz names as inputs, and not names that only contain arc', () => {
    for (const name of [
      'a.arc',
      'a.arc.gz',
      'b/A.ARC.GZ',
      'x.warc',
      'x.warc.gz',
      'x.warc.wet.gz',
      'x.warc.WAT.gz',
      'x.warc.wet',
    ])
      expect(isWarcName(name), name).toBe(true);
    for (const name of [
      'a.arc.txt',
      'search.html',
      'a.parc',
      'arc',
      'a.arc.gz.md5',
      'x.wet.gz',
      'x.warc.wet.gz.md5',
      'x.warc.wax.gz',
    ])
      expect(isWarcName(name), name).toBe(false);
  });

  it('lists the ARC files of a folder beside its WARC files', async () => {
    mkdirSync(join(root, '2008'), { recursive: true });
    for (const name of ['2008/IAH-20080430204825-00000.arc.gz', 'plain.arc', 'x.warc.gz', 'notes.txt'])
      writeFileSync(join(root, name), 'x');
    const names: string[] = [];
    for await (const input of new LocalSource().list(root)) names.push(input.filename);
    expect(names.sort()).toEqual(['2008/IAH-20080430204825-00000.arc.gz', 'plain.arc', 'x.warc.gz']);
  });
});
