/**
 * The row filter of a run: `--where` and `--domains` together (a capture is kept when both
 * keep it). `checkCaptureFilter` runs in the main thread before any work and turns the user's
 * mistakes into `ConfigError`-ready messages; what it returns, `CaptureFilterSpec`, is plain
 * data sent to every CPU thread, where `captureFilterOf` builds the closure the decoder calls
 * once a capture's index columns are complete.
 */
import type { CaptureRow } from '../../core/capture-row.ts';
import { checkDomainList, DomainListError, loadDomainList } from './domain-list.ts';
import { compileWhere } from './where-compiler.ts';
import type { ConditionPlan } from './where-plan.ts';

/** Whether a capture is exported. */
export type CaptureFilter = (row: CaptureRow) => boolean;

export interface CaptureFilterSpec {
  /** The checked `--where`, or null for none. */
  readonly where: ConditionPlan | null;
  /** The `--domains` file, read again by each thread (docs/figures.md: cheaper than sending the set), or null. */
  readonly domainsPath: string | null;
}

export class FilterMistake extends Error {
  override readonly name = 'FilterMistake';
}

/**
 * Checks `--where` and `--domains` (the parser is loaded only when there is a `--where`);
 * returns null when there is neither. Throws `FilterMistake` with one line on a mistake.
 */
export async function checkCaptureFilter(
  where: string | undefined,
  domainsPath: string | undefined,
): Promise<CaptureFilterSpec | null> {
  if (where === undefined && domainsPath === undefined) return null;
  let plan: ConditionPlan | null = null;
  if (where !== undefined) {
    const { parseWhere, WhereError } = await import('./where-parser.ts');
    try {
      plan = await parseWhere(where);
    } catch (error) {
      if (error instanceof WhereError) throw new FilterMistake(error.message);
      throw error;
    }
  }
  if (domainsPath !== undefined) {
    try {
      await checkDomainList(domainsPath);
    } catch (error) {
      if (error instanceof DomainListError) throw new FilterMistake(error.message);
      throw error;
    }
  }
  return { where: plan, domainsPath: domainsPath ?? null };
}

/** The filter a spec describes, built where the decoder runs; null keeps every capture. */
export async function captureFilterOf(spec: CaptureFilterSpec | null): Promise<CaptureFilter | null> {
  if (spec === null) return null;
  const where = spec.where === null ? null : compileWhere(spec.where);
  const domains = spec.domainsPath === null ? null : await loadDomainList(spec.domainsPath);
  if (domains === null) return where;
  const listed = (row: CaptureRow): boolean => {
    const domain = row.url_host_registered_domain;
    return domain !== null && domains.has(domain);
  };
  if (where === null) return listed;
  return (row) => listed(row) && where(row);
}
