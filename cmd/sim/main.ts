// `npx cc-sim` (`npm run sim`): the capacity planner. Simulates a fleet running the worker core against
// modelled CommonCrawl and S3, prints what the crawl takes and costs and what limits it,
// and fails (exit 1) with the command that replays it when a checker finds a violation.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { assert } from '../../core/failure.ts';
import { calibrate } from '../../sim/calibration.ts';
import {
  sweep,
  sweepConclusion,
  sweepFleets,
  sweepHeader,
  sweepRow,
  type SweepResult,
} from '../../sim/capacity-sweep.ts';
import { simulate, type SimulationResult } from '../../sim/fleet-simulation.ts';
import { htmlReport, htmlSweepReport } from '../../sim/html-report.ts';
import { findInstanceType } from '../../sim/instance-types.ts';
import { withModels, type ModelOverrides } from '../../sim/models.ts';
import {
  applyScenarioFile,
  defaultScenario,
  defaultSubsetWorkload,
  limitsForInstance,
  scenarioProblem,
  type Scenario,
  type ScenarioFile,
} from '../../sim/scenario.ts';
import { defaultSubsetScenario } from '../../sim/subset-plan.ts';
import { compareSubset, subsetComparisonReport, type SubsetComparison } from '../../sim/subset-report.ts';
import { textReport } from '../../sim/text-report.ts';
import { versionText } from '../package-version.ts';
import { chartLibrary } from './chart-library.ts';
import { parseSimFlags, usage, UsageError, type SimFlags } from './flags.ts';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function loadScenario(flags: SimFlags, base: Scenario = defaultScenario): Scenario {
  let scenario = base;
  let fileModels: ModelOverrides | undefined;
  if (flags.scenario !== undefined) {
    const text = readText(flags.scenario, 'scenario file');
    let file: unknown;
    try {
      file = flags.scenario.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw new UsageError(
        `scenario file ${flags.scenario} is not valid ${flags.scenario.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    const applied = applyScenarioFile(scenario, file);
    if (typeof applied === 'string') throw new UsageError(`scenario file ${flags.scenario}: ${applied}`);
    scenario = applied;
    fileModels = (file as ScenarioFile).models;
  }
  scenario = {
    ...scenario,
    ...(flags.instances !== undefined && { instances: flags.instances }),
    ...(flags.instanceType !== undefined && { instanceType: flags.instanceType }),
    ...(flags.files !== undefined && { files: flags.files }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    ...(flags.policy !== undefined && { policy: flags.policy }),
    limits: {
      ...scenario.limits,
      ...(flags.sourceRequestsPerSecond !== undefined && {
        remoteRequestsPerSecondMax: {
          source: flags.sourceRequestsPerSecond,
          sink: scenario.limits.remoteRequestsPerSecondMax?.sink ?? null,
        },
      }),
      ...(flags.splitDecode !== undefined && { splitDecode: flags.splitDecode }),
    },
    ...(flags.inflate !== undefined && {
      models: { ...scenario.models, cpu: { ...scenario.models.cpu, inflate: flags.inflate } },
    }),
    // A plan runs the checks production runs; the full scans prove the core in the property
    // tests and cost 3.6× on a whole crawl (docs/figures.md), telling a planner nothing new.
    invariantChecks: scenario.invariantChecks ?? 'counters',
  };
  const problem = scenarioProblem(scenario);
  if (problem !== null) throw new UsageError(problem);
  return calibrated(scenario, flags, fileModels);
}

/** Model fields both calibrated and set by the scenario file, as `group.field`. */
function overridden(calibratedModels: ModelOverrides, fileModels: ModelOverrides | undefined): string[] {
  const names: string[] = [];
  for (const [group, fields] of Object.entries(calibratedModels)) {
    const given = (fileModels as Record<string, object | undefined> | undefined)?.[group] ?? {};
    for (const field of Object.keys(fields ?? {})) if (field in given) names.push(`${group}.${field}`);
  }
  return names;
}

/**
 * Calibrated models sit between the defaults and the scenario file: what a file states about
 * the run it plans (the remote's latency and bandwidth, say) wins over what the log measured
 * of another run, and calibration fills in the rest (CPU rates, commit latency, the data).
 */
function calibrated(scenario: Scenario, flags: SimFlags, fileModels: ModelOverrides | undefined): Scenario {
  if (flags.calibrate === undefined) return scenario;
  const instanceType = findInstanceType(scenario.instanceType);
  assert(instanceType !== undefined, `instance type ${scenario.instanceType} got past scenarioProblem`);
  const chunkBytes = limitsForInstance(instanceType, scenario).chunkBytes;
  const result = calibrate(readText(flags.calibrate, 'metrics log'), scenario.models, chunkBytes);
  if (typeof result === 'string') throw new UsageError(`--calibrate ${flags.calibrate}: ${result}`);
  const kept = overridden(result.overrides, fileModels);
  if (!flags.json) {
    console.log(`calibrated from ${flags.calibrate}: ${result.notes.join(', ')}`);
    if (kept.length > 0) console.log(`the scenario file's ${kept.join(', ')} kept over the calibrated values`);
    console.log('');
  }
  return { ...scenario, models: withModels(withModels(scenario.models, result.overrides), fileModels) };
}

/** The command that runs this simulation again, seed included. */
function replayCommand(argv: readonly string[], seed: number): string {
  const args = [...argv];
  const seedIndex = args.indexOf('--seed');
  if (seedIndex >= 0) args.splice(seedIndex, 2);
  const quoted = [...args, '--seed', String(seed)].map((arg) =>
    /^[\w./:=,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`,
  );
  return `npx cc-sim ${quoted.join(' ')}`;
}

function reportViolations(results: readonly SimulationResult[], argv: readonly string[]): boolean {
  const failing = results.filter((result) => result.violationCount > 0);
  for (const result of failing) {
    console.error(
      `checker failed: ${result.violationCount} violation(s) with ${result.instances} × ${result.instanceType}:`,
    );
    for (const violation of result.violations) console.error(`  ${violation}`);
    const fleet =
      result.instances === Number(argv[argv.indexOf('--instances') + 1])
        ? []
        : ['--instances', String(result.instances), '--instance-type', result.instanceType];
    console.error(
      `replay: ${replayCommand([...argv.filter((arg) => arg !== '--sweep'), ...(argv.includes('--sweep') ? fleet : [])], result.seed)}`,
    );
  }
  return failing.length > 0;
}

/** The sweep's JSON: every run without its time series (the HTML report draws those). */
function sweepJson(result: SweepResult): string {
  return JSON.stringify({ ...result, runs: result.runs.map(({ timeSeries: _series, ...run }) => run) }, null, 2);
}

/**
 * A sweep takes minutes on a whole crawl: each fleet's row is printed as soon as it is
 * simulated (unless stdout is JSON), and how many are left goes to stderr — a line rewritten
 * in place on a terminal, a line a fleet elsewhere — so stdout stays the table or the JSON.
 */
function sweepWithProgress(scenario: Scenario, flags: SimFlags): SweepResult {
  const terminal = process.stderr.isTTY === true;
  if (!flags.json) console.log(sweepHeader);
  let done = 0;
  const result = sweep(scenario, flags.deadlineHours ?? null, (run) => {
    done += 1;
    if (terminal) process.stderr.write('\r\x1b[K');
    if (!flags.json) console.log(sweepRow(run));
    const left = `${done} of ${sweepFleets} fleets simulated, ${sweepFleets - done} left`;
    process.stderr.write(terminal ? left : `${left}\n`);
  });
  if (terminal) process.stderr.write('\r\x1b[K');
  return result;
}

/**
 * A subset plan's scenario: CommonCrawl's 90,000 files by default, an HTTPS source at 20
 * requests a second a worker (`--source-requests-per-second R|none`), the scenario file over
 * that, then the subset's flags.
 */
function subsetScenarioOf(flags: SimFlags, captures: number): Scenario {
  const base: Scenario = {
    ...defaultScenario,
    files: defaultSubsetScenario.files,
    subset: defaultSubsetWorkload,
    limits: { remoteRequestsPerSecondMax: { source: defaultSubsetScenario.workerRequestsPerSecond, sink: null } },
  };
  const scenario = loadScenario(flags, base);
  const subset = { ...defaultSubsetWorkload, ...scenario.subset, captures };
  const withFlags: Scenario = {
    ...scenario,
    subset: {
      ...subset,
      ...(flags.subsetSpread !== undefined && { spread: flags.subsetSpread }),
      ...(flags.coalesceGapKb !== undefined && { coalesceGapBytes: flags.coalesceGapKb * 1024 }),
    },
  };
  const problem = scenarioProblem(withFlags);
  if (problem !== null) throw new UsageError(problem);
  return withFlags;
}

/** The subset comparison's JSON: both runs without their time series, and the closed forms. */
function subsetJson(comparison: SubsetComparison): string {
  const { timeSeries: _coalescedSeries, ...coalesced } = comparison.coalesced;
  const { timeSeries: _singleSeries, ...oneRequestEach } = comparison.oneRequestEach;
  return JSON.stringify({ coalesced, oneRequestEach, closedForm: comparison.closedForm }, null, 2);
}

function main(argv: readonly string[]): number {
  const flags = parseSimFlags(argv);
  if (flags.help) {
    console.log(`${usage}\n\n${helpText}`);
    return 0;
  }
  if (flags.version) {
    console.log(versionText());
    return 0;
  }
  if (flags.subsetCaptures !== undefined) {
    const comparison = compareSubset(subsetScenarioOf(flags, flags.subsetCaptures));
    const json = subsetJson(comparison);
    console.log(flags.json ? json : subsetComparisonReport(comparison));
    if (flags.out !== undefined) writeFileSync(flags.out, `${json}\n`);
    return reportViolations([comparison.coalesced, comparison.oneRequestEach], argv) ? 1 : 0;
  }
  const scenario = loadScenario(flags);
  if (flags.sweep) {
    const result = sweepWithProgress(scenario, flags);
    const json = sweepJson(result);
    if (flags.json) console.log(json);
    else console.log(sweepConclusion(result));
    if (flags.out !== undefined) writeFileSync(flags.out, `${json}\n`);
    if (flags.html !== undefined) writeFileSync(flags.html, htmlSweepReport(result, chartLibrary()));
    return reportViolations(result.runs, argv) ? 1 : 0;
  }
  const result = simulate(scenario);
  const json = JSON.stringify(result, null, 2);
  console.log(flags.json ? json : textReport(result));
  if (flags.out !== undefined) writeFileSync(flags.out, `${json}\n`);
  if (flags.html !== undefined) writeFileSync(flags.html, htmlReport(result, chartLibrary()));
  return reportViolations([result], argv) ? 1 : 0;
}

const helpText = [
  'Simulates a fleet of workers running the real scheduler core against modelled WARC and S3',
  'latencies, and prints makespan, throughput, cost, the bottleneck and per-stage figures.',
  '  --scenario FILE        YAML or JSON scenario (examples in sim/scenarios/); flags override it',
  '  --instances N          instances in the fleet',
  '  --instance-type T      EC2 type (c6gn, c7gn, c6i, m6i sizes; see sim/instance-types.ts)',
  '  --files N              WARC files in the crawl (default 1,000; a CommonCrawl crawl has about 100,000)',
  '  --seed S               seed of every random draw; the same seed gives the same output',
  '  --policy P             weighted (default), fifo or round-robin',
  "  --source-requests-per-second R|none  each worker's request ceiling on the source, as the worker's flag",
  "  --inflate M            head-only (default) or full: the index decoder's CPU rate, as the worker's",
  '                         --inflate (measured: 490 and 74 MB/s a core, sim/models.ts); content is always full',
  "  --split-decode on|off  on: one file's chunks decode on every CPU lane, as the worker's --split-decode;",
  '                         off (default). Modelled without the extra CPU measured in the worker (docs/figures.md)',
  '  --sweep                try instance counts and types; with --deadline HOURS, the cheapest that meets it',
  '  --calibrate LOG        set CPU rates, commit latency, per-stream rate and rows per byte from a real',
  "                         run's metrics log (JSON lines); models the scenario file sets win over it",
  '  --json                 print the result as JSON (only it: a sweep reports progress on stderr)',
  '  --out FILE             write the result as JSON to FILE (what --json prints)',
  '  --html FILE            write a self-contained HTML report: queue depth, active workers and throughput',
  '                         over time; for a sweep, cost against makespan of every fleet with the deadline',
  '                         drawn and the chosen fleet marked, and the table',
  '  --version              print the version',
  '  --subset-captures N    simulate a subset run (--input index:…) of N picked captures over --files files',
  '                         (default 90,000): each job a file and its picks, planned and coalesced by the core;',
  "                         prints requests, bytes fetched, time and cost with the core's coalescing and with",
  "                         one request a capture, and the closed form's time (sim/subset-plan.ts) as a cross-check;",
  "                         --subset-spread even|skewed, --coalesce-gap-kb K (the worker's flag),",
  '                         --source-requests-per-second R|none (default 20 here, an HTTPS source; none for S3);',
  '                         a scenario file may set subset: {captures, spread, captureBytes, recordSpacingBytes}',
  'Exit codes: 0 done; 1 a checker found a violation (the replay command is printed); 2 bad usage.',
].join('\n');

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
