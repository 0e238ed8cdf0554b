import { simulateWithRule, throttlingCases } from './throttling.ts';
const which = (process.env.CASES ?? '1%,5%,ceiling').split(',');
for (const { name, scenario } of throttlingCases) {
  if (!which.some((w) => name.includes(w))) continue;
  const r = simulateWithRule(scenario, 'windowed');
  const per = (n: number) => ((n * 1000) / r.simulated.files).toFixed(0);
  console.log(`CW=${process.env.CW} ${name}: ${r.makespanHours.toFixed(3)} h, 503s ${per(r.slowDowns.source + r.slowDowns.sink)}, over ${per(r.throttled.source + r.throttled.sink)}`);
}
if (process.env.GOV) {
  const c = throttlingCases.find((x) => x.name.includes('ceiling'))!;
  for (const rule of ['windowed', 'aimd'] as const) {
    const { simulate } = await import('../../sim/fleet-simulation.ts');
    const r = simulate({ ...c.scenario, invariantChecks: 'counters', limits: { ...c.scenario.limits, throttleRule: rule, remoteRequestsPerSecondMax: { source: Number(process.env.GOV), sink: null } } });
    const per = (n: number) => ((n * 1000) / r.simulated.files).toFixed(0);
    console.log(`GOV=${process.env.GOV} CW=${process.env.CW} ${rule}: ${r.makespanHours.toFixed(3)} h, 503s ${per(r.slowDowns.source + r.slowDowns.sink)}, over ${per(r.throttled.source + r.throttled.sink)} ${r.bottleneck}`);
  }
}
