import { stages, type PerStage } from '../core/stage.ts';
import type { SweepResult } from './capacity-sweep.ts';
import type { SimulationResult } from './fleet-simulation.ts';
import { makespanText, textReport } from './text-report.ts';

/**
 * The charting library's code and style, inlined into the page so that it is one file that
 * opens offline (cmd/sim/chart-library.ts reads them from node_modules at render time).
 */
export interface ChartLibrary {
  readonly script: string;
  readonly css: string;
  /** Its licence text, kept in the page beside the code. */
  readonly license: string;
}

const colors: PerStage<string> = {
  fetch: '#1f77b4',
  decode: '#ff7f0e',
  encode: '#2ca02c',
  upload: '#d62728',
  commit: '#9467bd',
};
/** One colour per instance type of a sweep, in the order they appear (more types cycle). */
const typeColors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Below this makespan the time axes are in minutes; hours read better past it. */
const minutesAxisBelowHours = 2;

/** How a chart's values are printed on its axis and in its tooltip (the page's `formatters`). */
type ValueUnit = 'tasks' | 'files/h' | 'TB/h' | '$';

interface LineChartSpec {
  readonly kind: 'lines';
  readonly title: string;
  readonly note: string;
  readonly xLabel: string;
  readonly xUnit: 'min' | 'h';
  readonly yLabel: string;
  readonly yUnit: ValueUnit;
  readonly x: readonly number[];
  readonly series: readonly { name: string; color: string; values: readonly number[] }[];
}

interface ScatterChartSpec {
  readonly kind: 'scatter';
  readonly title: string;
  readonly note: string;
  readonly xLabel: string;
  readonly xUnit: 'min' | 'h';
  readonly yLabel: string;
  readonly yUnit: '$';
  /** Makespans in the x unit, ascending; one per fleet. */
  readonly x: readonly number[];
  /** The fleet at each x, for the tooltip. */
  readonly labels: readonly string[];
  /** One series per instance type: its fleets' cost at their x, null elsewhere. */
  readonly series: readonly { name: string; color: string; values: readonly (number | null)[] }[];
  /** The deadline in the x unit. */
  readonly deadline: number | null;
  /** Index in x of the chosen fleet. */
  readonly chosen: number | null;
}

type ChartSpec = LineChartSpec | ScatterChartSpec;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/**
 * The charts of one simulated run. The simulator may run a sample of the fleet and crawl and
 * scale it; its curves are drawn on the whole run's time axis (stretched by makespan over the
 * sample's hours), so the charts end where the headline's makespan does.
 */
function runCharts(result: SimulationResult): { note: string; specs: ChartSpec[] } {
  const series = result.timeSeries;
  const stretch = result.simulated.hours > 0 ? result.makespanHours / result.simulated.hours : 1;
  const inMinutes = result.makespanHours < minutesAxisBelowHours;
  const bucketHours = (series.bucketMs / 3_600_000) * stretch;
  const points = series.filesPerHour.length;
  const x = Array.from({ length: points }, (_, index) => (index + 0.5) * bucketHours * (inMinutes ? 60 : 1));
  const time = {
    xLabel: inMinutes ? 'minutes since start' : 'hours since start',
    xUnit: inMinutes ? 'min' : 'h',
  } as const;
  const sampled = result.simulated.files < result.files || result.simulated.instances < result.instances;
  const stretched =
    Math.abs(stretch - 1) >= 0.005
      ? `; time stretched ×${stretch.toFixed(2)} to the run's ${makespanText(result.makespanHours)}`
      : '';
  const note = sampled
    ? `The charts show the simulated sample (${result.simulated.instances} instances with ${result.simulated.files} files for ` +
      `${makespanText(result.simulated.hours)}), scaled to the whole fleet and crawl${stretched}.`
    : '';
  const perStage = (values: PerStage<number[]>) =>
    stages.map((stage) => ({ name: stage, color: colors[stage], values: values[stage] }));
  const bytesPerFile = result.filesPerHour > 0 ? (result.gigabytesPerHour * 1e9) / result.filesPerHour : 0;
  const specs: ChartSpec[] = [
    {
      kind: 'lines',
      title: 'Queue depth, whole fleet',
      note: 'Tasks ready and waiting for a slot, per stage.',
      ...time,
      yLabel: 'tasks waiting',
      yUnit: 'tasks',
      x,
      series: perStage(series.queueDepth),
    },
    {
      kind: 'lines',
      title: 'Active workers, whole fleet',
      note: 'Tasks running, per stage.',
      ...time,
      yLabel: 'tasks running',
      yUnit: 'tasks',
      x,
      series: perStage(series.activeWorkers),
    },
    {
      kind: 'lines',
      title: 'Throughput',
      note: `Files committed per hour; in bytes at the run's mean file size (${(bytesPerFile / 1e9).toFixed(2)} GB).`,
      ...time,
      yLabel: 'files per hour',
      yUnit: 'files/h',
      x,
      series: [{ name: 'files/h', color: '#333', values: series.filesPerHour }],
    },
    {
      kind: 'lines',
      title: 'Data read',
      note: "Input bytes per hour: files committed at the run's mean file size.",
      ...time,
      yLabel: 'TB per hour',
      yUnit: 'TB/h',
      x,
      series: [
        { name: 'TB/h', color: '#555', values: series.filesPerHour.map((files) => (files * bytesPerFile) / 1e12) },
      ],
    },
  ];
  return { note, specs };
}

/** Cost against makespan of every fleet of a sweep, the deadline drawn, the chosen fleet marked. */
function sweepChart(result: SweepResult): ScatterChartSpec {
  const runs = [...result.runs].sort((a, b) => a.makespanHours - b.makespanHours);
  const types = [...new Set(runs.map((run) => run.instanceType))];
  const chosen = result.cheapest === null ? null : runs.indexOf(result.cheapest);
  const longest = Math.max(result.deadlineHours ?? 0, ...runs.map((run) => run.makespanHours));
  const perHour = longest < minutesAxisBelowHours ? 60 : 1;
  return {
    kind: 'scatter',
    title: 'Cost against makespan, every fleet of the sweep',
    note:
      (result.deadlineHours === null
        ? 'No deadline given. '
        : `The dashed line is the deadline, ${result.deadlineHours} h. `) +
      (result.cheapest === null
        ? 'No fleet meets it.'
        : `The ringed point is the chosen fleet: ${result.cheapest.instances} × ${result.cheapest.instanceType}.`),
    xLabel: perHour === 60 ? 'makespan, minutes' : 'makespan, hours',
    xUnit: perHour === 60 ? 'min' : 'h',
    yLabel: 'cost, dollars',
    yUnit: '$',
    x: runs.map((run) => run.makespanHours * perHour),
    labels: runs.map((run) => `${run.instances} × ${run.instanceType}: ${run.bottleneck}`),
    series: types.map((type, index) => ({
      name: type,
      color: typeColors[index % typeColors.length] ?? '#333',
      values: runs.map((run) => (run.instanceType === type ? run.costDollars : null)),
    })),
    deadline: result.deadlineHours === null ? null : result.deadlineHours * perHour,
    chosen: chosen === null || chosen < 0 ? null : chosen,
  };
}

/** The table under the sweep's chart: every fleet, the chosen one in bold. */
function sweepTableHtml(result: SweepResult): string {
  const rows = result.runs.map((run) => {
    const cells = [
      run.instanceType,
      String(run.instances),
      makespanText(run.makespanHours),
      `$${run.costDollars.toFixed(2)}`,
      Math.round(run.filesPerHour).toLocaleString('en-US'),
      run.bottleneck + (run.violationCount > 0 ? ' (CHECKER FAILED)' : ''),
    ];
    const chosen = run === result.cheapest;
    return `<tr${chosen ? ' class="chosen"' : ''}>${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`;
  });
  return (
    '<table><thead><tr><th>type</th><th>instances</th><th>makespan</th><th>cost</th><th>files/hour</th><th>bottleneck</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/** Draws every chart spec of the page with uPlot: axes from zero, units on the ticks, a tooltip. */
const pageScript = String.raw`
(function () {
  var specs = JSON.parse(document.getElementById('chart-data').textContent);
  function fixed(v, digits) { return Number(v.toFixed(digits)).toLocaleString('en-US'); }
  // Each formatter takes the value and the digits to show (from the tick step on an axis).
  var formatters = {
    tasks: function (v, d) { return v >= 1000 ? fixed(v / 1000, 1) + 'k' : fixed(v, d == null ? 1 : d); },
    'files/h': function (v, d) { return v >= 1000 ? fixed(v / 1000, 1) + 'k files/h' : fixed(v, d == null ? 0 : d) + ' files/h'; },
    'TB/h': function (v, d) { return fixed(v, d == null ? 3 : d) + ' TB/h'; },
    '$': function (v, d) { return '$' + fixed(v, d == null ? 2 : d); },
    h: function (v, d) { return fixed(v, d == null ? 3 : d) + ' h'; },
    min: function (v, d) { return fixed(v, d == null ? 1 : d) + ' min'; }
  };
  function ticks(unit) {
    return function (u, splits, axis, space, step) {
      var digits = Math.max(0, Math.min(4, -Math.floor(Math.log10(step || 1) + 1e-9)));
      return splits.map(function (v) { return formatters[unit](v, digits); });
    };
  }
  function tooltip(spec) {
    var box;
    return {
      hooks: {
        init: function (u) { box = document.createElement('div'); box.className = 'tip'; u.over.appendChild(box); },
        setCursor: function (u) {
          var i = u.cursor.idx;
          if (i == null || u.cursor.left < 0) { box.style.display = 'none'; return; }
          var lines = [];
          if (spec.kind === 'scatter') lines.push('<b>' + spec.labels[i] + '</b>');
          lines.push(formatters[spec.xUnit](u.data[0][i]));
          for (var s = 1; s < u.series.length; s++) {
            var v = u.data[s][i];
            if (v == null) continue;
            lines.push('<span style="color:' + spec.series[s - 1].color + '">■</span> ' + u.series[s].label + ': ' + formatters[spec.yUnit](v));
          }
          box.innerHTML = lines.join('<br>');
          box.style.display = 'block';
          box.style.left = Math.min(u.cursor.left + 12, u.over.clientWidth - 220) + 'px';
          box.style.top = (u.cursor.top + 12) + 'px';
        }
      }
    };
  }
  function marks(spec) {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx;
          ctx.save();
          if (spec.deadline != null) {
            var x = u.valToPos(spec.deadline, 'x', true);
            ctx.strokeStyle = '#c00'; ctx.setLineDash([6, 4]); ctx.lineWidth = 2 * devicePixelRatio;
            ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
            ctx.setLineDash([]); ctx.fillStyle = '#c00'; ctx.font = (12 * devicePixelRatio) + 'px sans-serif';
            ctx.fillText('deadline ' + formatters[spec.xUnit](spec.deadline), x + 6 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
          }
          if (spec.chosen != null) {
            var cost = null;
            for (var s = 0; s < spec.series.length; s++) if (spec.series[s].values[spec.chosen] != null) cost = spec.series[s].values[spec.chosen];
            var cx = u.valToPos(spec.x[spec.chosen], 'x', true), cy = u.valToPos(cost, 'y', true);
            ctx.strokeStyle = '#000'; ctx.lineWidth = 2 * devicePixelRatio;
            ctx.beginPath(); ctx.arc(cx, cy, 10 * devicePixelRatio, 0, 2 * Math.PI); ctx.stroke();
            ctx.fillStyle = '#000'; ctx.font = 'bold ' + (12 * devicePixelRatio) + 'px sans-serif';
            ctx.fillText('chosen', cx + 13 * devicePixelRatio, cy - 8 * devicePixelRatio);
          }
          ctx.restore();
        }
      }
    };
  }
  specs.forEach(function (spec, index) {
    var scatter = spec.kind === 'scatter';
    var xMax = Math.max.apply(null, spec.x.concat([spec.deadline || 0])) * 1.05 || 1;
    var opts = {
      width: 900, height: scatter ? 380 : 260,
      plugins: [tooltip(spec), marks(spec)],
      cursor: { points: { show: !scatter } },
      // The tooltip shows the values under the cursor; the legend names the series only.
      legend: { live: false },
      scales: {
        x: { time: false, range: function () { return [0, xMax]; } },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } }
      },
      axes: [
        { label: spec.xLabel, values: ticks(spec.xUnit) },
        { label: spec.yLabel, size: 90, values: ticks(spec.yUnit) }
      ],
      series: [{ label: spec.xLabel }].concat(spec.series.map(function (s) {
        return scatter
          ? { label: s.name, stroke: s.color, fill: s.color, paths: function () { return null; }, points: { show: true, size: 9, fill: s.color } }
          : { label: s.name, stroke: s.color, width: 1.5, points: { show: false } };
      }))
    };
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    new uPlot(opts, data, document.getElementById('chart-' + index));
  });
})();
`;

const pageStyle =
  'body{font-family:sans-serif;margin:2em;max-width:960px}pre{background:#f6f6f6;padding:1em;font-size:12px;overflow-x:auto}' +
  '.chart{position:relative;margin-bottom:1.5em}.tip{position:absolute;display:none;pointer-events:none;background:#fff;' +
  'border:1px solid #999;padding:4px 6px;font-size:12px;z-index:100;white-space:nowrap}p.note{color:#555;font-size:13px;margin:0 0 .5em}' +
  'table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}' +
  'td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}tr.chosen{font-weight:bold;background:#fff4c2}';

function chartsHtml(specs: readonly ChartSpec[], offset: number): string {
  return specs
    .map(
      (spec, index) =>
        `<h2>${escapeHtml(spec.title)}</h2><p class="note">${escapeHtml(spec.note)}</p><div class="chart" id="chart-${offset + index}"></div>`,
    )
    .join('\n');
}

function page(title: string, body: string, specs: readonly ChartSpec[], library: ChartLibrary): string {
  return [
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    `<style>${library.css}</style><style>${pageStyle}</style></head><body>`,
    body,
    `<script id="chart-data" type="application/json">${scriptJson(specs)}</script>`,
    `<!-- uPlot, inlined below:\n${library.license.replace(/--/g, '- -')}\n-->`,
    `<script>${library.script}</script>`,
    `<script>${pageScript}</script>`,
    '</body></html>',
  ].join('\n');
}

function runSection(result: SimulationResult, offset: number): { html: string; specs: ChartSpec[] } {
  const { note, specs } = runCharts(result);
  const html = [
    `<pre>${escapeHtml(textReport(result))}</pre>`,
    note === '' ? '' : `<p>${escapeHtml(note)}</p>`,
    chartsHtml(specs, offset),
  ].join('\n');
  return { html, specs };
}

/** A self-contained page for one simulated run: the text report and charts of queue depth, active workers and throughput. */
export function htmlReport(result: SimulationResult, library: ChartLibrary): string {
  const section = runSection(result, 0);
  const title = `${result.instances} × ${result.instanceType}: ${makespanText(result.makespanHours)}, $${result.costDollars.toFixed(2)}`;
  return page('Fleet simulation', `<h1>${escapeHtml(title)}</h1>\n${section.html}`, section.specs, library);
}

/** A self-contained page for a sweep: cost against makespan of every fleet, the table, then the chosen fleet's run. */
export function htmlSweepReport(result: SweepResult, library: ChartLibrary): string {
  const chart = sweepChart(result);
  const chosen = result.cheapest;
  const headline =
    chosen === null
      ? `No fleet of ${result.runs.length} meets the deadline`
      : `Chosen: ${chosen.instances} × ${chosen.instanceType}, ${makespanText(chosen.makespanHours)}, $${chosen.costDollars.toFixed(2)}`;
  const parts = [`<h1>${escapeHtml(headline)}</h1>`, chartsHtml([chart], 0), sweepTableHtml(result)];
  const specs: ChartSpec[] = [chart];
  if (chosen !== null) {
    const section = runSection(chosen, 1);
    parts.push(`<h1>The chosen fleet's run</h1>`, section.html);
    specs.push(...section.specs);
  }
  return page('Fleet sweep', parts.join('\n'), specs, library);
}
