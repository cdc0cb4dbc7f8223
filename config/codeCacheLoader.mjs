#!/usr/bin/env node
// dist/main.js: loads the gateway bundle (dist/gateway.cjs, made by config/bundle.mjs) with
// V8's code cache. Node 20 has no module compile cache, and compiling the bundle was most of
// a start's CPU time: with the cache V8 deserializes the functions a start runs instead of
// compiling them again (docs/performance.md, "Start"). The cache is written by the build
// (which serves one list_servers with the bundle) and again whenever V8 rejects it (another
// Node version): at exit, atomically, and not at all when dist/ is read-only.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { constants, Script } from 'node:vm';

// V8 grows the young generation from 1 to 8 MB per semi-space when many objects survive its
// collections, which the start (every module's objects, all long-lived) always does: 5 MB of
// an idle gateway's memory. Held at 1 MB: a call's garbage is short-lived, so the collections
// stay as cheap and only more frequent (CPU per call and throughput measured unchanged,
// docs/performance.md, "Third round: idle RSS"). Before anything is compiled, so that the
// code cache is made and checked under the same flags; not when node was given its own
// young-generation size.
const nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
if (!/semi[-_]space/.test(nodeFlags)) setFlagsFromString('--semi-space-growth-factor=1');

const file = join(dirname(fileURLToPath(import.meta.url)), 'gateway.cjs');
const cacheFile = `${file}.cache`;
/** The compiled bundle; the cache's bytes are V8's once compiled, so the buffer is not kept. */
function compile() {
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet: compiled as usual, and the cache written at exit
  }
  // The bundle is stored in CommonJS's wrapper (config/bundle.mjs): compiled as read, one copy of its text.
  const script = new Script(readFileSync(file, 'utf8'), {
    filename: file,
    cachedData,
    // The few import() calls left in dependencies resolve as they would in a module.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  return { script, rejected: cachedData === undefined || script.cachedDataRejected === true };
}

const { script, rejected } = compile();
const module = { exports: {} };
script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
if (rejected) {
  // At exit, so the cache holds every function this run compiled, not only the top level.
  process.once('exit', () => {
    try {
      // Not the pid alone: two containers sharing dist/ both run as pid 1.
      const tmp = `${cacheFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      writeFileSync(tmp, script.createCachedData(), { flag: 'wx' });
      renameSync(tmp, cacheFile);
    } catch {
      // dist/ is not writable: every start compiles, as without a cache
    }
  });
}
