import type { CallToolResult, LoggingLevel, Tool } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { CallMetrics } from '../audit/callMetrics.js';
import type { SessionSettings } from '../config/sessionSettings.js';
import type { OAuthRules } from '../config/types.js';
import type { InstanceInfo, InstanceRegistry } from '../downstream/instances.js';
import type { DownstreamPool } from '../downstream/pool.js';
import type { Reaper } from '../downstream/reaper.js';
import { removeAbandonedFolders } from '../downstream/sandboxFolders.js';
import { resolveIdentity } from '../policy/identity.js';
import { isModernRequest } from './calls/envelope.js';
import { InputBridge } from './calls/inputBridge.js';
import { CallPipeline } from './calls/pipeline.js';
import { TaskRelay } from './taskRelay.js';
import type { CallOutcome, CallRequest, Operation } from './calls/request.js';
import type { Snapshot } from './context.js';
import { openDownstreams } from './downstreams.js';
import { LogRelay } from './logRelay.js';
import { metaTools, NATIVE_SEARCH_TOOLS } from './metaTools.js';
import { DEFAULT_CLIENT_PREFIX_LENGTH, DEFAULT_SEPARATOR, namingOptions } from './native/names.js';
import { NativeSurface } from './native/surface.js';
import { toolVetter, vetAgain } from './pins/quarantine.js';
import type { GatewayMode, GatewayOptions } from './options.js';
import { executeTool } from './operations/executeTool.js';
import { getPromptOperation } from './operations/getPrompt.js';
import { getServerTools } from './operations/getServerTools.js';
import { listServersOperation } from './operations/listServers.js';
import { readResourceOperation } from './operations/readResource.js';
import { searchToolsOperation } from './operations/searchTools.js';
import { ReloadCoordinator, type ReloadReport } from './reload/coordinator.js';
import { CONFIG_FILE_KEYS, type ConfigFileKey } from './reload/ledger.js';
import type { ToolAnswer } from './calls/toolAnswer.js';
import { jsonResult, toolResult } from './results.js';
import { IndexedTools } from './search/indexedTools.js';
import { CLIENT_REQUEST_TIMEOUT_MS, ServerRequestRouter, type CallPeer, type RequestExtra, type UpstreamSession } from './serverRequests.js';
import { serverStatesOf, type ServerState } from './serverStates.js';
import { buildSnapshot } from './snapshot.js';
import { gatewayStatus } from './status.js';

const DEFAULT_LIST_CHANGED_DEBOUNCE_MS = 200;

/** Something the gateway closes when it closes: the config file watcher. */
export interface Closable {
  close(): Promise<void>;
}

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #logger: Logger;
  readonly #metrics = new CallMetrics();
  readonly #router: ServerRequestRouter;
  readonly #logs: LogRelay;
  readonly #startedAt = Date.now();
  readonly #operations: ReadonlyMap<string, Operation<ToolAnswer>>;
  readonly #calls: CallPipeline;
  /** tasks/get, tasks/update and tasks/cancel of 2026 clients, about tasks created through calls. */
  readonly tasks: TaskRelay;
  readonly #inputs = new InputBridge(CLIENT_REQUEST_TIMEOUT_MS);
  /** The gateway's own tools, without and with get_gateway_status. */
  readonly #tools: { readonly plain: Tool[]; readonly debug: Tool[] };
  readonly #reloads: ReloadCoordinator;
  readonly #native: NativeSurface;
  readonly #mode: GatewayMode;
  /** The tool index search_tools reads (search/indexedTools.ts keeps it current). */
  readonly #search: IndexedTools;
  /** search_tools in native mode (--native-search): answers native names. */
  readonly #nativeSearch: Operation<ToolAnswer> | undefined;
  #snapshot: Snapshot;
  readonly #pool: DownstreamPool;
  readonly #instances: InstanceRegistry;
  readonly #session: SessionSettings;
  readonly #reaper: Reaper;
  #watcher: Closable | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#router = new ServerRequestRouter(options.logger);
    this.#logs = new LogRelay({
      router: this.#router,
      logger: options.logger,
      mayUse: (session, server) => {
        const agent = this.#agentFor(session);
        return agent !== undefined && this.#snapshot.servers.has(server) && this.#snapshot.policy.decideServer(agent, server).allow;
      },
      levelChanged: () => {
        for (const connection of [...this.#pool.connections(), ...this.#instances.connections()]) connection.syncLogLevel();
      },
    });
    this.#mode = options.mode ?? 'meta';
    const pins = options.pins;
    this.#search = new IndexedTools(options.logger);
    // The host's getters read the fields when asked: every reload replaces the snapshot, and the
    // pool is built after the surface (its connections report to the surface). The getters live
    // in an object literal, where `this` is that object, so the Gateway is named.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const gateway = this;
    this.#native = new NativeSurface({
      host: {
        get snapshot() {
          return gateway.#snapshot;
        },
        get pool() {
          return gateway.#pool;
        },
        agentFor: (session) => this.#agentFor(session),
        run: (request, operation) => this.#calls.run(request, operation),
        metaTools: () => this.listTools(),
      },
      naming: options.naming ?? namingOptions(DEFAULT_SEPARATOR, DEFAULT_CLIENT_PREFIX_LENGTH),
      logger: options.logger,
      listChangedDebounceMs: options.listChangedDebounceMs ?? DEFAULT_LIST_CHANGED_DEBOUNCE_MS,
      enabled: this.#mode !== 'meta',
      ...(pins ? { vetPrompts: (server, prompts) => ({ ...pins.vet('prompts', server, prompts), enforced: pins.mode === 'enforce' }) } : {}),
    });
    this.#snapshot = buildSnapshot(1, options.servers, options.rules);
    const downstreams = openDownstreams(options, {
      onServerRequest: (server, request, extra) => this.#router.route(server, request, extra),
      onToolsChanged: () => this.#native.toolsChanged(),
      onReady: (server) => this.#native.serverReady(server),
      onNotification: (server, notification) => this.#native.notification(server, notification),
      onLog: (server, params, routeKey) => this.#logs.relay(server, params, routeKey),
      logLevel: () => this.#logs.wanted(),
      ...(pins ? { vetTools: toolVetter(pins) } : {}),
    });
    this.#pool = downstreams.pool;
    this.#instances = downstreams.instances;
    this.#reaper = downstreams.reaper;
    pins?.onChange(() => vetAgain([...this.#pool.connections(), ...this.#instances.connections()], this.#native));
    this.#session = downstreams.session;
    this.#reloads = new ReloadCoordinator({
      settings: options,
      logger: options.logger,
      pool: this.#pool,
      instances: this.#instances,
      snapshots: { current: () => this.#snapshot, swap: (next, previous) => this.#swap(next, previous) },
    });
    // Each call reads the snapshot in force when it starts (every reload replaces it).
    this.#calls = new CallPipeline(
      options,
      {
        get snapshot() {
          return gateway.#snapshot;
        },
        pool: this.#pool,
        instances: this.#instances,
      },
      this.#router,
      this.#metrics,
      options.logger,
    );
    this.tasks = new TaskRelay(this.#calls);
    const operations = new Map<string, Operation<ToolAnswer>>([
      ['list_servers', listServersOperation(this.#native.catalog)],
      ['search_tools', searchToolsOperation(this.#search)],
      ['get_server_tools', getServerTools],
      ['execute_tool', executeTool],
      ['read_resource', readResourceOperation(this.#native.catalog)],
      ['get_prompt', getPromptOperation(this.#native.catalog)],
    ]);
    operations.set('get_gateway_status', async (ctx) => jsonResult(this.status(ctx.agentId)));
    this.#operations = operations;
    this.#tools = { plain: metaTools(false), debug: metaTools(true) };
    this.#nativeSearch =
      this.#mode === 'native' && options.nativeSearch === true ? searchToolsOperation(this.#search, (ctx) => this.#native.searchNames(ctx)) : undefined;
  }

  /** Debug mode (get_gateway_status offered): --debug / GATEWAY_DEBUG, or `defaults.debug` in the rules in force. */
  #debugIn(snapshot: Snapshot): boolean {
    return this.#options.debug || snapshot.rules.defaults.debug === true;
  }

  /** Each configured server and the state of its shared connection, in file order. */
  serverStates(): ServerState[] {
    return serverStatesOf(this.#snapshot, this.#pool);
  }

  /** Whether `server` is configured now (cheap: asked by the metrics exporter at every call). */
  isConfigured(server: string): boolean {
    return this.#snapshot.servers.has(server);
  }

  /** The configured servers `agentId`'s rules let it see. */
  visibleServers(agentId: string): string[] {
    return this.#snapshot.policy.visibleServers(agentId, this.#snapshot.serverNames);
  }

  /** The rules file's per-agent credentials (SHA-256 of a token -> agent id), as in force now. */
  credentials(): Readonly<Record<string, string>> | undefined {
    return this.#snapshot.rules.credentials;
  }

  /** The rules file's `oauth` section (identity providers, token-to-agent mappings), as in force now. */
  oauth(): OAuthRules | undefined {
    return this.#snapshot.rules.oauth;
  }

  /** The isolated instance of `server` in scope `scopeKey`, if one runs. */
  findInstance(server: string, scopeKey: string): InstanceInfo | undefined {
    return this.#instances.find(server, scopeKey);
  }

  /** Closes every isolated instance of a scope (an MCP or REST session that ended); their process groups are gone when it resolves. */
  async closeScope(scopeKey: string): Promise<void> {
    await this.#instances.closeScope(scopeKey);
  }

  /** How long an isolated instance (and a REST session) lives without calls, unless the caller says otherwise. */
  get sessionTimeoutS(): number {
    return this.#session.defaultTimeoutS;
  }

  /**
   * Starts what starts with the gateway. `serversAfter`: the eager start of every server (and
   * the index built at start) waits for it. Over stdio that is the client's first answer, so
   * twenty servers starting at once do not hold up the answer to initialize on a small machine.
   */
  start(serversAfter?: Promise<void>): void {
    const startServers = (): void => {
      if (this.#closing) return;
      if (this.#options.initStrategy === 'eager') this.#pool.connectAll();
      if (this.#options.searchIndexAtStart === true) this.#search.indexAll(this.#snapshot, this.#pool, () => this.#snapshot);
    };
    if (serversAfter === undefined) startServers();
    else void serversAfter.then(startServers);
    void removeAbandonedFolders(this.#session.sandboxDir).then((removed) => {
      if (removed.length > 0) this.#logger.info({ removed }, 'removed the sandbox folders of gateways that are gone');
    });
  }

  get mode(): GatewayMode {
    return this.#mode;
  }

  /** Downstream tools, resources and prompts offered directly (modes native and both). */
  get native(): NativeSurface {
    return this.#native;
  }

  /** The gateway's own tools on offer: none in native mode. */
  listTools(): Tool[] {
    if (this.#mode === 'native') return this.#nativeSearch ? [NATIVE_SEARCH_TOOLS] : [];
    return this.#debugIn(this.#snapshot) ? this.#tools.debug : this.#tools.plain;
  }

  /** The agent a session acts as when a request names none (native lists and calls); undefined when none can be settled. */
  #agentFor(session: UpstreamSession): string | undefined {
    const bound = session.boundAgent ?? this.#options.boundAgent;
    const identity = resolveIdentity({
      requested: undefined,
      ...(bound !== undefined ? { bound } : {}),
      ...(this.#options.fallbackAgent ? { fallbackAgent: this.#options.fallbackAgent } : {}),
      policy: this.#snapshot.policy,
    });
    return identity.ok ? identity.agentId : undefined;
  }

  /**
   * Hands over the config file watcher: close() closes it first, so no reload starts during
   * shutdown. A gateway that is already closing closes it at once.
   */
  attachWatcher(watcher: Closable): void {
    if (this.#closing) {
      void watcher.close();
      return;
    }
    this.#watcher = watcher;
  }

  /** Loads the given files again (default both, as SIGHUP does) and swaps what loaded: see ReloadCoordinator. Never throws. */
  reload(keys: readonly ConfigFileKey[] = CONFIG_FILE_KEYS, trigger = 'manual'): ReloadReport {
    if (this.#closing) return { revision: this.#snapshot.revision, applied: [], failed: [] };
    return this.#reloads.reload(keys, trigger);
  }

  #swap(next: Snapshot, previous: Snapshot): void {
    this.#snapshot = next;
    // A parked call was decided under the previous configuration: it does not resume under this one.
    this.#inputs.expireAll('the configuration was reloaded');
    if (this.#mode === 'meta' && this.#debugIn(previous) !== this.#debugIn(next)) this.#toolListChanged();
    this.#native.reloaded();
    this.#search.prune(next, this.#pool);
    if (this.#options.searchIndexAtStart === true) this.#search.indexAll(next, this.#pool, () => this.#snapshot);
  }

  /** The gateway's own tool list changed (debug mode flipped): every client is told to list again. */
  #toolListChanged(): void {
    const debug = this.#debugIn(this.#snapshot);
    this.#logger.info({ debug }, `get_gateway_status is now ${debug ? 'offered' : 'withdrawn'}; notifying clients`);
    for (const session of this.#router.sessions()) {
      session.notifyToolListChanged().catch((err: unknown) => {
        this.#logger.debug({ err, session: session.id }, 'could not send notifications/tools/list_changed');
      });
    }
  }

  /** Adds an upstream client session (the stdio peer, or one HTTP session); returns its removal. */
  attachSession(session: UpstreamSession): () => void {
    const detach = this.#router.attach(session);
    return () => {
      detach();
      this.#native.forget(session);
      this.#logs.forget(session);
    };
  }

  /** logging/setLevel from a client: downstream log messages at `level` and above reach it from now on. */
  setLogLevel(session: UpstreamSession, level: LoggingLevel): void {
    this.#logs.setLevel(session, level);
  }

  /**
   * One tools/call: a meta-tool on offer, else (an MCP client in modes native and both) a
   * native tool. REST callers reach the meta-tools in every mode (see invoke).
   */
  async callTool(name: string, rawArgs: unknown, extra: RequestExtra, session: UpstreamSession): Promise<ToolAnswer> {
    const peer: CallPeer = { session, extra };
    if (!isModernRequest(peer)) return this.#callTool(name, rawArgs, peer);
    // A 2026 caller's call may wait, parked, for input its 2025 downstream asked for. The call
    // outlives the request that started it, so it runs on the bridge's signal, which each
    // round's request aborts only while that round waits.
    const owner = session.boundAgent ?? '';
    const { requestState, inputResponses, signal } = extra.mcpReq;
    return this.#inputs.run(owner, name, requestState(), inputResponses, signal, (input, callSignal) =>
      this.#callTool(name, rawArgs, { session, extra: { ...extra, mcpReq: { ...extra.mcpReq, signal: callSignal } }, input }),
    );
  }

  async #callTool(name: string, rawArgs: unknown, peer: CallPeer): Promise<ToolAnswer> {
    const session = peer.session;
    const native = this.#mode !== 'meta' && session.mcp === true;
    const offered = native && this.#mode === 'native' ? this.#nativeOperation(name) : this.#metaOperation(name);
    if (!offered && native) return this.#native.callTool(name, rawArgs, peer);
    const request: CallRequest = { operation: name, caller: session, args: rawArgs, ownArgs: true, signal: peer.extra.mcpReq.signal, peer };
    return toolResult(await this.#calls.run(request, offered));
  }

  /**
   * A meta-tool call from a front end that renders the outcome itself (REST): identity,
   * input checks and the audit line as for every call, ending in `request.refusal` when set.
   */
  async invoke(request: CallRequest): Promise<CallOutcome<CallToolResult>> {
    // A caller without an MCP peer never gets input_required: execute_tool refuses it (INPUT_REQUIRED).
    return (await this.#calls.run(request, this.#metaOperation(request.operation))) as CallOutcome<CallToolResult>;
  }

  /** The gateway's own tool `name` in native mode: search_tools with --native-search, nothing else. */
  #nativeOperation(name: string): Operation<ToolAnswer> | undefined {
    return name === NATIVE_SEARCH_TOOLS.name ? this.#nativeSearch : undefined;
  }

  /** The meta-tool `name` when it is on offer (get_gateway_status only in debug mode). */
  #metaOperation(name: string): Operation<ToolAnswer> | undefined {
    if (name === 'get_gateway_status' && !this.#debugIn(this.#snapshot)) return undefined;
    return this.#operations.get(name);
  }

  /** get_gateway_status as `agentId` may see it: see gatewayStatus. */
  status(agentId: string): Record<string, unknown> {
    return gatewayStatus(
      {
        startedAt: this.#startedAt,
        settings: this.#options,
        snapshot: this.#snapshot,
        servers: this.serverStates(),
        stderrTail: (server) => this.#pool.get(server)?.stderrTail() ?? '',
        instances: this.#instances.list(),
        reload: this.#reloads.status(),
        metrics: this.#metrics.snapshot(),
        ...(this.#options.pins ? { pins: this.#options.pins } : {}),
      },
      agentId,
    );
  }

  /** Idempotent: closes every downstream (and its process group), then flushes the audit log. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#native.close();
      this.#inputs.expireAll('the gateway is shutting down');
      await this.#watcher?.close();
      await Promise.all([this.#pool.close(), this.#instances.close()]);
      this.#reaper.close();
      await this.#options.audit.close();
    })();
    return this.#closing;
  }

  /** Last resort for a synchronous exit: kill every downstream process group and flush the audit buffer. */
  killSync(): void {
    this.#pool.killAllSync();
    this.#instances.killAllSync();
    this.#reaper.killSync();
    this.#options.audit.flushSync();
  }
}
