/**
 * Proves that `core/` stays pure: it imports nothing outside `core/` (no packages, no `node:*`)
 * and touches no clock, randomness, timer, process or I/O global. The simulator's determinism
 * and the property tests rest on this.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const coreRoot = resolve(import.meta.dirname, '../../core');

/** Globals that read the outside world or the clock, or schedule work. */
const forbiddenGlobals = [
  /\bDate\b/,
  /\bMath\.random\b/,
  /\bperformance\b/,
  /\bsetTimeout\b/,
  /\bsetInterval\b/,
  /\bsetImmediate\b/,
  /\bqueueMicrotask\b/,
  /\bprocess\b/,
  /\brequire\s*\(/,
  /\bfetch\s*\(/,
  /\bglobalThis\b/,
  /\bcrypto\b/,
  /\bBuffer\b/,
  /\bconsole\b/,
  /\bawait\b/,
  /\bimport\s*\(/,
];

export function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]/g;
  for (const match of source.matchAll(pattern)) specifiers.push((match[1] ?? match[2]) as string);
  return specifiers;
}

/** Source text without comments and string literals, so prose like "a Date" does not count. */
export function codeOnly(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/`(?:[^`\\]|\\.)*`/g, '``')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}

function coreFiles(): string[] {
  return readdirSync(coreRoot, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(coreRoot, name));
}

describe('core purity', () => {
  it('finds the core files', () => {
    expect(coreFiles().length).toBeGreaterThan(10);
  });

  it.each(coreFiles().map((file) => [relative(coreRoot, file), file]))('%s imports only core/', (_name, file) => {
    const source = readFileSync(file, 'utf8');
    for (const specifier of importSpecifiers(source)) {
      expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\.?\//);
      const target = resolve(join(file, '..'), specifier);
      expect(target.startsWith(coreRoot + '/'), `${file} reaches outside core/: ${specifier}`).toBe(true);
    }
  });

  it.each(coreFiles().map((file) => [relative(coreRoot, file), file]))(
    '%s touches no clock, randomness, timer, process or I/O',
    (_name, file) => {
      const code = codeOnly(readFileSync(file, 'utf8'));
      for (const pattern of forbiddenGlobals) expect(code, `${file} uses ${pattern}`).not.toMatch(pattern);
    },
  );

  it('catches what it is meant to catch', () => {
    expect(importSpecifiers("import { readFile } from 'node:fs';")).toEqual(['node:fs']);
    expect(importSpecifiers("import type { X } from '../adapters/x.ts';")).toEqual(['../adapters/x.ts']);
    expect(importSpecifiers("import 'side-effect';")).toEqual(['side-effect']);
    expect(codeOnly('const now = Date.now(); // Date')).toMatch(forbiddenGlobals[0] as RegExp);
    expect(codeOnly("// uses Date in prose\nconst text = 'Date';")).not.toMatch(forbiddenGlobals[0] as RegExp);
  });
});
