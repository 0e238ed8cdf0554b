// The project's TypeScript compiled to JavaScript by esbuild, cached under the project's
// node_modules/.cache/cc-worker/, so that node loads it without tsx's hooks: through them each
// CPU thread spent 0.8–1.0 s of CPU loading its modules (docs/figures.md, "Start time").
//
// A build is used only while every file it was made from (each source, with its size and
// modification time as esbuild read it, and the files that say how to build) is unchanged;
// otherwise a new one is made. Plain JavaScript: it runs before anything can compile TypeScript.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A build other than the current one is removed once it is this old: a process started from it
 * may still be loading its lazy chunks (a run's adapters, a CPU thread replaced after a crash),
 * so a build is never removed at once when replaced.
 */
const replacedBuildLifetimeMs = 24 * 3_600_000;
/** Builds looked at in one clean-up; more wait for the next build (a bound on the loop). */
const cleanupScanMax = 64;
/** Layout of a build's manifest.json: a build with another is not used. */
const manifestVersion = 1;
/**
 * Packages compiled into the build with the sources rather than loaded from node_modules: Effect
 * is 66 ES modules, each resolved, read and compiled by node's loader on its own, 157–214 ms of
 * CPU at every run's start, against 11–20 ms for the same four modules bundled (five processes
 * each). Its files are inputs of the build like the sources: a new version rebuilds.
 */
const bundledPackages = new Set(['effect']);
/** The namespace of the modules that require a CommonJS package for the build (requiredPackagesPlugin). */
const requiredNamespace = 'required-package';
/** Words that cannot name an export's local binding. */
const reservedWords = new Set(
  'arguments await break case catch class const continue debugger default delete do else enum eval export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield'.split(
    ' ',
  ),
);
/** Folders walked up from a package's file to its package.json: deeper than any package's files. */
const packageDepthMax = 64;
/** Loaders for the sources the build reads itself (to fix `import.meta`), by extension. */
const loaders = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.json': 'json' };

/**
 * `{ root, name, entryPoints, tooling }`: the project folder, the build's name, its entry points
 * (output name → source path under `root`) and the files besides the sources that decide its
 * output (this file, the caller's). Returns the folder holding `<entry>.js` for each entry point,
 * building it first if there is no current build. Throws when the cache cannot be read or
 * written or esbuild fails: the caller runs the sources another way.
 */
export async function cachedBuild({ root, name, entryPoints, tooling }) {
  const cache = cacheFolderOf(root, name);
  const current = currentBuild(root, cache);
  if (current !== null) return current;
  return await newBuild(root, cache, entryPoints, tooling);
}

/** One folder per project folder: node_modules may be shared (a symbolic link) between checkouts. */
function cacheFolderOf(root, name) {
  const key = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 12);
  return join(root, 'node_modules', '.cache', 'cc-worker', `${name}-${key}`);
}

/** The folder of the build `current` names, if its manifest's files are all as it read them. */
function currentBuild(root, cache) {
  const id = readText(join(cache, 'current'));
  if (id === null) return null;
  const folder = join(cache, 'builds', id.trim());
  const text = readText(join(folder, 'manifest.json'));
  if (text === null) return null;
  const manifest = parsedManifest(text);
  if (manifest === null) return null;
  return manifest.inputs.every((input) => unchanged(root, input)) ? folder : null;
}

/** A manifest cut short (a machine that stopped before the file reached its disk) names no build. */
function parsedManifest(text) {
  try {
    const manifest = JSON.parse(text);
    return manifest.version === manifestVersion && Array.isArray(manifest.inputs) ? manifest : null;
  } catch {
    return null;
  }
}

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

function unchanged(root, input) {
  const stats = statSync(join(root, input.path), { throwIfNoEntry: false });
  return stats !== undefined && stats.size === input.size && stats.mtimeMs === input.mtimeMs;
}

/**
 * Builds into a folder of its own, then names it in `current` by a rename, so that a process
 * never sees half a build; processes that build at once each use their own, the last rename
 * naming the one later starts use.
 */
async function newBuild(root, cache, entryPoints, tooling) {
  const id = `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const folder = join(cache, 'builds', id);
  const pointer = join(cache, `current.${id}`);
  mkdirSync(folder, { recursive: true });
  try {
    const toolingInputs = tooling.map((path) => inputOf(root, path, statSync(path)));
    const sourceInputs = await compile(root, folder, entryPoints);
    const manifest = { version: manifestVersion, entryPoints, inputs: [...toolingInputs, ...sourceInputs] };
    writeFileSync(join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    writeFileSync(pointer, id);
    renameSync(pointer, join(cache, 'current'));
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    rmSync(pointer, { force: true });
    throw error;
  }
  try {
    removeReplacedBuilds(cache, id);
  } catch {
    // A build left behind costs only disk space; the next build tries again.
  }
  return folder;
}

function inputOf(root, path, stats) {
  return { path: relative(root, path), size: stats.size, mtimeMs: stats.mtimeMs };
}

/** Runs esbuild; returns each source it read, with its size and time as read. */
async function compile(root, folder, entryPoints) {
  const esbuild = await import('esbuild');
  const read = new Map();
  // The manifest of each package a module of the build requires (requiredPackagesPlugin).
  const manifests = new Map();
  // esbuild's service process would otherwise idle beside the worker for as long as it runs.
  const result = await esbuild
    .build({
      absWorkingDir: root,
      entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([out, path]) => [out, join(root, path)])),
      outdir: folder,
      bundle: true,
      // The packages stay where npm put them: node resolves them from the build's folder, inside
      // node_modules, as it does from the sources.
      packages: 'external',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      splitting: true,
      // Names as in the sources (tsx keeps them too): an error's or a class's name reads the same.
      keepNames: true,
      // Read only with `node --enable-source-maps`, or by a debugger: costs nothing otherwise.
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      plugins: [bundledPackagesPlugin(root), requiredPackagesPlugin(root, manifests), sourceMeaningPlugin(read)],
    })
    .finally(() => esbuild.stop());
  const inputs = [];
  for (const path of Object.keys(result.metafile.inputs)) {
    // A required package's module is made here; the package's manifest, read for it, is an input.
    if (path.startsWith(`${requiredNamespace}:`)) continue;
    const input = read.get(resolve(root, path));
    if (input === undefined) throw new Error(`esbuild read ${path} without the build's loader`);
    inputs.push(inputOf(root, resolve(root, path), input));
  }
  for (const [path, stats] of manifests) inputs.push(inputOf(root, path, stats));
  return inputs;
}

/**
 * Loads each source itself: `import.meta.url` (and `dirname`, `filename`) keep meaning the
 * source file, as under tsx (sources read ../../package.json, ./migrations/ and ../../samples/
 * relative to it, or make a `require` there), not the build's chunk. Records each file's size
 * and modification time from before it was read: a file changed while the build ran is then
 * seen as changed by the next start.
 */
function sourceMeaningPlugin(read) {
  return {
    name: 'source-meaning',
    setup(build) {
      build.onLoad({ filter: /\.(?:[cm]?[jt]s|json)$/ }, (args) => {
        const descriptor = openSync(args.path, 'r');
        try {
          read.set(args.path, fstatSync(descriptor));
          const text = readFileSync(descriptor, 'utf8');
          return { contents: withSourceMeaning(text, args.path), loader: loaders[extname(args.path)] };
        } finally {
          closeSync(descriptor);
        }
      });
    },
  };
}

/** Resolves the imports of `bundledPackages` (theirs among them) to files, which esbuild then bundles. */
function bundledPackagesPlugin(root) {
  const require = createRequire(join(root, 'package.json'));
  return {
    name: 'bundled-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) =>
        bundledPackages.has(packageNameOf(args.path)) ? { path: require.resolve(args.path) } : undefined,
      );
    },
  };
}

/** `@scope/name` or `name`: the package a bare specifier names. */
function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
}

/**
 * A CommonJS package the sources import is required instead: node 20 imports one by parsing its
 * entry three times over (to tell its format, to find its exports, then to run it), which cost
 * a CPU thread's packages (parquetjs's writer, tldts, pako) 251–322 ms of CPU against 133–156 ms
 * required (five processes each). The import is answered by a module that requires the package
 * from the project's folder at run time and exports what it exports, as node's import would:
 * `default` is `module.exports`, and each of its keys a named export (read by requiring the
 * package here, once a build). Only packages whose `exports` field cannot resolve an import and
 * a require differently are taken (those with none), and only their CommonJS files.
 */
function requiredPackagesPlugin(root, manifests) {
  const require = createRequire(join(root, 'package.json'));
  return {
    name: 'required-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
        if (args.namespace === requiredNamespace || isBuiltin(args.path)) return undefined;
        const names = commonJsExports(require, args.path, manifests);
        return names === null ? undefined : { path: args.path, namespace: requiredNamespace, pluginData: names };
      });
      build.onLoad({ filter: /.*/, namespace: requiredNamespace }, (args) => ({
        contents: requiringModule(root, args.path, args.pluginData),
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

/**
 * The named exports of `specifier` if it is a CommonJS file of a package without `exports`, else
 * null; records the package's manifest in `manifests`: a new version of the package rebuilds.
 */
function commonJsExports(require, specifier, manifests) {
  let file;
  try {
    file = require.resolve(specifier);
  } catch {
    return null;
  }
  if (!/\.c?js$/.test(file)) return null;
  const found = packageManifestOf(file);
  if (found === null) return null;
  const { manifest, path } = found;
  if (manifest.exports !== undefined) return null;
  if (manifest.type === 'module' && !file.endsWith('.cjs')) return null;
  let value;
  try {
    value = require(specifier);
  } catch {
    return null;
  }
  manifests.set(path, statSync(path));
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return [];
  return Object.keys(value).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name) && !reservedWords.has(name));
}

/** The package.json of the package holding `file` (the nearest one with a name), and its path. */
function packageManifestOf(file) {
  let folder = dirname(file);
  for (let depth = 0; depth < packageDepthMax && folder !== dirname(folder); depth++) {
    const path = join(folder, 'package.json');
    const text = readText(path);
    if (text !== null) {
      const manifest = JSON.parse(text);
      if (typeof manifest.name === 'string') return { manifest, path };
    }
    folder = dirname(folder);
  }
  return null;
}

function requiringModule(root, specifier, names) {
  const from = JSON.stringify(join(root, 'package.json'));
  const lines = [
    "import { createRequire } from 'node:module';",
    `const required = createRequire(${from})(${JSON.stringify(specifier)});`,
    'export default required;',
  ];
  if (names.length > 0) lines.push(`export const { ${names.join(', ')} } = required;`);
  return `${lines.join('\n')}\n`;
}

function withSourceMeaning(text, path) {
  const url = pathToFileURL(path);
  const values = { url: url.href, dirname: resolve(path, '..'), filename: path };
  return text.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, key) => JSON.stringify(values[key]));
}

/** Removes builds replaced long enough ago (and any left half-written by a process that died). */
function removeReplacedBuilds(cache, keep) {
  const builds = join(cache, 'builds');
  const now = Date.now();
  for (const id of readdirSync(builds).slice(0, cleanupScanMax)) {
    if (id === keep) continue;
    const stats = statSync(join(builds, id), { throwIfNoEntry: false });
    if (stats !== undefined && now - stats.mtimeMs > replacedBuildLifetimeMs)
      rmSync(join(builds, id), { recursive: true, force: true });
  }
}
