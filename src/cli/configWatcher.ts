// Watches the configuration files for edits and reports each file, debounced, by its key.
//
// The folders are watched, not the files: an editor that saves by writing a temporary file
// and renaming it over the original replaces the inode, and a watch on the old inode would
// go silent after the first save. Watching the folder also sees `touch`, truncation, and a
// file that is deleted and created again. Other files in the folders are ignored (and never
// get a watcher of their own).
//
// Debounce is per file and trailing (debounce.ts): every event restarts that file's timer, and
// the reload runs once the file has been quiet for `debounceMs`. An editor's save (truncate,
// write, chmod, rename) or a burst of writes is one reload; the two files never delay each other.

import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { errorMessage } from '../values.js';
import { realClock } from '../downstream/clock.js';
import { KeyedDebounce, type Timers } from './debounce.js';

export const DEFAULT_DEBOUNCE_MS = 300;
/**
 * chokidar drops a file's `change` events for 50 ms after one it emitted (a leading-edge
 * throttle, no trailing event). A report at least this long after the last event seen is
 * therefore later than any write whose event was dropped, so the reload reads the final content.
 */
export const MIN_DEBOUNCE_MS = 75;
/** An hour: beyond it, a reload on edit is not what anyone wants. */
export const MAX_DEBOUNCE_MS = 3_600_000;

/** The little of a logger this module needs (a pino Logger fits). */
export interface WatchLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ConfigWatcherOptions<K extends string> {
  /** The files to watch, by key: `{ mcp_config: '/path/.mcp.json', gateway_rules: '...' }`. */
  readonly files: Readonly<Record<K, string>>;
  /** Called once per quiet period per changed file. Exceptions are logged, never thrown. */
  readonly onChange: (key: K) => void;
  /** Quiet time before a change is reported. Default 300 ms; at least MIN_DEBOUNCE_MS. */
  readonly debounceMs?: number;
  readonly logger?: WatchLogger;
  /** Default: the real ones. */
  readonly timers?: Timers;
}

export interface ConfigWatcher {
  /** Resolves once the watches are in place (edits from then on are seen). Never rejects. */
  readonly ready: Promise<void>;
  /** Idempotent. Stops watching and cancels pending reports. */
  close(): Promise<void>;
}

const silentLogger: WatchLogger = { debug: () => {}, warn: () => {} };

export function watchConfigFiles<K extends string>(options: ConfigWatcherOptions<K>): ConfigWatcher {
  const debounceMs = Math.max(MIN_DEBOUNCE_MS, options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  const logger = options.logger ?? silentLogger;

  // Every path that names a watched file -> its keys. A symlinked file is known by both its
  // own path and its target's, so editing the target (in another folder) is seen too.
  const keysByPath = new Map<string, K[]>();
  const folders = new Set<string>();
  for (const key of Object.keys(options.files) as K[]) {
    const given = resolve(options.files[key]);
    for (const path of new Set([given, realPath(given)])) {
      keysByPath.set(path, [...(keysByPath.get(path) ?? []), key]);
      folders.add(dirname(path));
    }
  }

  let closed = false;

  const report = (key: K): void => {
    if (closed) return;
    try {
      options.onChange(key);
    } catch (err) {
      logger.warn({ file: options.files[key], err: errorMessage(err) }, 'config change handler failed');
    }
  };

  const debounce = new KeyedDebounce<K>(debounceMs, options.timers ?? realClock, report);

  const watcher: FSWatcher = watch([...folders], {
    depth: 0,
    ignoreInitial: true,
    persistent: true,
    // Only the folders themselves and the watched files get through; the rest of a busy
    // folder (a home directory, say) is never stat'ed or watched.
    ignored: (path: string) => !folders.has(resolve(path)) && !keysByPath.has(resolve(path)),
  });

  const onEvent = (event: string) => (path: string) => {
    const keys = keysByPath.get(resolve(path));
    if (!keys) return;
    logger.debug({ event, file: path }, 'config file event');
    if (closed) return;
    for (const key of keys) debounce.poke(key);
  };
  // `unlink` counts too: a deleted file is reported (its reload fails and keeps the last good
  // configuration), and an editor's delete-then-create collapses into one report.
  watcher.on('add', onEvent('add'));
  watcher.on('change', onEvent('change'));
  watcher.on('unlink', onEvent('unlink'));
  watcher.on('error', (err: unknown) => logger.warn({ err: errorMessage(err) }, 'config file watcher error'));

  let markReady!: () => void;
  const ready = new Promise<void>((resolveReady) => (markReady = resolveReady));
  watcher.once('ready', () => markReady());

  let closing: Promise<void> | undefined;
  return {
    ready,
    close: () => {
      closing ??= (async () => {
        closed = true;
        markReady();
        debounce.cancel();
        await watcher.close().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'closing the config watcher failed'));
      })();
      return closing;
    },
  };
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
