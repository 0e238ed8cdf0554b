/**
 * How this process was started, as cmd/worker/index.js sets it before the worker loads: from
 * the cached build (cmd/cached-build.js), whose CPU threads must be the build's too, or from the
 * TypeScript sources through tsx. Tests that import the sources (a `CpuPool` made in vitest)
 * set nothing and get the sources' thread entry, which registers tsx in the thread.
 */
export type Launch =
  | { readonly from: 'build'; readonly folder: string; readonly cpuThreadEntry: URL }
  | { readonly from: 'sources'; readonly reason: string | null; readonly cpuThreadEntry: URL };

const sourcesThreadEntry = new URL('./cpu-thread-entry.js', import.meta.url);

let launch: Launch = { from: 'sources', reason: null, cpuThreadEntry: sourcesThreadEntry };

/** Started from the build in `folder`: its CPU threads run `cpu-thread.js` there. */
export function launchedFromBuild(folder: string, cpuThreadEntry: URL): void {
  launch = { from: 'build', folder, cpuThreadEntry };
}

/** Started from the sources because there was no build to use (`reason`: why). */
export function launchedFromSources(reason: string): void {
  launch = { from: 'sources', reason, cpuThreadEntry: sourcesThreadEntry };
}

export function currentLaunch(): Launch {
  return launch;
}

/** The debug line a run logs about it: where its code came from. */
export function launchLogFields(): { message: string; fields: Record<string, unknown> } {
  const { cpuThreadEntry } = launch;
  if (launch.from === 'build')
    return {
      message: 'started from the cached build',
      fields: { build: launch.folder, cpuThreadEntry: cpuThreadEntry.href },
    };
  return {
    message: 'started from the TypeScript sources through tsx',
    fields: { reason: launch.reason ?? 'not started by cmd/worker/index.js', cpuThreadEntry: cpuThreadEntry.href },
  };
}
