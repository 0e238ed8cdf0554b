/**
 * The planner's answer for a subset run (`npx cc-sim --subset-captures N`): the event
 * simulation with the core's coalescing and with one request a capture (what coalescing
 * saves), each beside the closed form's time (subset-plan.ts) as a cross-check.
 */
import type { SimulationResult } from './fleet-simulation.ts';
import { closedFormOf, planSubset, type SubsetPlan } from './subset-plan.ts';
import { simulate } from './fleet-simulation.ts';
import type { Scenario } from './scenario.ts';
import { makespanText, textReport } from './text-report.ts';

export interface SubsetComparison {
  readonly coalesced: SimulationResult;
  readonly oneRequestEach: SimulationResult;
  readonly closedForm: { readonly coalesced: SubsetPlan; readonly oneRequestEach: SubsetPlan };
}

/** The scenario with one request a capture: no gap bridged. */
function oneRequestEach(scenario: Scenario): Scenario {
  if (scenario.subset === null) throw new Error('a subset comparison needs a scenario with a subset workload');
  return { ...scenario, subset: { ...scenario.subset, coalesceGapBytes: 0 } };
}

/** Both simulations and both closed forms of a subset scenario. */
export function compareSubset(scenario: Scenario): SubsetComparison {
  const single = oneRequestEach(scenario);
  return {
    coalesced: simulate(scenario),
    oneRequestEach: simulate(single),
    closedForm: { coalesced: planSubset(closedFormOf(scenario)), oneRequestEach: planSubset(closedFormOf(single)) },
  };
}

function row(name: string, result: SimulationResult, plan: SubsetPlan): string {
  const subset = result.subset;
  const captures = subset?.captures ?? 0;
  const perPick = (value: number): string => (captures === 0 ? '-' : (value / captures).toFixed(3));
  const fetchPerPick =
    subset === null || subset.bytesPicked === 0 ? '-' : (subset.bytesFetched / subset.bytesPicked).toFixed(2);
  return [
    name.padEnd(18),
    perPick(subset?.requests ?? 0).padStart(9),
    perPick(subset?.requestsSent ?? 0).padStart(9),
    fetchPerPick.padStart(10),
    `${result.makespanHours.toFixed(3)} h`.padStart(10),
    `$${result.costDollars.toFixed(2)}`.padStart(9),
    `${plan.hours.toFixed(3)} h`.padStart(10),
    `  ${result.bottleneck}`,
  ].join(' ');
}

/** The comparison as text: the coalesced run in full, then the table of both. */
export function subsetComparisonReport(comparison: SubsetComparison): string {
  const { coalesced, oneRequestEach: single, closedForm } = comparison;
  const subset = coalesced.subset;
  const saved =
    subset === null || single.subset === null || single.subset.requests === 0
      ? ''
      : `coalescing sends ${(100 * (1 - subset.requests / single.subset.requests)).toFixed(1)}% fewer requests ` +
        `and fetches ${(subset.bytesFetched / single.subset.bytesFetched).toFixed(2)}× the bytes, ` +
        `in ${makespanText(coalesced.makespanHours)} against ${makespanText(single.makespanHours)}`;
  return [
    textReport(coalesced),
    '',
    `${''.padEnd(18)} ${'req/pick'.padStart(9)} ${'sent/pick'.padStart(9)} ${'fetch/pick'.padStart(10)} ` +
      `${'time'.padStart(10)} ${'cost'.padStart(9)} ${'closed form'.padStart(10)}  bottleneck`,
    row('coalesced', coalesced, closedForm.coalesced),
    row('one request each', single, closedForm.oneRequestEach),
    saved,
    "closed form: sim/subset-plan.ts's time for the same picks and ceilings, a cross-check of the simulation (test/sim/subset-simulation.test.ts holds them within 15%)",
  ].join('\n');
}
