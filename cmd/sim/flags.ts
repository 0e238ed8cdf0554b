import { parseArgs } from 'node:util';
import { policies, type Policy } from '../../core/stage.ts';
import { inflateModes, type InflateMode } from '../../sim/models.ts';

/**
 * The command line of `npm run sim`, parsed; every value checked, so a bad one is one clear line.
 * A flag not given is undefined.
 */
export interface SimFlags {
  readonly scenario: string | undefined;
  readonly instances: number | undefined;
  readonly instanceType: string | undefined;
  readonly files: number | undefined;
  readonly seed: number | undefined;
  readonly policy: Policy | undefined;
  /** `--inflate`: the index decoder's inflate mode the simulated workers run, as the worker's flag. */
  readonly inflate: InflateMode | undefined;
  /** `--split-decode on|off`: one file's chunks decode on every CPU lane, as the worker's flag. */
  readonly splitDecode: boolean | undefined;
  readonly sweep: boolean;
  readonly deadlineHours: number | undefined;
  readonly calibrate: string | undefined;
  readonly json: boolean;
  readonly html: string | undefined;
  /** Where to write the JSON result (the same document `--json` prints). */
  readonly out: string | undefined;
  /** `--subset-captures N`: plan a subset run of N picked captures over `--files` files instead. */
  readonly subsetCaptures: number | undefined;
  readonly subsetSpread: 'even' | 'skewed' | undefined;
  readonly coalesceGapKb: number | undefined;
  /** A worker's request ceiling for the subset's source; null for none. */
  readonly sourceRequestsPerSecond: number | null | undefined;
  readonly help: boolean;
  readonly version: boolean;
}

export class UsageError extends Error {}

export const usage =
  'usage: npx cc-sim [--scenario FILE] [--instances N] [--instance-type T] [--files N] [--seed S] ' +
  '[--policy weighted|fifo|round-robin] [--inflate head-only|full] [--split-decode on|off] [--sweep] [--deadline HOURS] [--calibrate METRICS_LOG] [--json] [--out FILE] [--html FILE] [--version] ' +
  '[--subset-captures N [--subset-spread even|skewed] [--coalesce-gap-kb K] [--source-requests-per-second R|none]]';

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
  return Number(text);
}

export function parseSimFlags(argv: readonly string[]): SimFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        instances: { type: 'string' },
        'instance-type': { type: 'string' },
        files: { type: 'string' },
        seed: { type: 'string' },
        policy: { type: 'string' },
        inflate: { type: 'string' },
        'split-decode': { type: 'string' },
        sweep: { type: 'boolean', default: false },
        deadline: { type: 'string' },
        calibrate: { type: 'string' },
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
        out: { type: 'string' },
        'subset-captures': { type: 'string' },
        'subset-spread': { type: 'string' },
        'coalesce-gap-kb': { type: 'string' },
        'source-requests-per-second': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    // Only what parseArgs refuses is bad usage; anything else it throws is a bug here.
    const code = (error as { code?: unknown } | null)?.code;
    if (!(error instanceof Error) || typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw error;
    throw new UsageError(`${error.message.split('\n')[0] ?? 'bad arguments'}; ${usage}`);
  }
  const values = parsed.values;
  if (values.seed !== undefined && !/^-?\d+$/.test(values.seed))
    throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
  if (values.policy !== undefined && !(policies as readonly string[]).includes(values.policy)) {
    throw new UsageError(`--policy must be one of ${policies.join(', ')}, got "${values.policy}"`);
  }
  if (values.inflate !== undefined && !(inflateModes as readonly string[]).includes(values.inflate))
    throw new UsageError(`--inflate must be one of ${inflateModes.join(', ')}, got "${values.inflate}"`);
  const split = values['split-decode'];
  if (split !== undefined && split !== 'on' && split !== 'off')
    throw new UsageError(`--split-decode must be on or off, got "${split}"`);
  const deadlineHours = values.deadline === undefined ? undefined : Number(values.deadline);
  if (deadlineHours !== undefined && !(deadlineHours > 0))
    throw new UsageError(`--deadline must be a positive number of hours, got "${values.deadline}"`);
  if (deadlineHours !== undefined && !values.sweep) throw new UsageError('--deadline only makes sense with --sweep');
  const spread = values['subset-spread'];
  if (spread !== undefined && spread !== 'even' && spread !== 'skewed')
    throw new UsageError(`--subset-spread must be even or skewed, got "${spread}"`);
  const gapText = values['coalesce-gap-kb'];
  if (gapText !== undefined && !/^\d+$/.test(gapText))
    throw new UsageError(`--coalesce-gap-kb must be an integer ≥ 0, got "${gapText}"`);
  const rateText = values['source-requests-per-second'];
  if (rateText !== undefined && rateText !== 'none' && !(Number(rateText) > 0))
    throw new UsageError(`--source-requests-per-second must be a positive number or none, got "${rateText}"`);
  return {
    subsetCaptures: positiveInteger('subset-captures', values['subset-captures']),
    subsetSpread: spread,
    coalesceGapKb: gapText === undefined ? undefined : Number(gapText),
    sourceRequestsPerSecond: rateText === undefined ? undefined : rateText === 'none' ? null : Number(rateText),
    scenario: values.scenario,
    instances: positiveInteger('instances', values.instances),
    instanceType: values['instance-type'],
    files: positiveInteger('files', values.files),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    policy: values.policy as Policy | undefined,
    inflate: values.inflate as InflateMode | undefined,
    splitDecode: split === undefined ? undefined : split === 'on',
    sweep: values.sweep ?? false,
    deadlineHours,
    calibrate: values.calibrate,
    json: values.json ?? false,
    html: values.html,
    out: values.out,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}
