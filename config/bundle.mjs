// The second half of `npm run build`: tsc has type-checked and emitted dist/ (dist/src for the
// demo server and the tests' helpers, dist/bin); this replaces dist/main.js with one bundle of
// the gateway and its dependencies (plus the chunks that only some modes load, under
// dist/chunks/). Loading one file instead of a few hundred modules is most of a start's time
// on Node 20, which has no module compile cache (docs/performance.md, "Start").
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist');
rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
// tsc's map of the main.js this replaces.
rmSync(join(outdir, 'main.js.map'), { force: true });

await build({
  entryPoints: { main: join(root, 'main.ts') },
  outdir,
  bundle: true,
  // `await import()` of the HTTP stack stays a separate file, loaded only with --transport http.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Not minified: measured no faster to start, and a stack trace stays readable without a map.
  // Bundled CommonJS packages call require() for node's built-ins, which an ES module lacks.
  banner: { js: "import { createRequire as __amgCreateRequire } from 'node:module'; const require = __amgCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
