// One downstream MCP server: one SDK Client over one transport, opened lazily, shared by
// every agent, replaced by a fresh one after the server dies (supervision.ts says when).
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

import type { z } from 'zod';
import { EmptyResultSchema } from '@modelcontextprotocol/core';
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { Client, InputRequiredResult, Result, ServerCapabilities, Tool } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { errorMessage } from '../values.js';
import { abortError, clampTimer, isAbortError, raceAbort } from './abort.js';
import { CallTracker } from './callTracker.js';
import type { ConnectionOptions, ConnectionState } from './connectionOptions.js';
import { authRequiredError, isCallersOwnError, isTransportFailure, mapMcpError, redactUrls } from './failureMapping.js';
import { isSessionExpired } from './httpSession.js';
import type { OAuthStatus } from './oauthProvider.js';
import type { ProtocolEra } from './negotiation.js';
import { SupervisedClient } from './supervisedClient.js';
import { requestCall, type CallOptions, type ToolCallResult } from './toolCall.js';
import { stripEnvelope, withMeta } from './envelope.js';
import { fetchToolList, type VettedTools } from './toolList.js';

export type { ServerRequest } from './clientFactory.js';
export type { ConnectionOptions, ConnectionState } from './connectionOptions.js';
export type { BackoffPolicy } from './supervision.js';
export type { ProtocolEra } from './negotiation.js';
export type { CallOptions, ToolCallResult } from './toolCall.js';
export { isInputRequiredResult } from '@modelcontextprotocol/client';

const DEFAULT_LIST_TIMEOUT_MS = 30_000;
const NONE_WITHHELD: ReadonlyMap<string, string> = new Map();

/** Options of DownstreamConnection.request. */
export interface DownstreamRequestOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Merged into the request's `_meta` (see CallOptions.meta). */
  readonly meta?: Record<string, unknown>;
  readonly allowInputRequired?: boolean;
}

export class DownstreamConnection {
  readonly #core: SupervisedClient;
  readonly #tracker: CallTracker;
  #closing: Promise<void> | undefined;
  /** Clients dropped because the server forgot their session; their failures are retried. */
  readonly #expired = new WeakSet<Client>();

  constructor(spec: ServerSpec, opts: ConnectionOptions) {
    this.#core = new SupervisedClient(spec, opts);
    this.#tracker = new CallTracker(this.#core.clock);
  }

  get name(): string {
    return this.#core.spec.name;
  }
  get spec(): ServerSpec {
    return this.#core.spec;
  }
  get state(): ConnectionState {
    return this.#core.state;
  }
  /** pid of the running stdio server (also its process group id). */
  get pid(): number | undefined {
    return this.#core.pid;
  }
  get lastError(): string | undefined {
    return this.#core.lastError;
  }
  /** login_required or logged_in for a hosted server that uses OAuth; undefined when none is known. */
  get auth(): OAuthStatus | undefined {
    return this.#core.opts.oauth?.statusOf(this.#core.spec);
  }
  /** Connection attempts made after a failure (crash, failed start, broken connection). */
  get restarts(): number {
    return this.#core.supervision.restarts;
  }
  /**
   * Failures in a row (failed starts, exits, broken connections). An answered request, or a
   * connection that stayed up for backoff.stableMs, ends the streak. Drives the backoff.
   */
  get consecutiveFailures(): number {
    return this.#core.supervision.consecutiveFailures;
  }
  /**
   * While the server is failed: the clock's time before which no new attempt is made (the
   * next call waits for it, or is refused at once when failingFast). Undefined otherwise.
   */
  get nextRetryAt(): number | undefined {
    return this.#core.nextRetryAt;
  }
  /** True while calls are refused at once: backoff.failFastAfter failures in a row, retry time not reached. */
  get failingFast(): boolean {
    return this.#core.supervision.refusesUntil(this.#core.nextRetryAt);
  }
  get serverCapabilities(): ServerCapabilities | undefined {
    return this.#core.serverCapabilities;
  }
  /**
   * The protocol era the server was last reached in: 'modern' (2026-07-28, found with
   * server/discover) or 'legacy' (2025-11-25, initialize); undefined before it was ever ready.
   * Negotiated again on every restart.
   */
  get era(): ProtocolEra | undefined {
    return this.#core.era;
  }
  /**
   * Bumped for every new client (each start and restart) and on close: a task the server
   * handed out (tasks.ts) lives only as long as the generation it came with.
   */
  get generation(): number {
    return this.#core.generation;
  }
  /** The protocol version behind `era` ('2026-07-28', '2025-11-25', ...). */
  get protocolVersion(): string | undefined {
    return this.#core.protocolVersion;
  }
  /** Number of cached tools, or undefined when the list is not cached. */
  get cachedToolCount(): number | undefined {
    return this.#core.tools.tools?.length;
  }
  /**
   * The cached tool list while the connection is ready, without waiting or connecting
   * (execute_tool's fast path); undefined when listTools() would have to do something.
   */
  get cachedTools(): readonly Tool[] | undefined {
    return this.#core.state === 'ready' ? this.#core.tools.tools : undefined;
  }

  /** The tools options.vetTools left out of the cached list, with why; undefined while no list is cached. */
  get withheldTools(): ReadonlyMap<string, string> | undefined {
    return this.#core.tools.withheld;
  }

  /** Vets the cached list again (the pins changed); true when the list changed. */
  revetTools(): boolean {
    return this.#core.tools.revet((listed) => this.#vet(listed));
  }

  /**
   * Sends logging/setLevel when the wanted level (options.logLevel) differs from the one this
   * server was last told, if it is ready and declares `logging`. Never throws: a server that
   * refuses keeps its own level, and the gateway filters per client anyway.
   */
  syncLogLevel(): void {
    this.#core.syncLogLevel();
  }

  /**
   * Last stderr lines of the current (or last) stdio process, credentials redacted (servers
   * print connection strings and tokens when they fail); '' for http/sse. Error messages,
   * lastError and the log quote it, so none of them carries what was redacted.
   */
  stderrTail(lines = 20): string {
    return this.#core.stderrTail(lines);
  }

  /**
   * Opens the connection if it is not open. Concurrent callers share one attempt. Rejects
   * with GatewayError('SERVER_UNAVAILABLE') on failure (state 'failed', lastError set).
   */
  connect(): Promise<void> {
    return this.#core.connect();
  }

  /** All tools, every page, cached until list_changed or reconnect. Do not mutate the result. */
  async listTools(opts: { signal?: AbortSignal } = {}): Promise<Tool[]> {
    return this.#guard(undefined, opts.signal, async () => {
      await this.#core.ready(opts.signal);
      const cached = this.#core.tools.tools;
      if (cached) return cached;
      // Shared by concurrent callers, so no single caller's signal may cancel it.
      const loading = this.#core.tools.shared(() => this.#withSession(undefined, (client) => this.#fetchAllTools(client)));
      return raceAbort(loading, opts.signal);
    });
  }

  /**
   * Any other request to the server (resources, prompts, completions), connecting if needed;
   * it fails as listTools does. Bounded by `timeoutMs`, default the list timeout. `meta` is
   * merged into the request's `_meta` as callTool's is; the result comes back without the
   * server's serverInfo and cache hints. With `allowInputRequired` (prompts/get,
   * resources/read), a 2026 server's input_required result is returned, as by callTool; the
   * retry puts inputResponses and requestState into `request.params`.
   */
  request<T extends z.ZodType<Result>>(
    request: { method: string; params?: Record<string, unknown> },
    schema: T,
    opts: DownstreamRequestOptions & { allowInputRequired: true },
  ): Promise<z.infer<T> | InputRequiredResult>;
  request<T extends z.ZodType<Result>>(
    request: { method: string; params?: Record<string, unknown> },
    schema: T,
    opts?: DownstreamRequestOptions,
  ): Promise<z.infer<T>>;
  async request<T extends z.ZodType<Result>>(
    request: { method: string; params?: Record<string, unknown> },
    schema: T,
    opts: DownstreamRequestOptions = {},
  ): Promise<z.infer<T> | InputRequiredResult> {
    return this.#guard(undefined, opts.signal, () =>
      this.#withSession(opts.signal, async (client) => {
        const params = withMeta(request.params, opts.meta, client.getProtocolEra(), this.#core.logLevel());
        const result = (await client.request(params === undefined ? { method: request.method } : { method: request.method, params }, schema, {
          ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
          timeout: clampTimer(opts.timeoutMs ?? this.#core.opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS),
          ...(opts.allowInputRequired === true ? { allowInputRequired: true } : {}),
        })) as z.infer<T> | InputRequiredResult;
        this.#core.succeeded(client);
        return stripEnvelope(result);
      }),
    );
  }

  /**
   * Subscribes to updates of the server's resource `uri`, connecting if needed: with
   * resources/subscribe on a 2025 server, as the filter of the subscriptions/listen stream on
   * a 2026 one (which keeps it across its restarts). Either way the updates reach
   * options.onNotification as notifications/resources/updated. Fails as request() does.
   */
  async subscribeResource(uri: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const client = await this.#guard(undefined, opts.signal, () => this.#core.ready(opts.signal));
    if (client.getProtocolEra() !== 'modern') {
      await this.request({ method: 'resources/subscribe', params: { uri } }, EmptyResultSchema, opts);
      await this.#core.listen.subscribe(uri);
      return;
    }
    await this.#guard(undefined, opts.signal, async () => {
      if (!this.#core.serverCapabilities?.resources?.subscribe) {
        throw new GatewayError('SERVER_UNAVAILABLE', `Server '${this.name}' does not offer resource subscriptions`, { server: this.name });
      }
      await raceAbort(this.#core.listen.subscribe(uri), opts.signal);
    });
  }

  /** Ends what subscribeResource(uri) started. */
  async unsubscribeResource(uri: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const client = await this.#guard(undefined, opts.signal, () => this.#core.ready(opts.signal));
    if (client.getProtocolEra() !== 'modern') {
      await this.#core.listen.unsubscribe(uri);
      await this.request({ method: 'resources/unsubscribe', params: { uri } }, EmptyResultSchema, opts);
      return;
    }
    await this.#guard(undefined, opts.signal, () => raceAbort(this.#core.listen.unsubscribe(uri), opts.signal));
  }

  /**
   * Forwards tools/call. See the header comment for the ways it fails. A 2026 server may
   * answer with an input_required result (isInputRequiredResult): the caller gathers the
   * answers and calls again with `inputResponses` and the untouched `requestState`.
   */
  async callTool(name: string, args: Record<string, unknown> | undefined, opts: CallOptions): Promise<ToolCallResult> {
    const core = this.#core;
    const client = core.client;
    if (core.state !== 'ready' || client === undefined || core.spec.transport !== 'stdio') {
      return this.#guard(name, opts.signal, () => this.#withSession(opts.signal, (ready) => requestCall(core, ready, name, args, opts)));
    }
    // The common case, flattened: a ready stdio connection has no session to renew, so
    // this is #guard around requestCall without #withSession's retry.
    this.#tracker.begin();
    try {
      if (opts.signal?.aborted) throw abortError(opts.signal.reason);
      return await requestCall(core, client, name, args, opts);
    } catch (err) {
      throw this.#mapError(err, name, opts.signal);
    } finally {
      this.#tracker.end();
    }
  }

  /**
   * Takes a new spec that starts the server the same way (same command, args, env, cwd, url,
   * headers; see pool.connectionKey) but may differ in description or timeout.
   */
  updateSpec(spec: ServerSpec): void {
    if (spec.name !== this.name) throw new Error(`updateSpec: name '${spec.name}' differs from '${this.name}'`);
    this.#core.spec = spec;
  }

  /** Resolves when no call is running, or after `maxWaitMs` (see CallTracker.drain). */
  drain(maxWaitMs: number): Promise<void> {
    return this.#tracker.drain(maxWaitMs);
  }

  /** Idempotent. Ends the process group (stdio) or the session (http); later calls fail fast. */
  close(): Promise<void> {
    this.#closing ??= this.#core.close();
    return this.#closing;
  }

  /** SIGKILL the stdio process group right now (the last-resort exit path). */
  killSync(): void {
    this.#core.killSync();
  }

  /**
   * Runs `fn` on a ready client; an HTTP 404 (the server forgot our session) gets one fresh
   * session and one retry. Concurrent 404s share the one re-initialization.
   */
  async #withSession<T>(signal: AbortSignal | undefined, fn: (client: Client) => Promise<T>): Promise<T> {
    const core = this.#core;
    // Ready: no await, so a call on an open connection does not pay a turn for ready().
    const client = core.state === 'ready' && core.client ? core.client : await core.ready(signal);
    const generation = core.generation;
    try {
      return await fn(client);
    } catch (err) {
      if (signal?.aborted || core.state === 'closed') throw err;
      // A request that was still on the client when another request's 404 retired it fails
      // with "connection closed"; it gets the same one retry.
      if (!isSessionExpired(err) && !this.#expired.has(client)) throw err;
      if (generation === core.generation && core.client === client) {
        core.log.info('downstream session expired (404), re-initializing');
        this.#expired.add(client);
        core.retire(client);
      }
      return fn(await core.ready(signal));
    }
  }

  async #fetchAllTools(client: Client): Promise<Tool[]> {
    const core = this.#core;
    const epoch = core.tools.epoch;
    const listed = await fetchToolList(client, core.opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS, core.log);
    core.succeeded(client);
    const vetted = this.#vet(listed);
    if (core.client === client && core.state === 'ready') core.tools.keep(epoch, listed, vetted);
    return vetted.tools;
  }

  #vet(listed: Tool[]): VettedTools {
    const vet = this.#core.opts.vetTools;
    return vet === undefined ? { tools: listed, withheld: NONE_WITHHELD } : vet(this.name, listed);
  }

  /** Turns whatever went wrong into the vocabulary in the header comment. */
  async #guard<T>(tool: string | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    this.#tracker.begin();
    try {
      if (signal?.aborted) throw abortError(signal.reason);
      return await fn();
    } catch (err) {
      throw this.#mapError(err, tool, signal);
    } finally {
      this.#tracker.end();
    }
  }

  #mapError(err: unknown, tool: string | undefined, signal: AbortSignal | undefined): Error {
    const core = this.#core;
    if (signal?.aborted) return isAbortError(err) ? (err as Error) : abortError(signal.reason);
    if (err instanceof GatewayError) return err;
    if (core.state === 'closed') return core.closedError();
    const details = tool === undefined ? { server: this.name } : { server: this.name, tool };
    if (isCallersOwnError(err)) return err;
    const authRequired = authRequiredError(err, this.name, tool, core.opts.oauth?.loginCommand);
    if (authRequired !== undefined) return authRequired;
    if (err instanceof ProtocolError || err instanceof SdkError) {
      if (!(err instanceof SdkError && err.code === SdkErrorCode.ConnectionClosed)) return mapMcpError(err, this.name, tool);
      if (core.resultTooLarge === undefined) return core.unavailableError(err, tool);
      return new GatewayError('RESULT_TOO_LARGE', core.resultTooLarge, details, { cause: err });
    }
    if (isTransportFailure(err)) {
      // HTTP has no process to watch: a failed exchange is how a broken connection shows.
      if (core.spec.transport !== 'stdio' && core.state === 'ready') core.broken(`connection failed: ${redactUrls((err as Error).message)}`);
      return core.unavailableError(err, tool);
    }
    return new GatewayError('SERVER_UNAVAILABLE', `Server '${this.name}' returned an invalid answer: ${errorMessage(err)}`, details, {
      cause: err,
    });
  }
}
