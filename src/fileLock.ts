// An exclusive lock beside a file that several processes read, change and write back (the
// pins lockfile: gateways sharing a rules folder, `pin --accept` while a gateway pins on first
// use). Without it each writer's re-read-then-write could drop what another wrote in between.
//
// The lock is `<path>.lock`, created with O_EXCL and holding the owner's pid. Synchronous on
// purpose: its callers change the file inside synchronous code, and a holder keeps it only for
// one read and one atomic write. A lock whose owner died (same host) or that is older than
// STALE_LOCK_MS (another host, a reused pid) is broken; after MAX_LOCK_WAIT_MS of waiting the
// caller gets an error rather than a gateway frozen behind someone else's lock.

import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';

/** A lock older than this is abandoned, whoever holds it: no writer needs it this long. */
export const STALE_LOCK_MS = 10_000;
/** How long a writer waits for the lock before it gives up. */
export const MAX_LOCK_WAIT_MS = 2_000;
const FIRST_DELAY_MS = 2;
const MAX_DELAY_MS = 100;

export class FileLockError extends Error {
  override name = 'FileLockError';
}

/** Runs `work` while holding `<path>.lock`; the lock is removed afterwards whatever `work` does. */
export function withFileLock<T>(path: string, work: () => T): T {
  const lockPath = `${path}.lock`;
  acquire(lockPath);
  try {
    return work();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

function acquire(lockPath: string): void {
  const deadline = Date.now() + MAX_LOCK_WAIT_MS;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new FileLockError(`${lockPath}: cannot be created (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (breakIfStale(lockPath)) continue;
    if (Date.now() >= deadline) throw new FileLockError(`${lockPath}: held by another writer${holderOf(lockPath)} for over ${MAX_LOCK_WAIT_MS} ms`);
    sleep(delay);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

/** Removes the lock when its owner is gone; true when it is gone now (so the caller tries again at once). */
function breakIfStale(lockPath: string): boolean {
  let seen: { ino: number; mtimeMs: number };
  try {
    seen = statSync(lockPath);
  } catch {
    return true;
  }
  const pid = ownerPid(lockPath);
  if (Date.now() - seen.mtimeMs <= STALE_LOCK_MS && (pid === undefined || alive(pid))) return false;
  // Only the very lock judged stale is removed, not one another waiter made after breaking it.
  try {
    const now = statSync(lockPath);
    if (now.ino === seen.ino && now.mtimeMs === seen.mtimeMs) rmSync(lockPath, { force: true });
  } catch {
    // Already gone.
  }
  return true;
}

/** The pid written in the lock; undefined while its creator has not written it yet, or when it is not a pid. */
function ownerPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(lockPath: string): string {
  const pid = ownerPid(lockPath);
  return pid === undefined ? '' : ` (pid ${pid})`;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
