// One downstream MCP server: one SDK Client over one transport, opened lazily, shared by
// every agent, replaced by a fresh one after the server dies.
//
// Failure vocabulary (what callers of callTool/listTools get):
//   - GatewayError('TIMEOUT')             the per-call timeout (reset by progress) or the hard
//                                          maximum fired; the downstream got notifications/cancelled.
//   - AbortError (isAbortError)           the caller's signal fired; the downstream got
//                                          notifications/cancelled; the gateway answers nothing.
//   - GatewayError('SERVER_UNAVAILABLE')  cannot start/connect, exited or disconnected (message
//                                          has exit code or signal and the stderr tail), the
//                                          connection was closed, the server is failing fast
//                                          (message says when it retries), or the server answered
//                                          the request with a JSON-RPC error we have no better code for.
//   - GatewayError('RESULT_TOO_LARGE')    a stdio server wrote a message line over maxResultBytes:
//                                          every call pending on it fails at once, and it restarts.
//   - GatewayError('TOOL_NOT_FOUND')      JSON-RPC -32601, or -32602 saying the tool is unknown.
//   - GatewayError('INVALID_ARGUMENT')    any other JSON-RPC -32602 (the server rejected the arguments).
// A result with isError: true is a result and comes back untouched.
//
// Supervision. Every failure (a start that fails, an exit, a broken connection) counts; an
// answered request, or a connection that stayed up for `stableMs`, ends the streak. After n
// failures in a row the next attempt waits until lastFailureAt + min(baseMs * 2^(n-1), maxMs)
// (0.5 s, 1 s, 2 s, 4 s, ... 30 s). Below `failFastAfter` (5) failures a call waits out that
// delay and then tries (concurrent calls share the one attempt); from 5 on the server is
// failing fast: calls are refused at once with a message that says when the next attempt
// may be made, and the first call after that time makes it. Nothing restarts in the
// background: a server that nobody calls costs nothing.

import type { Logger } from 'pino';
import { z } from 'zod';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode as McpErrorCode,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Implementation,
  type LoggingLevel,
  type LoggingMessageNotification,
  type Result,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { ProcessGroupTransport, type ExitInfo } from './processGroupTransport.js';
import { protocolError } from '../protocolError.js';
import { fetchWithSharedSignal, httpTarget } from './httpTarget.js';
import type { GroupRegistry } from './reaper.js';
import { prepareLaunch } from './sandbox.js';

// The SDK client and the HTTP client transports are loaded on the first connection that
// needs them, not at start: a lazily started gateway answers initialize and list_servers
// without them (cold start), and a gateway with stdio servers only never loads the HTTP
// transports (memory). Until a module is loaded, no object of its classes can exist, so the
// instanceof checks below simply answer false.
type ClientModule = typeof import('@modelcontextprotocol/sdk/client/index.js');
interface HttpModules {
  readonly sse: typeof import('@modelcontextprotocol/sdk/client/sse.js');
  readonly streamable: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js');
}
let clientModule: ClientModule | undefined;
let httpModules: HttpModules | undefined;
let clientLoading: Promise<ClientModule> | undefined;
let httpLoading: Promise<HttpModules> | undefined;

function loadClientModules(http: boolean): Promise<unknown> {
  // A failed load (a broken install) is not remembered: the next connection tries again.
  clientLoading ??= import('@modelcontextprotocol/sdk/client/index.js').then(
    (m) => (clientModule = m),
    (err: unknown) => {
      clientLoading = undefined;
      throw err;
    },
  );
  if (!http) return clientLoading;
  httpLoading ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/sse.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]).then(
    ([sse, streamable]) => (httpModules = { sse, streamable }),
    (err: unknown) => {
      httpLoading = undefined;
      throw err;
    },
  );
  return Promise.all([clientLoading, httpLoading]);
}

function isStreamableHttpError(err: unknown): err is InstanceType<HttpModules['streamable']['StreamableHTTPError']> {
  return httpModules !== undefined && err instanceof httpModules.streamable.StreamableHTTPError;
}

function isSseError(err: unknown): boolean {
  return httpModules !== undefined && err instanceof httpModules.sse.SseError;
}

export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'failed' | 'closed';

/** A request a downstream server sends to its client (sampling, elicitation, roots/list). */
export interface ServerRequest {
  readonly method: string;
  readonly params?: Record<string, unknown> | undefined;
}

/**
 * Decides what to do with a server-to-client request: pass it to an upstream client that
 * declared the capability, or throw an McpError. `extra.signal` fires when the downstream
 * cancels the request or the connection goes away.
 */
export type ServerRequestHandler = (
  server: string,
  request: ServerRequest,
  extra: { signal: AbortSignal },
) => Promise<unknown>;

/** Restart backoff; see the header comment. */
export interface BackoffPolicy {
  /** Delay after the first failure. Default 500 ms. */
  readonly baseMs: number;
  /** Largest delay. Default 30 000 ms. */
  readonly maxMs: number;
  /** Failures in a row after which calls are refused at once until the retry time. Default 5. */
  readonly failFastAfter: number;
  /** A connection that stayed up this long before breaking starts a new streak. Default 30 000 ms. */
  readonly stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 500, maxMs: 30_000, failFastAfter: 5, stableMs: 30_000 });

/** Delay before the attempt that follows `failures` failures in a row (0 when there were none). */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  // 2^(n-1) overflows nothing before the cap: the exponent is bounded first.
  const exponent = Math.min(failures - 1, 30);
  return Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
}

export interface ConnectionOptions {
  readonly logger: Logger;
  /** Restart backoff; fields left out take DEFAULT_BACKOFF's values. */
  readonly backoff?: Partial<BackoffPolicy>;
  readonly clientInfo: { name: string; version: string };
  /** Bound on start + initialize. Default 30 000. */
  readonly connectTimeoutMs?: number;
  /** Bound on one tools/list page. Default 30 000. */
  readonly listTimeoutMs?: number;
  readonly onServerRequest?: ServerRequestHandler;
  /** The downstream said its tool list changed; the cache is already dropped. */
  readonly onToolsChanged?: (server: string) => void;
  /** The connection became ready (its first start or a restart); what the server offers may differ. */
  readonly onReady?: (server: string) => void;
  /** Every other downstream notification (resource updates, ...). Progress is routed per call, logging to onLog. */
  readonly onNotification?: (server: string, notification: { method: string; params?: unknown }) => void;
  /**
   * A notifications/message from the server (already checked against the SDK's schema).
   * `routeKey`: set by InstanceRegistry for an isolated instance (its requests' route key).
   */
  readonly onLog?: (server: string, params: LoggingMessageNotification['params'], routeKey?: string) => void;
  /**
   * The level the gateway wants servers that declare `logging` to log at, read when one
   * becomes ready and on syncLogLevel(); undefined: no client asked, the server's default stays.
   */
  readonly logLevel?: () => LoggingLevel | undefined;
  /** The environment stdio children inherit (minus secrets), normally process.env. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Absolute folder under which each sandboxed process gets its own folder. */
  readonly sandboxRoot: string;
  /** Ends the stdio process groups if the gateway dies without closing them. */
  readonly reaper?: GroupRegistry;
  /**
   * An isolated instance holds state that a restart would silently lose: once it has been up
   * and broke, it is never started again (calls fail with SERVER_UNAVAILABLE).
   */
  readonly singleLife?: boolean;
  /** Longest message line a stdio server may write; a longer one is RESULT_TOO_LARGE. Default 64 MiB. */
  readonly maxResultBytes?: number;
}

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

export interface CallOptions {
  /**
   * The caller's abort signal, one per call (the SDK adds a listener to it that it never
   * removes, so a signal shared by many calls would collect one per call).
   */
  signal?: AbortSignal;
  /** Idle timeout: restarted by every progress notification. */
  timeoutMs: number;
  /** Hard limit for the whole call, progress or not. */
  maxTotalTimeoutMs: number;
  /**
   * The timeout the caller set, when `timeoutMs` is what starting the server left of it:
   * timeout messages name this one. Default `timeoutMs`.
   */
  budgetMs?: number;
  onprogress?: (progress: ProgressUpdate) => void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** setTimeout fires at once for larger delays, so longer limits are clamped to this. */
const MAX_TIMER_MS = 2_147_483_647;
const DEFAULT_LIST_TIMEOUT_MS = 30_000;
const LOG_LEVEL_TIMEOUT_MS = 10_000;
const TERMINATE_SESSION_BOUND_MS = 500;
const STDERR_LINES_IN_MESSAGES = 10;
/** A server that keeps handing out cursors is broken; stop instead of looping forever. */
const MAX_TOOL_PAGES = 1_000;

/** The error a cancelled call rejects with; the gateway must not answer such a request. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

function abortError(reason: unknown): Error {
  const err = new Error('The operation was aborted', { cause: reason });
  err.name = 'AbortError';
  return err;
}

/** Marks an abort caused by the hard maximum, to tell it apart from the caller's abort. */
class TotalTimeoutReason extends Error {}

/**
 * tools/list pages, validated only as far as we rely on them. The SDK's ToolSchema would
 * strip fields it does not know (newer annotations, vendor keys) and rebuild every schema;
 * the gateway hands tools to models as the server described them.
 */
const ToolsPageSchema = z.looseObject({
  tools: z.array(z.unknown()),
  nextCursor: z.string().optional(),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** URL for messages and logs: no credentials, query or fragment. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

export class DownstreamConnection {
  #spec: ServerSpec;
  readonly #opts: ConnectionOptions;
  readonly #log: Logger;
  readonly #lifetime = new AbortController();
  readonly #backoff: BackoffPolicy;

  #state: ConnectionState = 'idle';
  #lastError: string | undefined;
  /** Set when the connection broke on a message over maxResultBytes, until the next one is ready. */
  #resultTooLarge: string | undefined;
  #restarts = 0;
  #consecutiveFailures = 0;
  #lastFailureAt: number | undefined;
  /** Date.now() when the current client became ready. */
  #readyAt: number | undefined;

  #client: Client | undefined;
  #transport: Transport | undefined;
  /** Bumped for every new client and on close; callbacks of older clients compare and bow out. */
  #generation = 0;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Old clients being shut down; close() waits for them so no process outlives the pool. */
  readonly #disposing = new Set<Promise<void>>();
  /** Every stdio transport whose process group may still exist, for killSync(). */
  readonly #processes = new Set<ProcessGroupTransport>();
  /** Clients dropped because the server forgot their session; their failures are retried. */
  readonly #expired = new WeakSet<Client>();

  #serverVersion: Implementation | undefined;
  #serverCapabilities: ServerCapabilities | undefined;
  #instructions: string | undefined;
  /** The level last sent to the current client with logging/setLevel. */
  #sentLogLevel: LoggingLevel | undefined;

  #inFlight = 0;
  readonly #idleWaiters = new Set<() => void>();
  /**
   * How close() fails the calls that run without a per-call AbortController (see
   * #requestCall): one reject function per such call in flight.
   */
  readonly #failOnClose = new Set<(reason: unknown) => void>();

  #tools: Tool[] | undefined;
  #toolsLoading: Promise<Tool[]> | undefined;
  /** Bumped on list_changed and reconnects, so a listing that raced one is not cached. */
  #toolsEpoch = 0;

  constructor(spec: ServerSpec, opts: ConnectionOptions) {
    this.#spec = spec;
    this.#opts = opts;
    this.#backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.#log = opts.logger.child({ server: spec.name });
    if (spec.configError !== undefined) {
      this.#state = 'failed';
      this.#lastError = spec.configError;
    }
  }

  get name(): string {
    return this.#spec.name;
  }
  get spec(): ServerSpec {
    return this.#spec;
  }
  get state(): ConnectionState {
    return this.#state;
  }
  /** pid of the running stdio server (also its process group id). */
  get pid(): number | undefined {
    if (!(this.#transport instanceof ProcessGroupTransport) || this.#transport.exitInfo) return undefined;
    return this.#transport.pid;
  }
  get lastError(): string | undefined {
    return this.#lastError;
  }
  /** Connection attempts made after a failure (crash, failed start, broken connection). */
  get restarts(): number {
    return this.#restarts;
  }
  /**
   * Failures in a row (failed starts, exits, broken connections). An answered request, or a
   * connection that stayed up for backoff.stableMs, ends the streak. Drives the backoff.
   */
  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }
  /** Date.now() of the last failure, if any. */
  get lastFailureAt(): number | undefined {
    return this.#lastFailureAt;
  }
  /**
   * While the server is failed: Date.now() before which no new attempt is made (the next call
   * waits for it, or is refused at once when failingFast). Undefined otherwise.
   */
  get nextRetryAt(): number | undefined {
    if (this.#state !== 'failed' || this.#lastFailureAt === undefined) return undefined;
    return this.#lastFailureAt + backoffDelay(this.#consecutiveFailures, this.#backoff);
  }
  /** True while calls are refused at once: backoff.failFastAfter failures in a row, retry time not reached. */
  get failingFast(): boolean {
    const retryAt = this.nextRetryAt;
    return retryAt !== undefined && this.#consecutiveFailures >= this.#backoff.failFastAfter && Date.now() < retryAt;
  }
  get serverVersion(): Implementation | undefined {
    return this.#serverVersion;
  }
  get serverCapabilities(): ServerCapabilities | undefined {
    return this.#serverCapabilities;
  }
  get instructions(): string | undefined {
    return this.#instructions;
  }

  /**
   * Sends logging/setLevel when the wanted level (options.logLevel) differs from the one this
   * server was last told, if it is ready and declares `logging`. Never throws: a server that
   * refuses keeps its own level, and the gateway filters per client anyway.
   */
  syncLogLevel(): void {
    const client = this.#client;
    const level = this.#opts.logLevel?.();
    if (level === undefined || level === this.#sentLogLevel || this.#state !== 'ready' || !client) return;
    if (!this.#serverCapabilities?.logging) return;
    this.#sentLogLevel = level;
    client.setLoggingLevel(level, { timeout: LOG_LEVEL_TIMEOUT_MS }).catch((err: unknown) => {
      this.#log.debug({ err: errorMessage(err), level }, 'downstream refused logging/setLevel');
    });
  }
  /** Number of cached tools, or undefined when the list is not cached. */
  get cachedToolCount(): number | undefined {
    return this.#tools?.length;
  }
  /**
   * The cached tool list while the connection is ready, without waiting or connecting
   * (execute_tool's fast path); undefined when listTools() would have to do something.
   */
  get cachedTools(): readonly Tool[] | undefined {
    return this.#state === 'ready' ? this.#tools : undefined;
  }
  /** listTools/callTool calls running now. */
  get inFlight(): number {
    return this.#inFlight;
  }
  /** Aborted when the connection is closed for good. */
  get lifetimeSignal(): AbortSignal {
    return this.#lifetime.signal;
  }

  /**
   * Last stderr lines of the current (or last) stdio process, credentials redacted (servers
   * print connection strings and tokens when they fail); '' for http/sse. Error messages,
   * lastError and the log quote it, so none of them carries what was redacted.
   */
  stderrTail(lines = 20): string {
    return this.#transport instanceof ProcessGroupTransport ? redactSecrets(this.#transport.stderrTail(lines)) : '';
  }

  /**
   * Opens the connection if it is not open. Concurrent callers share one attempt. Rejects
   * with GatewayError('SERVER_UNAVAILABLE') on failure (state 'failed', lastError set).
   */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    if (this.#state === 'ready') return Promise.resolve();
    // An entry that did not load has nothing to start; a fixed entry comes as a new connection.
    if (this.#spec.configError !== undefined) {
      return Promise.reject(new GatewayError('SERVER_UNAVAILABLE', this.#spec.configError, { server: this.name }));
    }
    if (this.#opts.singleLife && this.#readyAt !== undefined) return Promise.reject(this.#unavailableError());
    if (!this.#connecting) {
      const retryAt = this.nextRetryAt;
      const wait = retryAt === undefined ? 0 : retryAt - Date.now();
      if (wait > 0 && this.#consecutiveFailures >= this.#backoff.failFastAfter) {
        return Promise.reject(this.#failFastError(retryAt!));
      }
      const attempt = (wait > 0 ? this.#backoffWait(wait).then(() => this.#openClient()) : this.#openClient()).finally(() => {
        if (this.#connecting === attempt) this.#connecting = undefined;
      });
      this.#connecting = attempt;
    }
    return this.#connecting;
  }

  /** All tools, every page, cached until list_changed or reconnect. Do not mutate the result. */
  async listTools(opts: { signal?: AbortSignal } = {}): Promise<Tool[]> {
    return this.#guard(undefined, opts.signal, async () => {
      await this.#ready(opts.signal);
      if (this.#tools) return this.#tools;
      if (!this.#toolsLoading) {
        // Shared by concurrent callers, so no single caller's signal may cancel it.
        const loading = this.#withSession(undefined, (client) => this.#fetchAllTools(client)).finally(() => {
          if (this.#toolsLoading === loading) this.#toolsLoading = undefined;
        });
        this.#toolsLoading = loading;
      }
      return raceAbort(this.#toolsLoading, opts.signal);
    });
  }

  /**
   * Any other request to the server (resources, prompts, completions), connecting if needed;
   * it fails as listTools does. Bounded by `timeoutMs`, default the list timeout.
   */
  async request<T extends z.ZodType<Result>>(
    request: { method: string; params?: Record<string, unknown> },
    schema: T,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<z.infer<T>> {
    return this.#guard(undefined, opts.signal, () =>
      this.#withSession(opts.signal, async (client) => {
        const result = await client.request(request, schema, {
          ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
          timeout: clampTimer(opts.timeoutMs ?? this.#opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS),
        });
        this.#succeeded(client);
        return result;
      }),
    );
  }

  /** Forwards tools/call. See the header comment for the ways it fails. */
  async callTool(name: string, args: Record<string, unknown> | undefined, opts: CallOptions): Promise<CallToolResult> {
    const client = this.#client;
    if (this.#state !== 'ready' || client === undefined || this.#spec.transport !== 'stdio') {
      return this.#guard(name, opts.signal, () =>
        this.#withSession(opts.signal, (ready) => this.#requestCall(ready, name, args, opts)),
      );
    }
    // The common case, flattened: a ready stdio connection has no session to renew, so
    // this is #guard around #requestCall without #withSession's retry.
    this.#inFlight++;
    try {
      if (opts.signal?.aborted) throw abortError(opts.signal.reason);
      return await this.#requestCall(client, name, args, opts);
    } catch (err) {
      throw this.#mapError(err, name, opts.signal);
    } finally {
      if (--this.#inFlight === 0 && this.#idleWaiters.size > 0) for (const wake of [...this.#idleWaiters]) wake();
    }
  }

  /**
   * Takes a new spec that starts the server the same way (same command, args, env, cwd, url,
   * headers; see pool.connectionKey) but may differ in description or timeout.
   */
  updateSpec(spec: ServerSpec): void {
    if (spec.name !== this.#spec.name) throw new Error(`updateSpec: name '${spec.name}' differs from '${this.#spec.name}'`);
    this.#spec = spec;
  }

  /**
   * Resolves when no call is running, or after `maxWaitMs`, whichever comes first. "No call"
   * must hold for a turn of the event loop: execute_tool lists tools and then calls, and the
   * moment between the two is not idle.
   */
  drain(maxWaitMs: number): Promise<void> {
    if (this.#inFlight === 0 || maxWaitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#idleWaiters.delete(onIdle);
        resolve();
      };
      const onIdle = (): void => {
        setImmediate(() => {
          if (this.#inFlight === 0) finish();
        });
      };
      const timer = setTimeout(finish, maxWaitMs);
      timer.unref();
      this.#idleWaiters.add(onIdle);
    });
  }

  /** Idempotent. Ends the process group (stdio) or the session (http); later calls fail fast. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** SIGKILL the stdio process group right now (the last-resort exit path). */
  killSync(): void {
    for (const transport of this.#processes) transport.killSync();
  }

  async #shutdown(): Promise<void> {
    // Shutdown must not look like a crash: the state and generation change first, so the
    // onclose of the client being closed is recognized as ours.
    this.#state = 'closed';
    this.#generation++;
    this.#dropTools();
    const reason = new Error(`Connection to server '${this.name}' closed`);
    this.#lifetime.abort(reason);
    for (const fail of [...this.#failOnClose]) fail(reason);
    this.#failOnClose.clear();
    const client = this.#client;
    const transport = this.#transport;
    this.#client = undefined;
    if (client && transport) this.#dispose(client, transport, true);
    await Promise.allSettled([...this.#disposing]);
  }

  async #openClient(): Promise<void> {
    if (this.#state === 'failed') this.#restarts++;
    this.#state = 'connecting';
    const generation = ++this.#generation;
    this.#dropTools();

    let transport: Transport;
    try {
      // Resolved at once after the first connection (see loadClientModules).
      if (clientModule === undefined || (this.#spec.transport !== 'stdio' && httpModules === undefined)) {
        await loadClientModules(this.#spec.transport !== 'stdio');
        // close() ran meanwhile: nothing was started, nothing to dispose.
        if (generation !== this.#generation || this.#isClosed()) throw this.#closedError();
      }
      transport = this.#buildTransport();
    } catch (err) {
      if (generation !== this.#generation || this.#isClosed()) throw this.#closedError();
      const message = err instanceof GatewayError ? err.message : `Server '${this.name}' cannot be set up: ${errorMessage(err)}`;
      this.#startFailed(message);
      throw new GatewayError('SERVER_UNAVAILABLE', message, { server: this.name }, { cause: err });
    }
    const client = this.#buildClient(generation);
    this.#client = client;
    this.#transport = transport;

    const timeoutMs = this.#opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const attempt = new AbortController();
    const onLifetimeAbort = (): void => attempt.abort(this.#lifetime.signal.reason);
    this.#lifetime.signal.addEventListener('abort', onLifetimeAbort, { once: true });
    // client.connect's own timeout covers only initialize; transport start (an SSE stream
    // that never opens) needs a bound too.
    const timer = setTimeout(() => attempt.abort(new TotalTimeoutReason('connect timeout')), clampTimer(timeoutMs));
    timer.unref();
    try {
      const connecting = client.connect(transport, { timeout: clampTimer(timeoutMs), signal: attempt.signal });
      await raceAbort(connecting, attempt.signal);
    } catch (err) {
      // close() ran meanwhile; it disposes this client itself. (A method call, because TS
      // narrowed #state to 'connecting' above and cannot see close() change it.)
      if (generation !== this.#generation || this.#isClosed()) throw this.#closedError();
      const timedOut = attempt.signal.reason instanceof TotalTimeoutReason || isTimeout(err);
      // Whether the child ended by itself must be read before we kill it below.
      const exitedByItself = transport instanceof ProcessGroupTransport ? transport.exitInfo : undefined;
      // Make sure the process is gone (and its stderr drained) before describing it.
      this.#client = undefined;
      await this.#disposeAndWait(client, transport);
      const message = this.#describeConnectFailure(err, timedOut, timeoutMs, exitedByItself);
      this.#startFailed(message);
      throw new GatewayError('SERVER_UNAVAILABLE', message, { server: this.name }, { cause: err });
    } finally {
      clearTimeout(timer);
      this.#lifetime.signal.removeEventListener('abort', onLifetimeAbort);
    }
    if (generation !== this.#generation || this.#state !== 'connecting') {
      throw this.#closedError();
    }
    this.#state = 'ready';
    this.#lastError = undefined;
    this.#resultTooLarge = undefined;
    this.#readyAt = Date.now();
    this.#serverVersion = client.getServerVersion();
    this.#serverCapabilities = client.getServerCapabilities();
    this.#instructions = client.getInstructions();
    this.#sentLogLevel = undefined;
    this.syncLogLevel();
    this.#log.info(
      {
        pid: this.pid,
        serverName: this.#serverVersion?.name,
        serverVersion: this.#serverVersion?.version,
        ...(this.#restarts > 0 ? { restarts: this.#restarts } : {}),
      },
      'downstream server connected',
    );
    this.#opts.onReady?.(this.name);
  }

  /** Sleeps out the backoff before an attempt; close() cuts it short. */
  #backoffWait(ms: number): Promise<void> {
    this.#log.debug({ waitMs: ms, failures: this.#consecutiveFailures }, 'waiting before restarting downstream server');
    return new Promise<void>((resolve, reject) => {
      const signal = this.#lifetime.signal;
      if (signal.aborted) {
        reject(this.#closedError());
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(this.#closedError());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, clampTimer(ms));
      // A waiting call keeps its client (and so the process) busy; the wait itself must not.
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The server answered: whatever failed before is over. */
  #succeeded(client: Client): void {
    if (this.#client === client && this.#state === 'ready') this.#consecutiveFailures = 0;
  }

  #failFastError(retryAt: number): GatewayError {
    const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
    const last = this.#lastError === undefined ? '' : ` Last error: ${this.#lastError}`;
    return new GatewayError(
      'SERVER_UNAVAILABLE',
      `Server '${this.name}' is marked failed after ${this.#consecutiveFailures} failures in a row; ` +
        `next retry at ${new Date(retryAt).toISOString()} (in ${seconds} s).${last}`,
      { server: this.name },
    );
  }

  #buildClient(generation: number): Client {
    const client = new clientModule!.Client(
      { name: this.#opts.clientInfo.name, version: this.#opts.clientInfo.version },
      {
        // Declared so downstream servers offer their sampling/elicitation/roots tools; the
        // gateway decides per request whether an upstream client can actually answer.
        capabilities: {
          sampling: {},
          elicitation: { form: {}, url: {} },
          roots: { listChanged: true },
        },
      },
    );
    const forward =
      (method: string) =>
      async (request: { method: string; params?: unknown }, extra: { signal: AbortSignal }): Promise<Result> => {
        const handler = this.#opts.onServerRequest;
        if (!handler) throw protocolError(McpErrorCode.InvalidRequest, `${method} is not supported by the gateway client`);
        const params = isRecord(request.params) ? request.params : undefined;
        // The SDK validates sampling and elicitation results before they go downstream.
        return (await handler(this.name, { method: request.method, params }, { signal: extra.signal })) as Result;
      };
    client.setRequestHandler(CreateMessageRequestSchema, forward('sampling/createMessage'));
    client.setRequestHandler(ElicitRequestSchema, forward('elicitation/create'));
    client.setRequestHandler(ListRootsRequestSchema, forward('roots/list'));

    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (generation !== this.#generation) return;
      this.#log.debug('downstream tool list changed');
      this.#dropTools();
      this.#opts.onToolsChanged?.(this.name);
    });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      if (generation !== this.#generation) return;
      this.#opts.onLog?.(this.name, notification.params);
    });
    client.fallbackNotificationHandler = async (notification) => {
      if (generation !== this.#generation) return;
      this.#opts.onNotification?.(this.name, { method: notification.method, params: notification.params });
    };
    client.onerror = (err) => {
      this.#log.debug({ err: err.message }, 'downstream protocol error');
    };
    client.onclose = () => {
      // Protocol calls this before it rejects the pending requests, so they see lastError.
      if (generation !== this.#generation || this.#state !== 'ready') return;
      const tooLarge = this.#transport instanceof ProcessGroupTransport ? this.#transport.outputTooLarge : undefined;
      if (tooLarge !== undefined) this.#resultTooLarge = `Server '${this.name}' ${tooLarge}`;
      this.#onBroken(tooLarge ?? this.#describeExit() ?? 'closed the connection');
    };
    return client;
  }

  #buildTransport(): Transport {
    const spec = this.#spec;
    if (spec.transport === 'stdio') {
      const launch = prepareLaunch(spec, { parentEnv: this.#opts.parentEnv, sandboxRoot: this.#opts.sandboxRoot });
      const transport = new ProcessGroupTransport({
        serverName: spec.name,
        command: launch.command,
        args: launch.args,
        env: launch.env,
        cwd: launch.cwd,
        folder: launch.folder,
        logger: this.#opts.logger,
        ...(this.#opts.maxResultBytes !== undefined ? { maxMessageBytes: this.#opts.maxResultBytes } : {}),
        reaper: this.#opts.reaper,
      });
      this.#processes.add(transport);
      return transport;
    }
    if (!spec.url) throw new GatewayError('SERVER_UNAVAILABLE', `Server '${spec.name}' has no url`, { server: spec.name });
    const { url, headers } = httpTarget(spec.url, spec.headers);
    // In SDK 1.32 requestInit.headers also go on the SSE GET, so one setting covers both.
    const requestInit: RequestInit = { headers };
    return spec.transport === 'sse'
      ? new httpModules!.sse.SSEClientTransport(url, { requestInit, fetch: fetchWithSharedSignal })
      : new httpModules!.streamable.StreamableHTTPClientTransport(url, { requestInit, fetch: fetchWithSharedSignal });
  }

  /** Connects if needed; the caller's abort stops the wait, not the shared attempt. */
  async #ready(signal: AbortSignal | undefined): Promise<Client> {
    if (this.#state === 'closed') throw this.#closedError();
    if (this.#state !== 'ready' || !this.#client) {
      await raceAbort(this.connect(), signal);
    }
    const client = this.#client;
    if (!client || this.#state !== 'ready') throw this.#unavailableError();
    return client;
  }

  /**
   * Runs `fn` on a ready client; an HTTP 404 (the server forgot our session) gets one fresh
   * session and one retry. Concurrent 404s share the one re-initialization.
   */
  async #withSession<T>(signal: AbortSignal | undefined, fn: (client: Client) => Promise<T>): Promise<T> {
    // Ready: no await, so a call on an open connection does not pay a turn for #ready().
    const client = this.#state === 'ready' && this.#client ? this.#client : await this.#ready(signal);
    const generation = this.#generation;
    try {
      return await fn(client);
    } catch (err) {
      if (signal?.aborted || this.#state === 'closed') throw err;
      const expired = isStreamableHttpError(err) && err.code === 404;
      // A request that was still on the client when another request's 404 retired it fails
      // with "connection closed"; it gets the same one retry.
      if (!expired && !this.#expired.has(client)) throw err;
      if (generation === this.#generation && this.#client === client) {
        this.#log.info('downstream session expired (404), re-initializing');
        this.#expired.add(client);
        this.#retire(client);
      }
      return fn(await this.#ready(signal));
    }
  }

  #requestCall(client: Client, name: string, args: Record<string, unknown> | undefined, opts: CallOptions): Promise<CallToolResult> {
    // With progress, the SDK's idle timeout can be reset for ever, and a hard maximum above
    // the idle timeout can outlast it: both need the timer below. Otherwise the idle timeout
    // (never above the maximum) already bounds the call, and the cheaper path serves.
    if (opts.onprogress !== undefined || !(opts.timeoutMs <= opts.maxTotalTimeoutMs)) return this.#requestCallBounded(client, name, args, opts);
    return this.#requestCallPlain(client, name, args, opts);
  }

  /**
   * The common call: no progress, idle timeout within the maximum. The caller's own signal
   * goes to the SDK (it is per call), so there is no AbortController, listener or timer of
   * ours per call; close() fails the call through #failOnClose instead of an abort.
   */
  async #requestCallPlain(
    client: Client,
    name: string,
    args: Record<string, unknown> | undefined,
    opts: CallOptions,
  ): Promise<CallToolResult> {
    const request = client.request({ method: 'tools/call', params: { name, arguments: args ?? {} } }, CallToolResultSchema, {
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      timeout: clampTimer(opts.timeoutMs),
    });
    let fail: ((reason: unknown) => void) | undefined;
    try {
      const result = await new Promise<CallToolResult>((resolve, reject) => {
        fail = reject;
        this.#failOnClose.add(reject);
        request.then(resolve, reject);
      });
      this.#succeeded(client);
      return result;
    } catch (err) {
      if (isTimeout(err) && !opts.signal?.aborted && !this.#lifetime.signal.aborted) {
        // The idle timeout equal to the maximum is the maximum (as the bounded path reports it).
        if (opts.timeoutMs >= opts.maxTotalTimeoutMs) throw this.#totalTimeoutError(name, opts);
        throw new GatewayError('TIMEOUT', `Tool execution timed out after ${opts.budgetMs ?? opts.timeoutMs}ms`, { server: this.name, tool: name });
      }
      throw err;
    } finally {
      if (fail) this.#failOnClose.delete(fail);
    }
  }

  async #requestCallBounded(
    client: Client,
    name: string,
    args: Record<string, unknown> | undefined,
    opts: CallOptions,
  ): Promise<CallToolResult> {
    // A per-call signal: the SDK never removes its abort listener, so the long-lived
    // lifetime signal must not be handed to it directly.
    const call = new AbortController();
    const onCallerAbort = (): void => call.abort(opts.signal?.reason);
    const onLifetimeAbort = (): void => call.abort(this.#lifetime.signal.reason);
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.#lifetime.signal.addEventListener('abort', onLifetimeAbort, { once: true });
    // The SDK checks maxTotalTimeout only when progress arrives and then sends no
    // cancellation, so the hard limit is our timer, which aborts (and so cancels downstream).
    const hardLimit = setTimeout(
      () => call.abort(new TotalTimeoutReason(`exceeded ${opts.maxTotalTimeoutMs}ms`)),
      clampTimer(opts.maxTotalTimeoutMs),
    );
    hardLimit.unref();
    try {
      const result = await client.request(
        { method: 'tools/call', params: { name, arguments: args ?? {} } },
        CallToolResultSchema,
        {
          signal: call.signal,
          timeout: clampTimer(opts.timeoutMs),
          resetTimeoutOnProgress: true,
          onprogress: opts.onprogress
            ? (p) => {
                const update: ProgressUpdate = { progress: p.progress };
                if (p.total !== undefined) update.total = p.total;
                if (p.message !== undefined) update.message = p.message;
                opts.onprogress?.(update);
              }
            : undefined,
        },
      );
      this.#succeeded(client);
      return result;
    } catch (err) {
      if (call.signal.reason instanceof TotalTimeoutReason && !opts.signal?.aborted) throw this.#totalTimeoutError(name, opts);
      if (isTimeout(err) && !call.signal.aborted) {
        throw new GatewayError('TIMEOUT', `Tool execution timed out after ${opts.budgetMs ?? opts.timeoutMs}ms`, { server: this.name, tool: name });
      }
      throw err;
    } finally {
      clearTimeout(hardLimit);
      opts.signal?.removeEventListener('abort', onCallerAbort);
      this.#lifetime.signal.removeEventListener('abort', onLifetimeAbort);
    }
  }

  #totalTimeoutError(name: string, opts: CallOptions): GatewayError {
    return new GatewayError('TIMEOUT', `Tool execution exceeded the maximum of ${opts.maxTotalTimeoutMs}ms`, {
      server: this.name,
      tool: name,
    });
  }

  async #fetchAllTools(client: Client): Promise<Tool[]> {
    const epoch = this.#toolsEpoch;
    const timeout = this.#opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
    const tools: Tool[] = [];
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_TOOL_PAGES) throw new Error(`tools/list returned more than ${MAX_TOOL_PAGES} pages`);
      // Not client.listTools(): it resets the SDK's per-tool caches on every page.
      const result = await client.request(
        { method: 'tools/list', params: cursor !== undefined ? { cursor } : {} },
        ToolsPageSchema,
        { timeout },
      );
      for (const tool of result.tools) {
        if (isRecord(tool) && typeof tool.name === 'string' && isRecord(tool.inputSchema)) {
          tools.push(tool as Tool);
        } else {
          this.#log.warn({ tool: isRecord(tool) ? tool.name : undefined }, 'downstream tool without name or inputSchema ignored');
        }
      }
      cursor = result.nextCursor;
      if (cursor === undefined) break;
      if (seenCursors.has(cursor)) throw new Error(`tools/list repeated cursor ${JSON.stringify(cursor)}`);
      seenCursors.add(cursor);
    }
    Object.freeze(tools);
    this.#succeeded(client);
    if (epoch === this.#toolsEpoch && this.#client === client && this.#state === 'ready') this.#tools = tools;
    return tools;
  }

  /** Turns whatever went wrong into the vocabulary in the header comment. */
  async #guard<T>(tool: string | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      if (signal?.aborted) throw abortError(signal.reason);
      return await fn();
    } catch (err) {
      throw this.#mapError(err, tool, signal);
    } finally {
      if (--this.#inFlight === 0 && this.#idleWaiters.size > 0) for (const wake of [...this.#idleWaiters]) wake();
    }
  }

  #mapError(err: unknown, tool: string | undefined, signal: AbortSignal | undefined): Error {
    if (signal?.aborted) return isAbortError(err) ? (err as Error) : abortError(signal.reason);
    if (err instanceof GatewayError) return err;
    if (this.#state === 'closed') return this.#closedError();
    const details = tool === undefined ? { server: this.name } : { server: this.name, tool };
    if (err instanceof McpError) {
      if (err.code === McpErrorCode.ConnectionClosed) {
        if (this.#resultTooLarge !== undefined) return new GatewayError('RESULT_TOO_LARGE', this.#resultTooLarge, details, { cause: err });
        return this.#unavailableError(err, tool);
      }
      if (err.code === McpErrorCode.RequestTimeout) {
        return new GatewayError('TIMEOUT', `Server '${this.name}' did not answer in time`, details, { cause: err });
      }
      if (tool !== undefined && isUnknownToolError(err)) {
        return new GatewayError('TOOL_NOT_FOUND', `Tool '${tool}' not found on server '${this.name}'`, details, { cause: err });
      }
      if (err.code === McpErrorCode.InvalidParams) {
        return new GatewayError('INVALID_ARGUMENT', `Server '${this.name}' rejected the arguments: ${err.message}`, details, {
          cause: err,
        });
      }
      return new GatewayError('SERVER_UNAVAILABLE', `Server '${this.name}' returned an error: ${err.message}`, details, {
        cause: err,
      });
    }
    if (this.#spec.transport !== 'stdio' && isTransportFailure(err)) {
      // HTTP has no process to watch: a failed exchange is how a broken connection shows.
      if (this.#state === 'ready') this.#onBroken(`connection failed: ${redactUrls((err as Error).message)}`);
      return this.#unavailableError(err, tool);
    }
    if (isTransportFailure(err)) return this.#unavailableError(err, tool);
    const message = err instanceof Error ? err.message : String(err);
    return new GatewayError('SERVER_UNAVAILABLE', `Server '${this.name}' returned an invalid answer: ${message}`, details, {
      cause: err,
    });
  }

  /** The server died or the connection broke while we were using it. */
  #onBroken(what: string): void {
    const message = `Server '${this.name}' ${what}`;
    this.#log.warn({ lastError: message }, 'downstream server became unavailable');
    const client = this.#client;
    const transport = this.#transport;
    this.#client = undefined;
    // A connection that served for a while before breaking is a new incident, not a streak.
    if (this.#readyAt !== undefined && Date.now() - this.#readyAt >= this.#backoff.stableMs) this.#consecutiveFailures = 0;
    this.#markFailed(message);
    if (client && transport) this.#dispose(client, transport, false);
  }

  /** Stops using a client without it counting as a failure (HTTP session expiry). */
  #retire(client: Client): void {
    const transport = this.#transport;
    this.#generation++;
    this.#client = undefined;
    this.#state = 'idle';
    this.#dropTools();
    if (transport) this.#dispose(client, transport, false);
  }

  /**
   * A start that failed on its own (never one that close() interrupted): logged here, once,
   * whoever asked for it (a call in lazy mode, the eager start, an isolated instance).
   */
  #startFailed(message: string): void {
    this.#markFailed(message);
    this.#log.warn({ error: message }, 'downstream server failed to start');
  }

  #markFailed(message: string): void {
    this.#state = 'failed';
    this.#lastError = message;
    this.#consecutiveFailures++;
    this.#lastFailureAt = Date.now();
    this.#dropTools();
    if (this.#consecutiveFailures === this.#backoff.failFastAfter) {
      const retryAt = this.nextRetryAt;
      this.#log.warn(
        { failures: this.#consecutiveFailures, nextRetry: retryAt === undefined ? null : new Date(retryAt).toISOString() },
        'downstream server marked failed: calls fail fast until the next retry',
      );
    }
  }

  #dropTools(): void {
    this.#toolsEpoch++;
    this.#tools = undefined;
    this.#toolsLoading = undefined;
  }

  /** Closes a client in the background; close() waits for every one of these. */
  #dispose(client: Client, transport: Transport, terminateSession: boolean): void {
    const done = this.#disposeAndWait(client, transport, terminateSession);
    this.#disposing.add(done);
    void done.finally(() => this.#disposing.delete(done));
  }

  async #disposeAndWait(client: Client, transport: Transport, terminateSession = false): Promise<void> {
    try {
      if (
        terminateSession &&
        httpModules !== undefined &&
        transport instanceof httpModules.streamable.StreamableHTTPClientTransport &&
        transport.sessionId !== undefined
      ) {
        await withTimeout(transport.terminateSession(), TERMINATE_SESSION_BOUND_MS).catch(() => {});
      }
      await client.close();
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'error while closing downstream client');
    }
    // client.close() is a no-op once the transport closed on its own; make sure of the process.
    await transport.close().catch(() => {});
    if (transport instanceof ProcessGroupTransport) this.#processes.delete(transport);
  }

  #describeConnectFailure(err: unknown, timedOut: boolean, timeoutMs: number, exit: ExitInfo | undefined): string {
    if (this.#transport instanceof ProcessGroupTransport) {
      if (exit?.error !== undefined) {
        // A missing cwd also reports as "spawn <command> ENOENT", so name both.
        const where = this.#spec.cwd === undefined ? '' : ` in '${this.#spec.cwd}'`;
        return this.#withStderr(`Server '${this.name}' could not be started (command '${this.#spec.command}'${where}): ${exit.error}`);
      }
      if (exit) return this.#withStderr(`Server '${this.name}' ${describeExitInfo(exit)} during initialization`);
      if (timedOut) return this.#withStderr(`Server '${this.name}' did not complete initialization within ${timeoutMs}ms`);
      return this.#withStderr(`Server '${this.name}' failed to initialize: ${errorMessage(err)}`);
    }
    const where = this.#spec.url === undefined ? '' : ` at ${redactUrl(this.#spec.url)}`;
    if (timedOut) return `Server '${this.name}'${where} did not complete initialization within ${timeoutMs}ms`;
    return `Cannot connect to server '${this.name}'${where}: ${redactUrls(errorMessage(err))}`;
  }

  /** "exited with code 42. Last stderr lines: ..." once the stdio child has ended. */
  #describeExit(): string | undefined {
    const transport = this.#transport;
    if (!(transport instanceof ProcessGroupTransport) || !transport.exitInfo) return undefined;
    return this.#withStderr(describeExitInfo(transport.exitInfo));
  }

  #withStderr(message: string): string {
    const tail = this.stderrTail(STDERR_LINES_IN_MESSAGES);
    return tail === '' ? message : `${message}. Last stderr lines:\n${tail}`;
  }

  #unavailableError(cause?: unknown, tool?: string): GatewayError {
    const details = tool === undefined ? { server: this.name } : { server: this.name, tool };
    // Between the child's exit and onclose (a few ms) lastError is not set yet.
    const exit = this.#state === 'ready' ? this.#describeExit() : undefined;
    const message =
      this.#lastError ??
      (exit !== undefined
        ? `Server '${this.name}' ${exit}`
        : `Server '${this.name}' is unavailable${cause ? `: ${redactUrls(errorMessage(cause))}` : ''}`);
    return new GatewayError('SERVER_UNAVAILABLE', message, details, { cause });
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #closedError(): GatewayError {
    return new GatewayError('SERVER_UNAVAILABLE', `Connection to server '${this.name}' is closed`, { server: this.name });
  }
}

function describeExitInfo(exit: ExitInfo): string {
  if (exit.error !== undefined) return `could not be started: ${exit.error}`;
  if (exit.signal) return `was killed by signal ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** Every URL in `text` redacted, for messages that quote a transport's error. */
function redactUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => redactUrl(url));
}

function clampTimer(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_TIMER_MS) : MAX_TIMER_MS;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isTimeout(err: unknown): boolean {
  return err instanceof McpError && err.code === McpErrorCode.RequestTimeout;
}

function isUnknownToolError(err: McpError): boolean {
  if (err.code === McpErrorCode.MethodNotFound) return true;
  return err.code === McpErrorCode.InvalidParams && /unknown tool|tool .*not found|not found/i.test(err.message);
}

function isTransportFailure(err: unknown): boolean {
  if (isStreamableHttpError(err) || isSseError(err)) return true;
  if (!(err instanceof Error)) return false;
  return (err instanceof TypeError && /fetch/i.test(err.message)) || /^Not connected/.test(err.message);
}

/** `promise`, or an AbortError as soon as `signal` fires. The promise itself keeps running. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
