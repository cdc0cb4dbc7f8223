import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The same module runs from src/ (tests, tsx) and from dist/src/ (the built CLI), so the
// package.json is found by walking up rather than by a fixed relative path.
function findPackageJson(): { name: string; version: string; root: string } {
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'agent-mcp-gateway' && typeof pkg.version === 'string') return { name: pkg.name, version: pkg.version, root: dir };
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  return { name: 'agent-mcp-gateway', version: '0.0.0', root: start };
}

const PACKAGE = findPackageJson();
export const VERSION = PACKAGE.version;
/** The folder holding package.json: where the example files and node_modules live. */
export const PACKAGE_ROOT = PACKAGE.root;
