// The reaper: a tiny watchdog process that ends the gateway's downstream process groups when
// the gateway itself dies without doing it (SIGKILL, an out-of-memory kill, a crash in native
// code), and removes the gateway's sandbox folder.
//
// How it notices: the gateway holds the only write end of a pipe that is the reaper's stdin
// (libuv opens it close-on-exec, so no downstream inherits it). However the gateway ends, the
// kernel closes that end and the reaper reads EOF. Over the pipe the gateway reports each
// process group it starts ("+<pgid>") and each it has seen empty ("-<pgid>", so a pgid reused
// later by someone else is never signalled). On EOF the reaper sends SIGTERM to every group
// still listed, SIGKILL 0.5 s later, removes the folder and exits.
//
// Why a reaper, and not the alternatives: a parent-death signal (prctl PR_SET_DEATHSIG) needs
// native code in Node.js, reaches only the direct child (not an npx wrapper's server or a
// server's own helpers) and is cleared by setuid programs; a cgroup needs root or a delegated
// subtree, which a gateway started by an MCP client as an ordinary user does not have. A
// process in the group's stead sees every member that stays in the group, as root and as an
// ordinary user. What leaves the group (setsid, a daemon double fork) escapes it.
//
// The reaper is /bin/sh, not a second Node.js process: it starts in about a millisecond and
// takes about 1.5 MB, where Node.js takes ~50 ms of CPU and ~40 MB. It is started at the
// first downstream spawn (a gateway without stdio servers never starts one), in a session of
// its own so that a Ctrl-C or hangup aimed at the gateway's terminal does not reach it, and it
// ignores SIGINT, SIGTERM and SIGHUP besides: only the end of its pipe ends it.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { removeFolderSync } from './sandboxFolders.js';

/** What a transport tells the reaper about its process group. */
export interface GroupRegistry {
  /** A process group was started: the reaper ends it if the gateway dies first. */
  track(pgid: number): void;
  /** The group is gone: its id may be reused, so the reaper forgets it. */
  untrack(pgid: number): void;
}

/**
 * $1 is the gateway's sandbox folder ('' for none). `groups` is a space-separated list with a
 * space at both ends, so " <id> " finds an entry exactly. Lines that are not +/- and digits
 * are ignored.
 */
const REAPER_SCRIPT = `trap '' INT TERM HUP QUIT
groups=' '
while IFS= read -r line; do
  id=\${line#?}
  case $id in ''|*[!0-9]*) continue ;; esac
  [ "$id" -gt 1 ] || continue
  case $line in
    +*) groups="$groups$id " ;;
    -*) case $groups in *" $id "*) groups="\${groups%%" $id "*} \${groups#*" $id "}" ;; esac ;;
  esac
done
if [ "$groups" != ' ' ]; then
  for id in $groups; do kill -s TERM -- "-$id" 2>/dev/null; done
  sleep 0.5
  for id in $groups; do kill -s KILL -- "-$id" 2>/dev/null; done
fi
if [ -n "$1" ]; then rm -rf -- "$1"; fi
`;

/** A reaper that keeps dying is not started again after this many times. */
const MAX_STARTS = 5;

export interface ReaperOptions {
  /** The gateway's sandbox folder, removed by the reaper after the groups (see sandboxFolders.ts). */
  readonly folder?: string;
  /** PATH for the reaper's `sleep` and `rm`. */
  readonly path?: string | undefined;
  readonly logger: Logger;
}

/** Owns the reaper process of one gateway. close() is idempotent. */
export class Reaper implements GroupRegistry {
  readonly #opts: ReaperOptions;
  readonly #groups = new Set<number>();
  #child: ChildProcess | undefined;
  #stdin: Socket | undefined;
  #starts = 0;
  #closed = false;
  #warned = false;

  constructor(opts: ReaperOptions) {
    this.#opts = opts;
  }

  /** The reaper's pid while it runs (tests and status). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  track(pgid: number): void {
    // kill(-1) is every process the user may signal, and 0 the caller's own group: never a child's group.
    if (!Number.isSafeInteger(pgid) || pgid <= 1) return;
    if (this.#closed || this.#groups.has(pgid)) return;
    this.#groups.add(pgid);
    if (this.#stdin) this.#stdin.write(`+${pgid}\n`);
    else this.#start();
  }

  untrack(pgid: number): void {
    if (!this.#groups.delete(pgid)) return;
    this.#stdin?.write(`-${pgid}\n`);
  }

  /**
   * The gateway is shutting down and has closed its downstreams: the reaper is told (EOF),
   * ends whatever is still listed, and exits; the folder goes now.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stdin?.end();
    this.#stdin = undefined;
    this.#removeFolder();
  }

  /** The last-resort exit path: the folder goes now; the reaper sees EOF once the process is gone. */
  killSync(): void {
    this.#removeFolder();
  }

  #removeFolder(): void {
    removeFolderSync(this.#opts.folder, (fields, message) => this.#opts.logger.warn(fields, message));
  }

  /** Starts the reaper and hands it every group now listed. */
  #start(): void {
    if (this.#starts >= MAX_STARTS) return;
    this.#starts++;
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', REAPER_SCRIPT, 'agent-mcp-gateway-reaper', this.#opts.folder ?? ''], {
        stdio: ['pipe', 'ignore', 'ignore'],
        // A session and process group of its own: signals for the gateway's group miss it.
        detached: true,
        // Holds no folder busy, and gets none of the gateway's environment (its secrets).
        cwd: '/',
        env: { PATH: this.#opts.path ?? '/usr/bin:/bin' },
      });
    } catch (err) {
      this.#failed(err as Error);
      return;
    }
    const stdin = child.stdin as Socket;
    child.on('error', (err) => this.#failed(err));
    stdin.on('error', () => {
      // EPIPE: the reaper died; its exit handler starts another.
    });
    child.once('exit', () => {
      if (this.#child !== child) return;
      this.#child = undefined;
      this.#stdin = undefined;
      if (this.#closed) return;
      this.#opts.logger.warn({ pid: child.pid }, 'the reaper exited on its own; starting another');
      if (this.#groups.size > 0) this.#start();
    });
    // Neither keeps the gateway running: the gateway's exit is what the reaper waits for.
    child.unref();
    stdin.unref();
    this.#child = child;
    this.#stdin = stdin;
    let lines = '';
    for (const pgid of this.#groups) lines += `+${pgid}\n`;
    if (lines !== '') stdin.write(lines);
  }

  #failed(err: Error): void {
    this.#child = undefined;
    this.#stdin = undefined;
    this.#starts = MAX_STARTS;
    if (this.#warned) return;
    this.#warned = true;
    this.#opts.logger.warn({ err: err.message }, 'could not start the reaper (/bin/sh): downstream processes will outlive the gateway if it is killed with SIGKILL');
  }
}
