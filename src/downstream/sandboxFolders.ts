// The folder that holds one gateway's sandbox folders, and the removal of those a dead
// gateway left behind.
//
// Each gateway keeps the folders of its sandboxed processes in one folder of its own under
// the sandbox root, named after the process that owns it: gw-<pid>-<start>-<random>, where
// <start> is the process's start time from /proc (a pid alone is reused, by the next
// container's gateway as often as not). A gateway that exits removes its folder; one that is
// killed leaves it to its reaper (reaper.ts), and if that could not run either, the next
// gateway to start with the same root removes every such folder whose owner is gone.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from './procfs.js';

const GATEWAY_FOLDER = /^gw-(\d+)-(\d+)-[0-9a-f]{8}$/;

/** The folder (not created here) for this gateway's sandbox folders under `root`. */
export function gatewayFolder(root: string): string {
  const start = processStartTime(process.pid) ?? 0;
  // The random part keeps two gateways of one process (tests, an embedding) apart.
  return join(root, `gw-${process.pid}-${start}-${randomBytes(4).toString('hex')}`);
}

/**
 * Removes the gateway folders under `root` whose owning process is gone, and returns their
 * paths. Only folders of this user; anything else under `root` is left alone.
 */
export async function removeAbandonedFolders(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return []; // no root yet: nothing was ever left here
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const m = GATEWAY_FOLDER.exec(name);
    if (!m || ownerAlive(Number(m[1]), Number(m[2]))) continue;
    const path = join(root, name);
    try {
      const stat = await lstat(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true, maxRetries: 2 });
      removed.push(path);
    } catch {
      // removed meanwhile by another gateway starting, or not ours to remove
    }
  }
  return removed;
}

function ownerAlive(pid: number, start: number): boolean {
  const started = processStartTime(pid);
  if (started !== undefined) return start === 0 || started === start;
  // /proc answers for this process: so the owner is gone (or a zombie).
  if (processStartTime(process.pid) !== undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes a sandbox folder now (exit paths are synchronous); a failure is only worth a warning. */
export function removeFolderSync(folder: string | undefined, warn: (fields: Record<string, unknown>, message: string) => void): void {
  if (folder === undefined) return;
  try {
    rmSync(folder, { recursive: true, force: true, maxRetries: 2 });
  } catch (err) {
    warn({ folder, err: (err as Error).message }, 'could not remove the sandbox folder');
  }
}
