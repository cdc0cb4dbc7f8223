// The second half of `npm run build`: tsc has type-checked and emitted dist/ (dist/src for the
// demo server and the tests' helpers, dist/bin); this bundles the gateway and its
// dependencies into dist/gateway.cjs and makes dist/main.js the loader that runs it with V8's
// code cache (config/codeCacheLoader.mjs). Loading one file instead of a few hundred modules,
// and not compiling it again at every start, is most of a start's time on Node 20
// (docs/performance.md, "Start"). The HTTP stack is in the same file but evaluated only when
// main.ts imports it (--transport http).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Packages whose only export is a default function, evaluated on its first call instead of
 * at start. string-width (three copies under yargs) builds an `Intl.Segmenter` and Unicode
 * property regexes when it is evaluated, which loads ICU's break-iterator data: about 2.5 MB
 * of a process's memory, for laying out --help text that a serving gateway never prints.
 */
const LAZY_DEFAULT_FUNCTIONS = ['string-width'];

/** @type {import('esbuild').Plugin} */
const lazyDefaultFunctions = {
  name: 'lazy-default-functions',
  setup(b) {
    const filter = new RegExp(`^(?:${LAZY_DEFAULT_FUNCTIONS.join('|')})$`);
    b.onResolve({ filter }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { real: true } });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-default-function' };
    });
    // A require() of the real file: esbuild evaluates a module it requires on the first require.
    b.onLoad({ filter: /.*/, namespace: 'lazy-default-function' }, (args) => ({
      contents: `export default function lazyDefault(...args) { return require(${JSON.stringify(args.path)}).default(...args); }`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};
/**
 * @modelcontextprotocol/server and /client each ship the same ajv provider chunk (ajv with
 * its 2019 and 2020 dialects and ajv-formats, 210 KB), and a start evaluates both: the
 * server's is resolved to the client's when the two files are the same but for the
 * content-hashed names of the chunks they import, so it is evaluated once (0.5 to 0.8 MB of
 * a process's memory). Another SDK release that makes them differ is bundled as it comes.
 */
/** @type {import('esbuild').Plugin} */
const oneAjvProvider = {
  name: 'one-ajv-provider',
  setup(b) {
    const sdk = join(root, 'node_modules', '@modelcontextprotocol');
    // Real paths on both sides: esbuild resolves through a symlinked node_modules (pnpm, CI caches).
    const chunk = (pkg) => {
      const folder = join(sdk, pkg, 'dist');
      const name = existsSync(folder) ? readdirSync(folder).find((f) => /^ajvProvider-[\w-]+\.mjs$/.test(f)) : undefined;
      return name && realpathSync(join(folder, name));
    };
    const normalized = (file) =>
      readFileSync(file, 'utf8')
        .replace(/\/\/# sourceMappingURL=.*$/m, '')
        .replace(/(["']\.\/[\w]+)-[\w-]+\.mjs(["'])/g, '$1.mjs$2');
    const server = chunk('server');
    const client = chunk('client');
    if (!server || !client || normalized(server) !== normalized(client)) {
      console.warn('bundle: the SDK server and client ajv chunks differ or are missing; both are bundled');
      return;
    }
    b.onResolve({ filter: /^\.\/ajvProvider-[\w-]+\.mjs$/ }, (args) => {
      const file = join(args.resolveDir, args.path);
      return existsSync(file) && realpathSync(file) === server ? { path: client } : undefined;
    });
  },
};
const dist = join(root, 'dist');
const bundle = join(dist, 'gateway.cjs');
// tsc's map of the main.js replaced below, and a cache of an earlier bundle.
rmSync(join(dist, 'main.js.map'), { force: true });
rmSync(`${bundle}.cache`, { force: true });
rmSync(join(dist, 'chunks'), { recursive: true, force: true });

await build({
  entryPoints: [join(root, 'main.ts')],
  outfile: bundle,
  bundle: true,
  // CommonJS, so that the loader can compile it as a script with a code cache.
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import.meta means nothing in CommonJS: the bundle's own URL stands in for it (src/version.ts
  // finds package.json from there).
  define: { 'import.meta.url': '__amgBundleUrl' },
  banner: { js: "const __amgBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Less text to hold and to hash for the cache; identifiers are kept, so stack traces and
  // error names read as in the source.
  minifyWhitespace: true,
  minifySyntax: true,
  // Beside the bundle, not linked from it (node does not read it): the bench maps its CPU
  // profiles back to the source files with it (bench/lib/sourceMap.ts).
  sourcemap: 'external',
  logLevel: 'warning',
  plugins: [lazyDefaultFunctions, oneAjvProvider],
});

// Stored inside the CommonJS wrapper, which the loader would otherwise add at every start:
// wrapping it there made a second copy of the whole text for V8 to flatten (3 MB of a
// process's memory until a full collection). main.ts's #! line becomes a comment, which a
// script in the wrapper cannot start with.
const text = readFileSync(bundle, 'utf8');
writeFileSync(bundle, Module.wrap(text.startsWith('#!') ? `//${text}` : text));

const main = join(dist, 'main.js');
copyFileSync(join(root, 'config', 'codeCacheLoader.mjs'), main);
chmodSync(main, 0o755);

// One short stdio session (initialize, list_servers, end of input) writes the code cache
// with the functions a start and a first answer compile.
const dir = mkdtempSync(join(tmpdir(), 'amg-build-'));
try {
  writeFileSync(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { idle: { command: process.execPath, args: ['-e', '0'] } } }));
  writeFileSync(join(dir, 'rules.json'), JSON.stringify({ agents: { build: { allow: { servers: ['*'] } } } }));
  const lines = [
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'build', version: '0' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_servers', arguments: { agent_id: 'build' } } },
  ];
  const args = [
    main,
    '--transport',
    'stdio',
    '--mcp-config',
    join(dir, '.mcp.json'),
    '--rules',
    join(dir, 'rules.json'),
    '--audit-log',
    'off',
    '--log-level',
    'error',
  ];
  const run = spawnSync(process.execPath, args, {
    cwd: dir,
    // The builder's own GATEWAY_* settings (say GATEWAY_TRANSPORT=http) must not change what this
    // session is, and its NODE_OPTIONS (V8 flags) would make a cache that a plain start rejects.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GATEWAY_') && name !== 'NODE_OPTIONS')), HOME: dir },
    input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0 || !existsSync(`${bundle}.cache`)) throw new Error(`the bundle did not serve (exit ${run.status}): ${run.stderr}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
