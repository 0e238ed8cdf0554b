/**
 * `npm run report:png -- [--png FILE] [--height PX] [planner flags]`: runs the planner with
 * `--html`, then renders that page with headless Chromium (Debian's `chromium` package) to a
 * PNG — what the report looks like, uPlot's canvas charts included, without a person opening
 * a browser. Not part of `npm test`: it needs Chromium, which CI does not install.
 * With no planner flags it renders the README's picture: a sweep of 2,000 files against a
 * deadline (docs/planner-sweep.png), and prints the planner's output that the README quotes.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const readmeScenario = ['--sweep', '--files', '2000', '--deadline', '0.03', '--seed', '1'];
/** Wide enough for the 900 px charts and the page's margins. */
const widthPx = 1_000;
/** Time Chromium may take to start, lay out and draw the page. */
const chromiumTimeoutMs = 60_000;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const [, value] = args.splice(at, 2);
  return value;
}

function main(argv: string[]): number {
  const args = [...argv];
  const png = resolve(option(args, '--png') ?? join(root, 'docs', 'planner-sweep.png'));
  const heightPx = Number(option(args, '--height') ?? 2_400);
  const simArgs = args.length > 0 ? args : readmeScenario;
  const folder = mkdtempSync(join(tmpdir(), 'report-png-'));
  try {
    const html = join(folder, 'report.html');
    const sim = spawnSync(process.execPath, ['--import', 'tsx', 'cmd/sim/main.ts', ...simArgs, '--html', html], {
      cwd: root,
      encoding: 'utf8',
    });
    if (sim.status !== 0) {
      process.stderr.write(`the planner failed (exit ${sim.status}):\n${sim.stderr}`);
      return 1;
    }
    // Chromium's helper processes inherit its stdio and outlive it a while: piped, spawnSync
    // would wait for them; its messages go to a file instead.
    const log = join(folder, 'chromium.log');
    const logFd = openSync(log, 'w');
    const chromium = spawnSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
        `--window-size=${widthPx},${heightPx}`,
        `--screenshot=${png}`,
        `file://${html}`,
      ],
      { stdio: ['ignore', logFd, logFd], timeout: chromiumTimeoutMs },
    );
    closeSync(logFd);
    if (chromium.error !== undefined || chromium.status !== 0) {
      const why = chromium.error?.message ?? readFileSync(log, 'utf8').split('\n').slice(-3).join('\n');
      process.stderr.write(`chromium failed (is the Debian package chromium installed?): ${why}\n`);
      return 1;
    }
    // The planner's own output first (the README quotes it beside the picture), then the picture.
    process.stdout.write(`$ npx cc-sim ${simArgs.join(' ')}\n${sim.stdout}`);
    process.stdout.write(`${png} (${statSync(png).size} bytes)\n`);
    return 0;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
