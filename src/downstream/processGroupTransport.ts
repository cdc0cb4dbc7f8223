// Our stdio client transport for downstream servers.
//
// Why not the SDK's StdioClientTransport: it signals only the direct child, so servers
// started through `npx`, `uvx` or `sh -c` leave their real server behind (typescript-sdk#2023),
// and its close() waits 2 s before SIGTERM and 2 s more before SIGKILL, while Claude Code gives
// the gateway about 0.5 s to go. Here every server leads a process group, which we signal.
//
// Writing stays the SDK's (serializeMessage). Reading uses our linear line framing
// (jsonLines.ts): the SDK's ReadBuffer costs quadratic CPU on a large result, and past its
// limit it dropped the line silently, so the call waited for its full timeout. Calls made
// past the SDK Client (directCalls.ts) write and read here too.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { SdkError, SdkErrorCode, serializeMessage } from '@modelcontextprotocol/client';
import type { Transport, JSONRPCMessage } from '@modelcontextprotocol/client';
import { JsonLineReader } from '../jsonLines.js';
import { RateLimit, StderrCollector } from './childOutput.js';
import { DirectCalls } from './directCalls.js';
import { isGroupAlive, killGroupSync, signalGroup } from './processGroup.js';
import { removeFolderSync } from './sandboxFolders.js';
import type { GroupRegistry } from './reaper.js';

/** How the direct child ended. `error` is set when it could not be started at all. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: string;
}

export interface ProcessGroupTransportOptions {
  /** Used in every log line and message about this process. */
  readonly serverName: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment of the child (see buildChildEnv); nothing is merged in. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  readonly logger: Logger;
  /**
   * Largest single stdout line accepted, in bytes. A longer one ends the connection at once
   * (see outputTooLarge): its end may never come, and what the server does next is unknown.
   */
  readonly maxMessageBytes?: number;
  /** The process's own sandbox folder: removed once the process group is gone. */
  readonly folder?: string | undefined;
  /** Told of the process group while it may exist, so it outlives no dead gateway. */
  readonly reaper?: GroupRegistry | undefined;
}

/** Time a child gets to leave on its own after stdin EOF before the group gets SIGTERM. */
const EOF_GRACE_MS = 100;
/** Time between SIGTERM and SIGKILL. */
const TERM_GRACE_MS = 300;
/** Upper bound for close() as a whole: it must never hold up the gateway's exit. */
const CLOSE_BOUND_MS = 1_500;
/** After the direct child exits, how long we wait for its pipes to drain before onclose. */
const PIPE_DRAIN_MS = 100;
const POLL_MS = 10;

/** Debug logging of child output is rate-limited so a flood cannot flood our own stderr. */
const LOG_LINES_PER_SECOND = 100;

/** A large result (images, resources) is one line: above the SDK's 10 MiB, yet bounded. */
export const DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024;

/**
 * Not unref'd: close() is bounded (CLOSE_BOUND_MS) and awaited; with unref'd timers Node would
 * exit mid-close once the child is gone, skipping the caller's next steps (audit flush).
 */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class ProcessGroupTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  readonly #opts: ProcessGroupTransportOptions;
  readonly #log: Logger;
  readonly #reader: JsonLineReader;
  readonly #stderr: StderrCollector;
  readonly #stdoutLogLimit = new RateLimit(LOG_LINES_PER_SECOND);

  #child: ChildProcess | undefined;
  #pid: number | undefined;
  #started = false;
  #exitInfo: ExitInfo | undefined;
  /** Set once the group was seen empty: its id may be reused, so it is never signalled again. */
  #groupGone = false;
  #closeFired = false;
  #closing: Promise<void> | undefined;
  #delivering = false;
  #outputTooLarge: string | undefined;
  /** tools/call past the SDK Client; written with the transport's own send, which wrappers do not see. */
  readonly direct = new DirectCalls((message) => this.#write(message));

  constructor(opts: ProcessGroupTransportOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#stderr = new StderrCollector(opts.logger, opts.serverName, LOG_LINES_PER_SECOND);
    this.#reader = new JsonLineReader(opts.maxMessageBytes ?? DEFAULT_MAX_RESULT_BYTES);
  }

  /** The direct child's pid (also its process group id) once spawned. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /**
   * The child's stderr (read by us; see stderrTail). Its presence next to `pid` is how the
   * SDK tells a stdio transport from an HTTP one: on stdio a silent server/discover probe
   * means a 2025 server, and initialize follows on the same process.
   */
  get stderr(): Readable | null {
    return this.#child?.stderr ?? null;
  }

  /** Set once the direct child has exited or failed to start. */
  get exitInfo(): ExitInfo | undefined {
    return this.#exitInfo;
  }

  /** Set when the server wrote a line longer than maxMessageBytes, which closed the connection: what it did, for "Server 'x' <this>". */
  get outputTooLarge(): string | undefined {
    return this.#outputTooLarge;
  }

  /** The last `lines` lines of stderr (an unterminated last line included), newline-joined. */
  stderrTail(lines = 20): string {
    return this.#stderr.tail(lines);
  }

  start(): Promise<void> {
    if (this.#started) return Promise.reject(new Error('ProcessGroupTransport already started'));
    this.#started = true;
    if (this.#closing) return Promise.reject(new Error('ProcessGroupTransport was closed before it started'));

    return new Promise<void>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(this.#opts.command, [...this.#opts.args], {
          cwd: this.#opts.cwd,
          env: { ...this.#opts.env },
          stdio: ['pipe', 'pipe', 'pipe'],
          // Own process group (setsid): one signal to -pid reaches every grandchild.
          detached: true,
          windowsHide: true,
        });
      } catch (err) {
        // Synchronous spawn failures (bad cwd type, invalid args) end up here.
        this.#spawnFailed(err as Error);
        reject(err as Error);
        return;
      }
      this.#child = child;
      // Known synchronously when the fork worked, so a close() racing start() can signal it.
      this.#pid = child.pid;
      if (child.pid !== undefined) this.#opts.reaper?.track(child.pid);
      let spawned = false;

      child.once('spawn', () => {
        spawned = true;
        this.#log.debug({ server: this.#opts.serverName, pid: child.pid }, 'downstream process started');
        resolve();
      });
      child.on('error', (err) => {
        if (!spawned) {
          this.#spawnFailed(err);
          reject(err);
          return;
        }
        this.onerror?.(err);
      });
      child.once('exit', (code, signal) => this.#onExit(code, signal));
      // 'close' = exited and all stdio pipes closed. Grandchildren that keep a pipe open
      // would delay it forever, so #onExit also fires onclose after a short drain.
      child.once('close', () => this.#fireClose());

      child.stdin?.on('error', (err) => {
        // EPIPE after the child died: the exit path reports it.
        this.#log.debug({ server: this.#opts.serverName, err: err.message }, 'downstream stdin error');
      });
      child.stdout?.on('data', (chunk: Buffer) => this.#onStdout(chunk));
      child.stdout?.on('error', (err) => this.onerror?.(err));
      child.stderr?.on('data', (chunk: Buffer) => this.#stderr.write(chunk));
      child.stderr?.on('end', () => this.#stderr.flush());
      child.stderr?.on('error', () => {});
    });
  }

  #corked = false;

  send(message: JSONRPCMessage): Promise<void> {
    return this.#write(message);
  }

  #write(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin || this.#exitInfo || this.#closing || !stdin.writable) {
      return Promise.reject(new Error(`Not connected: server '${this.#opts.serverName}' is not running`));
    }
    // The write callback fires once the data is handed to the pipe (or with the error when
    // the child is gone), which gives backpressure without a 'drain' wait that could hang.
    if (!this.#corked) {
      // As gateway/stdioServerTransport.ts: the requests of one turn leave in one writev(2).
      this.#corked = true;
      stdin.cork();
      process.nextTick(() => {
        this.#corked = false;
        stdin.uncork();
      });
    }
    return new Promise<void>((resolve) => {
      stdin.write(serializeMessage(message), (err) => {
        if (err) {
          // The child stopped reading: it exited, or is about to. The request fails with the
          // connection's close, which says why (its exit, its last stderr), not with EPIPE; a
          // child that lives on without its stdin is closed the same way.
          this.#log.debug({ server: this.#opts.serverName, err: err.message }, 'downstream stdin closed');
          if (this.#exitInfo === undefined) setTimeout(() => this.#fireClose(), PIPE_DRAIN_MS).unref();
        }
        resolve();
      });
    });
  }

  /** Idempotent. Resolves once the child and every member of its process group are gone. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown().finally(() => this.#removeFolder());
    return this.#closing;
  }

  /** Last resort on the way out: SIGKILL the group now, without waiting. */
  killSync(): void {
    if (this.#pid !== undefined && !this.#groupGone) killGroupSync(this.#pid);
    this.#removeFolder();
  }

  #removeFolder(): void {
    removeFolderSync(this.#opts.folder, (fields, message) => this.#log.warn({ server: this.#opts.serverName, ...fields }, message));
  }

  async #shutdown(): Promise<void> {
    const child = this.#child;
    const pid = this.#pid;
    if (!child || pid === undefined) {
      // Never started, or never got a pid: nothing to wait for.
      this.#fireClose();
      return;
    }
    const deadline = Date.now() + CLOSE_BOUND_MS;
    try {
      child.stdin?.end();
    } catch {
      // already destroyed
    }
    if (await this.#waitGone(EOF_GRACE_MS)) return;
    this.#signal('SIGTERM');
    if (await this.#waitGone(TERM_GRACE_MS)) return;
    this.#signal('SIGKILL');
    if (await this.#waitGone(Math.max(0, deadline - Date.now()))) return;
    this.#log.warn({ server: this.#opts.serverName, pid }, 'downstream process group still present after SIGKILL');
    // Do not leave the SDK waiting for an onclose that may never come.
    this.#fireClose();
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#pid === undefined || this.#groupGone) return;
    this.#log.debug({ server: this.#opts.serverName, pid: this.#pid, signal }, 'signalling downstream process group');
    signalGroup(this.#pid, signal);
  }

  /** Polls until the child exited, onclose fired and the group is empty, or `ms` passed. */
  async #waitGone(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      if (this.#isGone()) return true;
      if (Date.now() >= until) return false;
      await delay(Math.min(POLL_MS, Math.max(1, until - Date.now())));
    }
  }

  #isGone(): boolean {
    if (!this.#exitInfo || !this.#closeFired) return false;
    if (this.#groupGone) return true;
    if (this.#pid !== undefined && isGroupAlive(this.#pid)) return false;
    this.#markGroupGone();
    return true;
  }

  #markGroupGone(): void {
    if (this.#groupGone) return;
    this.#groupGone = true;
    if (this.#pid !== undefined) this.#opts.reaper?.untrack(this.#pid);
  }

  #spawnFailed(err: Error): void {
    this.#exitInfo = { code: null, signal: null, error: err.message };
    this.#markGroupGone();
    this.#log.debug({ server: this.#opts.serverName, err: err.message }, 'downstream process failed to start');
    this.#fireClose();
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exitInfo = { code, signal };
    this.#log.debug({ server: this.#opts.serverName, pid: this.#pid, code, signal }, 'downstream process exited');
    if (!this.#closing && this.#pid !== undefined) {
      // The server died on its own; whatever it started is now orphaned in its group.
      this.#reapOrphans(this.#pid);
    }
    setTimeout(() => this.#fireClose(), PIPE_DRAIN_MS).unref();
  }

  #reapOrphans(pid: number): void {
    if (!isGroupAlive(pid)) {
      this.#markGroupGone();
      return;
    }
    this.#signal('SIGTERM');
    setTimeout(() => {
      if (!this.#groupGone && isGroupAlive(pid)) this.#signal('SIGKILL');
    }, TERM_GRACE_MS).unref();
  }

  #fireClose(): void {
    if (this.#closeFired) return;
    this.#closeFired = true;
    this.#stderr.flush();
    this.#reader.clear();
    try {
      this.onclose?.();
    } finally {
      this.direct.closeAll(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'));
    }
  }

  #onStdout(chunk: Buffer): void {
    if (this.#closeFired) return;
    this.#reader.append(chunk);
    if (!this.#delivering) {
      this.#delivering = true;
      this.#deliverNext();
    }
  }

  /**
   * One message per microtask (queueMicrotask: no promise per chunk). The SDK runs notification
   * handlers (progress included) in a microtask but responses synchronously: in one loop a
   * result would overtake the progress sent just before it, and that progress would be dropped.
   */
  readonly #deliverNext = (): void => {
    for (;;) {
      const line = this.#closeFired ? undefined : this.#reader.next();
      if (line === undefined) {
        this.#delivering = false;
        return;
      }
      if (line.kind === 'overflow') {
        this.#tooLarge();
        continue;
      }
      if (line.kind === 'json' && this.direct.take(line.value)) break;
      const parsed = line.kind === 'json' ? JSONRPCMessageSchema.safeParse(line.value) : undefined;
      if (parsed?.success !== true) {
        // A server that prints a banner or a stray console.log keeps working.
        const limit = this.#stdoutLogLimit.take();
        if (limit.ok) {
          this.#log.debug(
            { server: this.#opts.serverName, suppressed: limit.suppressed || undefined },
            line.kind === 'json' ? 'downstream stdout line is not JSON-RPC, skipped' : 'downstream stdout line is not JSON, skipped',
          );
        }
        continue;
      }
      try {
        this.onmessage?.(parsed.data);
      } catch (err) {
        this.onerror?.(err as Error);
      }
      break;
    }
    queueMicrotask(this.#deliverNext);
  };

  /**
   * The line may never end, and the call it answers can only be named once it does: every
   * pending request fails now (the connection closes) and the process group is stopped.
   */
  #tooLarge(): void {
    const limit = this.#reader.maxLineBytes;
    this.#outputTooLarge = `sent a message longer than ${limit} bytes (--max-result-bytes); its pending calls failed and it is restarted on the next call`;
    this.#log.warn({ server: this.#opts.serverName, limit }, 'downstream message longer than --max-result-bytes: closing the connection');
    void this.close();
    this.#fireClose();
  }
}
