// Absolute paths the tests need, independent of the working directory vitest runs in.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = join(REPO_ROOT, 'tests', 'fixtures', 'servers');

/** Absolute path of a fixture server: `fixture('echo')` or `fixture('echo.mjs')`. */
export function fixture(name: string): string {
  return join(FIXTURES_DIR, name.endsWith('.mjs') ? name : `${name}.mjs`);
}

const serverPackage = (pkg: string) => join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', pkg, 'dist', 'index.js');
export const SERVER_EVERYTHING = serverPackage('server-everything');
export const SERVER_MEMORY = serverPackage('server-memory');
export const SERVER_FILESYSTEM = serverPackage('server-filesystem');

/**
 * The built gateway (`npm run build` writes it; `npm test` builds first).
 * TEST_GATEWAY_MAIN overrides it (e.g. to test another build of the same tree).
 */
export const GATEWAY_MAIN = process.env.TEST_GATEWAY_MAIN || join(REPO_ROOT, 'dist', 'main.js');
