/**
 * `--where` and `--domains` mistakes, made with the real binary, by flag, environment variable
 * and YAML key: a syntax error, an unknown or payload column, a comparison DuckDB would refuse,
 * a domains file that is missing or lists a URL. Each exits 2 with one line that names the
 * mistake and its place (line and column, or line number), before anything is written: no
 * output folder, no ledger.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localWorkerOptions, runWorkerCommandSync } from '../support/worker-process.ts';

const sample = resolve(import.meta.dirname, '../../samples/warcio/example.warc.gz');
const root = mkdtempSync(join(tmpdir(), 'worker-filter-mistakes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function caseFolder(name: string, files: Record<string, string> = {}): string {
  const folder = join(root, name);
  mkdirSync(join(folder, 'in'), { recursive: true });
  copyFileSync(sample, join(folder, 'in', 'example.warc.gz'));
  for (const [path, text] of Object.entries(files)) writeFileSync(join(folder, path), text);
  return folder;
}

function expectMistake(folder: string, args: string[], says: RegExp, environment: Record<string, string> = {}): void {
  const before = readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort();
  const result = runWorkerCommandSync(
    ['--input', './in', '--output', './out', '--metrics', 'none', ...args],
    localWorkerOptions(folder, environment, folder),
  );
  const text = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{"'));
  expect(text, result.stderr).toHaveLength(1);
  expect(text[0]).toMatch(/^error: --(where|domains)/);
  expect(text[0]).toMatch(says);
  expect(result.stderr).not.toMatch(/ {4}at /);
  expect(result.code).toBe(2);
  expect(readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort()).toEqual(before);
}

describe('node cmd/worker, given a --where mistake', () => {
  it('exits 2 for a syntax error, with its line and column', () => {
    expectMistake(
      caseFolder('syntax'),
      ['--where', "fetch_status = 200 AND\n(url LIKE 'a%'"],
      /syntax error.*at line 2, column/,
    );
  });

  it('exits 2 for an unknown column, named with the columns there are', () => {
    expectMistake(
      caseFolder('unknown'),
      ['--where', 'status = 200'],
      /unknown column "status".*fetch_status.*at line 1, column 1/,
    );
  });

  it('exits 2 for a payload column, given in the environment', () => {
    expectMistake(caseFolder('payload'), [], /content is a payload column.*at line 1, column 24/, {
      WHERE: "fetch_status = 200 AND content LIKE '%x%'",
    });
  });

  it('exits 2 for a comparison DuckDB would refuse, given in the YAML file', () => {
    const folder = caseFolder('types', { 'worker.yaml': 'where: "url_host_tld = 5"\n' });
    expectMistake(folder, ['--config', './worker.yaml'], /cannot compare url_host_tld \(a string\) with 5/);
  });
});

describe('node cmd/worker, given a --domains mistake', () => {
  it('exits 2 for a file that does not exist', () => {
    expectMistake(caseFolder('missing'), ['--domains', './domains.txt'], /--domains \.\/domains\.txt: no such file/);
  });

  it('exits 2 for a line that is a URL, named by its number', () => {
    const folder = caseFolder('url-line', { 'domains.txt': '# mine\nexample.com\nhttps://example.org/\n' });
    expectMistake(folder, ['--domains', './domains.txt'], /line 3 is not a registered domain/);
  });
});
