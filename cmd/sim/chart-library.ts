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
  const file = (path: string): string => readFileSync(require.resolve(`uplot/${path}`), 'utf8');
  return {
    script: file('dist/uPlot.iife.min.js'),
    css: file('dist/uPlot.min.css'),
    // Its MIT licence asks that copies carry the notice: the page does, in a comment.
    license: file('LICENSE'),
  };
}
