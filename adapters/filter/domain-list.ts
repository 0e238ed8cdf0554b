/**
 * `--domains FILE`: the registered domains whose captures are kept, one a line. `#` starts a
 * comment (a whole line or the end of one), blank lines are skipped, case is folded (the
 * index's hosts are lower case). A line that cannot be a registered domain — with a space, a
 * `/` or a `:`, as a URL has — is the user's mistake, named by its line number.
 */
import { readFile, stat } from 'node:fs/promises';
import { domainMaxChars, domainsFileMaxBytes, domainsMax } from './filter-limits.ts';

export class DomainListError extends Error {
  override readonly name = 'DomainListError';
}

const notInDomain = /[\s/:]/;

/** The domains of a file's text; throws `DomainListError` naming the first bad line. */
export function parseDomainList(text: string, path: string): Set<string> {
  const domains = new Set<string>();
  eachDomain(text, path, (domain) => domains.add(domain));
  return domains;
}

/**
 * Calls `visit` with each domain of the text, in order, repeats included; throws
 * `DomainListError` naming the first bad line, or when the file lists too many.
 */
function eachDomain(text: string, path: string, visit: (domain: string) => void): void {
  let lineNumber = 0;
  let listed = 0;
  let start = 0;
  // One pass over the text by index, no array of lines: 1,000,000 lines stay one string.
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNumber++;
    const domain = domainOf(text.slice(start, end), path, lineNumber);
    if (domain !== null) {
      if (++listed > domainsMax)
        throw new DomainListError(`--domains ${path}: more than ${domainsMax} domains; split the run`);
      visit(domain);
    }
    start = end + 1;
  }
}

function domainOf(line: string, path: string, lineNumber: number): string | null {
  const hash = line.indexOf('#');
  const domain = (hash < 0 ? line : line.slice(0, hash)).trim().toLowerCase();
  if (domain === '') return null;
  if (notInDomain.test(domain) || domain.length > domainMaxChars)
    throw new DomainListError(
      `--domains ${path}: line ${lineNumber} is not a registered domain ("${domain.slice(0, 80)}"): give one per line, as example.com`,
    );
  return domain;
}

/** Reads and parses the file; a missing, unreadable or oversized file is a `DomainListError`. */
export async function loadDomainList(path: string): Promise<Set<string>> {
  return parseDomainList(await readDomainFile(path), path);
}

/**
 * Checks the file as `loadDomainList` would, without building the set: the main thread checks
 * it before the run (exit 2 on a mistake) and leaves holding the domains to the CPU threads.
 * Returns how many domains it lists, repeats included.
 */
export async function checkDomainList(path: string): Promise<number> {
  let listed = 0;
  eachDomain(await readDomainFile(path), path, () => listed++);
  return listed;
}

async function readDomainFile(path: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new DomainListError(`--domains ${path}: ${fileProblem(error)}; name a file of domains, one per line`);
  }
  if (size > domainsFileMaxBytes)
    throw new DomainListError(`--domains ${path}: larger than ${domainsFileMaxBytes / 1024 / 1024} MiB`);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new DomainListError(`--domains ${path}: ${fileProblem(error)}; name a file of domains, one per line`);
  }
}

function fileProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'a folder, not a file';
  if (code === 'EACCES') return 'not readable by this user';
  if (typeof code === 'string') return `cannot be read (${code})`;
  throw error;
}
