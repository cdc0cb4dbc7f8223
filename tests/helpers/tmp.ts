// Temporary folders and JSON files for tests, with a registry so nothing is left in /tmp.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const created = new Set<string>();

/** A fresh folder under the OS temp dir, removed by cleanupTmpDirs(). */
export function makeTmpDir(prefix = 'amg-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  created.add(dir);
  return dir;
}

/** Remove every folder made by makeTmpDir() so far. Call it from afterAll. */
export function cleanupTmpDirs(): void {
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true });
    created.delete(dir);
  }
}

export interface WriteJsonOptions {
  /**
   * true (default): write a temp file next to the target and rename it over the target, so a
   * reader (or a file watcher) never sees a half-written file; this is how most editors save.
   * false: write in place (truncate + write), like `echo > file`.
   */
  atomic?: boolean;
  /** JSON indentation (default 2). */
  indent?: number;
}

let seq = 0;

/** Write `obj` as JSON to `path`. */
export function writeJson(path: string, obj: unknown, { atomic = true, indent = 2 }: WriteJsonOptions = {}): void {
  const data = JSON.stringify(obj, null, indent) + '\n';
  if (!atomic) {
    writeFileSync(path, data);
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++seq}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
