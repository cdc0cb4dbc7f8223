import { FileLockError, withFileLock } from '../../fileLock.js';
import { EMPTY_LOCK_FILE, LockFileError, readLockFile, writeLockFile, type LockFile } from '../../config/lockFile.js';

// The one read-change-write of the lockfile, for the gateway (trust on first use) and `pin`.
// Here rather than in config/: the lock looks at other processes, and config/ stays pure.

/**
 * Re-reads the lockfile, applies `change` to what is on disk now, and writes the result
 * atomically, all while holding `<path>.lock`: a concurrent writer's pins (another gateway's
 * trust on first use, a `pin --accept`) are never lost between a read and a write. Returns the
 * lockfile written.
 */
export function updateLockFile(path: string, change: (current: LockFile) => LockFile): LockFile {
  try {
    return withFileLock(path, () => {
      const next = change(readLockFile(path) ?? EMPTY_LOCK_FILE);
      writeLockFile(path, next);
      return next;
    });
  } catch (err) {
    if (err instanceof FileLockError) throw new LockFileError(err.message);
    throw err;
  }
}
