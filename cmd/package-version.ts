import { readFileSync } from 'node:fs';

/** `--version` of the worker and the planner: the package's name and version, as package.json states them. */
export function versionText(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    name: string;
    version: string;
  };
  return `${manifest.name} ${manifest.version}`;
}
