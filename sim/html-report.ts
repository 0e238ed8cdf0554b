import { stages, type PerStage } from '../core/stage.ts';
import type { SimulationResult } from './fleet-simulation.ts';
import { textReport } from './text-report.ts';

const colors: PerStage<string> = {
  fetch: '#1f77b4',
  decode: '#ff7f0e',
  encode: '#2ca02c',
  upload: '#d62728',
  commit: '#9467bd',
};
const width = 720;
const height = 220;
const margin = 40;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An inline SVG line chart of several series sharing the x axis (hours). */
function lineChart(
  title: string,
  series: readonly { name: string; color: string; values: readonly number[] }[],
  bucketHours: number,
): string {
  const maxValue = Math.max(1e-9, ...series.flatMap((line) => line.values));
  const points = Math.max(2, ...series.map((line) => line.values.length));
  const x = (index: number): number => margin + (index / (points - 1)) * (width - 2 * margin);
  const y = (value: number): number => height - margin + 10 - (value / maxValue) * (height - 2 * margin);
  const lines = series.map((line) => {
    const path = line.values.map((value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${line.color}" stroke-width="1.5" points="${path}"><title>${line.name}</title></polyline>`;
  });
  const legend = series.map(
    (line, index) =>
      `<text x="${margin + index * 110}" y="14" fill="${line.color}" font-size="12">■ ${line.name}</text>`,
  );
  const axis =
    `<line x1="${margin}" y1="${height - margin + 10}" x2="${width - margin}" y2="${height - margin + 10}" stroke="#888"/>` +
    `<text x="${margin}" y="${height - 8}" font-size="11">0 h</text>` +
    `<text x="${width - margin - 40}" y="${height - 8}" font-size="11">${(points * bucketHours).toFixed(2)} h</text>` +
    `<text x="2" y="${margin}" font-size="11">${maxValue.toPrecision(3)}</text>`;
  return `<h2>${escapeHtml(title)}</h2><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${legend.join('')}${axis}${lines.join('')}</svg>`;
}

/** A self-contained page: the text report and charts of queue depth, active workers and throughput. */
export function htmlReport(result: SimulationResult): string {
  const series = result.timeSeries;
  const bucketHours = series.bucketMs / 3_600_000;
  const perStage = (values: PerStage<number[]>) =>
    stages.map((stage) => ({ name: stage, color: colors[stage], values: values[stage] }));
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>Fleet simulation</title>',
    '<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}</style></head><body>',
    `<h1>${result.instances} × ${result.instanceType}: ${result.makespanHours.toFixed(2)} h, $${result.costDollars.toFixed(2)}</h1>`,
    `<pre>${escapeHtml(textReport(result))}</pre>`,
    result.simulated.files < result.files || result.simulated.instances < result.instances
      ? `<p>The charts show the simulated sample (${result.simulated.instances} instances, ${result.simulated.files} files, ` +
        `${result.simulated.hours.toFixed(2)} h), scaled to the whole fleet.</p>`
      : '',
    lineChart('Queue depth, whole fleet (tasks ready and waiting)', perStage(series.queueDepth), bucketHours),
    lineChart('Active workers, whole fleet (tasks running)', perStage(series.activeWorkers), bucketHours),
    lineChart(
      'Throughput (files committed per hour)',
      [{ name: 'files/hour', color: '#333', values: series.filesPerHour }],
      bucketHours,
    ),
    '</body></html>',
  ].join('\n');
}
