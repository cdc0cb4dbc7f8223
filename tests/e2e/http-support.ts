// Small shared helpers of the HTTP e2e tests.
import { existsSync, readFileSync } from 'node:fs';
export { processesWithEnv, waitFor } from '../helpers/processes.js';

/** JSON lines of a file that another process may be appending to: a partial last line is skipped. */
export function readJsonlSafe(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // being written
    }
  }
  return out;
}
