import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ChartLibrary } from '../../sim/html-report.ts';

/**
 * uPlot (MIT, about 50 kB minified), read from node_modules when a report is written and
 * inlined into it, so the page is one file that opens offline, with no CDN. Chosen over
 * Chart.js (about 200 kB) and Vega-Lite (about 800 kB with Vega) for its size: a report of a
 * 30-fleet sweep stays under 100 kB.
 */
export function chartLibrary(): ChartLibrary {
  const require = createRequire(import.meta.url);
  const dist = (file: string): string => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
  return { script: dist('uPlot.iife.min.js'), css: dist('uPlot.min.css') };
}
