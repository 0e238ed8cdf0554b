/**
 * The User-Agent this project sends: CommonCrawl asks clients to name themselves so an
 * operator can reach the owner of a misbehaving crawler instead of blocking it.
 */
import { readFileSync } from 'node:fs';

interface PackageFacts {
  readonly version?: string;
  readonly homepage?: string;
  readonly repository?: string | { readonly url?: string };
}

/** The project's package.json, shipped beside the code: one missing or unreadable is a broken install. */
function packageFacts(): PackageFacts {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageFacts;
}

/** `cc-chunks-worker/<version> (+<project url>)`; the url from package.json's homepage or repository. */
export function userAgent(): string {
  const facts = packageFacts();
  const repository = typeof facts.repository === 'string' ? facts.repository : facts.repository?.url;
  const projectUrl = facts.homepage ?? repository?.replace(/^git\+/, '').replace(/\.git$/, '');
  const product = `cc-chunks-worker/${facts.version ?? '0.0.0'}`;
  // Without a homepage in package.json there is no address to give; inventing one would mislead.
  return projectUrl === undefined ? product : `${product} (+${projectUrl})`;
}
