/**
 * `--domains` files as people write them: comments, blank lines, case, spaces, Windows line
 * ends; a line that is no domain (a URL, two words) named by its number; a file that is
 * missing, a folder, or past the size limit. And the filter built from a list: one lookup of
 * url_host_registered_domain, a null domain never listed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaptureRow } from '../../core/capture-row.ts';
import { captureFilterOf } from '../../adapters/filter/capture-filter.ts';
import {
  checkDomainList,
  DomainListError,
  loadDomainList,
  parseDomainList,
} from '../../adapters/filter/domain-list.ts';

const folder = mkdtempSync(join(tmpdir(), 'filter-domains-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('a domains file', () => {
  it('keeps each domain once, case folded, without comments or blanks', () => {
    const text = '# kept domains\r\n\r\nExample.COM\r\n  iana.org   # the IANA\n\nexample.com\nbücher.de';
    expect([...parseDomainList(text, 'f')]).toEqual(['example.com', 'iana.org', 'bücher.de']);
  });

  it('holds whatever domains are written, each found again', () => {
    const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(label, label), { maxLength: 50 }), (pairs) => {
        const domains = pairs.map(([a, b]) => `${a}.${b}`);
        const parsed = parseDomainList(domains.map((domain) => domain.toUpperCase()).join('\n'), 'f');
        expect(parsed).toEqual(new Set(domains));
      }),
    );
  });

  it('names the first line that is no domain', () => {
    for (const [text, line] of [
      ['a.com\nhttps://b.com/\n', 2],
      ['a.com\n\n# x\nb.com c.com\n', 4],
      [`${'x'.repeat(254)}\n`, 1],
    ] as const) {
      expect(() => parseDomainList(text, 'list.txt')).toThrow(DomainListError);
      expect(() => parseDomainList(text, 'list.txt')).toThrow(new RegExp(`^--domains list.txt: line ${line} `));
    }
  });

  it('is checked as it is loaded, without holding the set', async () => {
    const file = join(folder, 'checked.txt');
    writeFileSync(file, '# two, one twice\na.com\nb.org\nA.com\n');
    expect(await checkDomainList(file)).toBe(3);
    expect(await loadDomainList(file)).toEqual(new Set(['a.com', 'b.org']));
    writeFileSync(file, 'a.com\nhttp://b.org\n');
    await expect(checkDomainList(file)).rejects.toThrow(/line 2 is not a registered domain/);
  });

  it('says what is wrong with a file that cannot be read', async () => {
    mkdirSync(join(folder, 'a-folder'));
    await expect(loadDomainList(join(folder, 'missing.txt'))).rejects.toThrow(/no such file/);
    await expect(loadDomainList(join(folder, 'a-folder'))).rejects.toThrow(/a folder, not a file/);
  });
});

describe('the filter of a list', () => {
  it('keeps a capture whose registered domain is listed, and none without one', async () => {
    const file = join(folder, 'domains.txt');
    writeFileSync(file, 'example.org\n');
    const keep = await captureFilterOf({ where: null, domainsPath: file });
    const row = (domain: string | null) => ({ url_host_registered_domain: domain }) as CaptureRow;
    expect(keep?.(row('example.org'))).toBe(true);
    expect(keep?.(row('www.example.org'))).toBe(false);
    expect(keep?.(row(null))).toBe(false);
  });
});
