import { randomUUID } from 'node:crypto';
import { McpError, ErrorCode, type CallToolResult, type LoggingLevel, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { GatewayMetrics } from '../audit/callMetrics.js';
import { hashArgs, isoTimestamp, type AuditDecision, type AuditRecord } from '../audit/record.js';
import type { SessionSettings } from '../config/sessionSettings.js';
import type { InstanceInfo, InstanceRegistry } from '../downstream/instances.js';
import type { DownstreamPool } from '../downstream/pool.js';
import type { Reaper } from '../downstream/reaper.js';
import { removeAbandonedFolders } from '../downstream/sandboxFolders.js';
import { GatewayError } from '../errors.js';
import { resolveIdentity } from '../policy/identity.js';
import type { IdentitySource } from '../policy/types.js';
import { asArgs, type Args } from './arguments.js';
import { argumentDepthProblem, nameProblem } from './inputBounds.js';
import type { AuditNote, OperationContext, RequestExtra, Snapshot } from './context.js';
import { openDownstreams } from './downstreams.js';
import { metaTools } from './metaTools.js';
import { DEFAULT_CLIENT_PREFIX_LENGTH, DEFAULT_SEPARATOR, namingOptions } from './native/names.js';
import { NativeSurface } from './native/surface.js';
import type { CallEvent, GatewayMode, GatewayOptions } from './options.js';
import { ReloadCoordinator, type ReloadReport } from './reload/coordinator.js';
import { CONFIG_FILE_KEYS, type ConfigFileKey } from './reload/ledger.js';
import { executeTool } from './operations/executeTool.js';
import { getPromptOperation } from './operations/getPrompt.js';
import { getServerTools } from './operations/getServerTools.js';
import { listServersOperation } from './operations/listServers.js';
import { readResourceOperation } from './operations/readResource.js';
import { errorResult, jsonResult, toGatewayError } from './results.js';
import { ServerRequestRouter, type UpstreamSession } from './serverRequests.js';
import { serverStatesOf, type ServerState } from './serverStates.js';
import { buildSnapshot } from './snapshot.js';
import { gatewayStatus } from './status.js';
import { LogRelay } from './logRelay.js';
import { protocolError } from '../protocolError.js';

const DEFAULT_LIST_CHANGED_DEBOUNCE_MS = 200;

/** Something the gateway closes when it closes: the config file watcher. */
export interface Closable {
  close(): Promise<void>;
}

type Operation = (ctx: OperationContext, args: Args) => Promise<CallToolResult>;

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #logger: Logger;
  readonly #metrics = new GatewayMetrics();
  readonly #router: ServerRequestRouter;
  readonly #logs: LogRelay;
  readonly #startedAt = Date.now();
  readonly #operations: ReadonlyMap<string, Operation>;
  /** The gateway's own tools, without and with get_gateway_status. */
  readonly #tools: { readonly plain: Tool[]; readonly debug: Tool[] };
  readonly #reloads: ReloadCoordinator;
  readonly #native: NativeSurface;
  readonly #mode: GatewayMode;
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
        const agent = this.agentFor(session);
        return agent !== undefined && this.#snapshot.servers.has(server) && this.#snapshot.policy.decideServer(agent, server).allow;
      },
      levelChanged: () => {
        for (const connection of [...this.#pool.connections(), ...this.#instances.connections()]) connection.syncLogLevel();
      },
    });
    this.#mode = options.mode ?? 'meta';
    // The host's getters read the fields as they are at each call (reload replaces them).
    // The getters live in an object literal, where `this` is that object, so the Gateway is named.
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
        agentFor: (session) => this.agentFor(session),
        run: (label, operation, args, extra, session) => this.#run(label, operation, args, false, extra, session),
        metaTools: () => this.listTools(),
      },
      naming: options.naming ?? namingOptions(DEFAULT_SEPARATOR, DEFAULT_CLIENT_PREFIX_LENGTH),
      logger: options.logger,
      listChangedDebounceMs: options.listChangedDebounceMs ?? DEFAULT_LIST_CHANGED_DEBOUNCE_MS,
      enabled: this.#mode !== 'meta',
    });
    this.#snapshot = buildSnapshot(1, options.servers, options.rules);
    const downstreams = openDownstreams(options, {
      onServerRequest: (server, request, extra) => this.#router.route(server, request, extra),
      onToolsChanged: () => this.#native.toolsChanged(),
      onReady: (server) => this.#native.serverReady(server),
      onNotification: (server, notification) => this.#native.notification(server, notification),
      onLog: (server, params, routeKey) => this.#logs.relay(server, params, routeKey),
      logLevel: () => this.#logs.wanted(),
    });
    this.#pool = downstreams.pool;
    this.#instances = downstreams.instances;
    this.#reaper = downstreams.reaper;
    this.#session = downstreams.session;
    this.#reloads = new ReloadCoordinator({
      settings: options,
      logger: options.logger,
      pool: this.#pool,
      instances: this.#instances,
      snapshots: { current: () => this.#snapshot, swap: (next, previous) => this.#swap(next, previous) },
    });
    const operations = new Map<string, Operation>([
      ['list_servers', listServersOperation(this.#native.catalog)],
      ['get_server_tools', getServerTools],
      ['execute_tool', executeTool],
      ['read_resource', readResourceOperation(this.#native.catalog)],
      ['get_prompt', getPromptOperation(this.#native.catalog)],
    ]);
    operations.set('get_gateway_status', async (ctx) => jsonResult(this.status(ctx.agentId)));
    this.#operations = operations;
    this.#tools = { plain: metaTools(false), debug: metaTools(true) };
  }

  /** Debug mode (get_gateway_status offered): --debug / GATEWAY_DEBUG, or `defaults.debug` in the rules in force. */
  #debugIn(snapshot: Snapshot): boolean {
    return this.#options.debug || snapshot.rules.defaults.debug === true;
  }

  /** Each configured server and the state of its shared connection, in file order. */
  serverStates(): ServerState[] {
    return serverStatesOf(this.#snapshot, this.#pool);
  }

  /** The configured servers `agentId`'s rules let it see. */
  visibleServers(agentId: string): string[] {
    return this.#snapshot.policy.visibleServers(agentId, this.#snapshot.serverNames);
  }

  /** The rules file's per-agent credentials (SHA-256 of a token -> agent id), as in force now. */
  credentials(): Readonly<Record<string, string>> | undefined {
    return this.#snapshot.rules.credentials;
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

  start(): void {
    if (this.#options.initStrategy === 'eager') this.#pool.connectAll();
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
    if (this.#mode === 'native') return [];
    return this.#debugIn(this.#snapshot) ? this.#tools.debug : this.#tools.plain;
  }

  /** The agent a session acts as when a request names none (native lists and calls); undefined when none can be settled. */
  agentFor(session: UpstreamSession): string | undefined {
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
    if (this.#mode === 'meta' && this.#debugIn(previous) !== this.#debugIn(next)) this.#toolListChanged();
    this.#native.reloaded();
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
   * native tool. REST callers reach the meta-tools in every mode.
   */
  callTool(name: string, rawArgs: unknown, extra: RequestExtra, session: UpstreamSession): Promise<CallToolResult> {
    const native = this.#mode !== 'meta' && session.mcp === true;
    const metaOffered = !(native && this.#mode === 'native') && !(name === 'get_gateway_status' && !this.#debugIn(this.#snapshot));
    const offered = metaOffered ? this.#operations.get(name) : undefined;
    if (offered) return this.#run(name, offered, rawArgs, true, extra, session);
    if (native) return this.#native.callTool(name, rawArgs as Args, extra, session);
    return this.#run(name, undefined, rawArgs, true, extra, session);
  }

  /**
   * A call the HTTP layer refuses once it has read it (a REST session used for another
   * service): the same path as every call, input checks, identity and audit line included,
   * ending in `refusal` instead of an operation.
   */
  refuseCall(name: string, rawArgs: unknown, refusal: GatewayError, extra: RequestExtra, session: UpstreamSession): Promise<CallToolResult> {
    return this.#run(name, () => Promise.reject(refusal), rawArgs, true, extra, session);
  }

  /**
   * One gateway call, start to finish: identity, operation, audit and metrics. `name` (a
   * meta-tool, or native_call, resources/read, ...) names it in the audit and metrics; `fromArgs`: the arguments are the gateway's own, so
   * `agent_id` among them names the agent (a native call's arguments are the downstream's).
   * No operation: the tool is not offered, a protocol error.
   */
  async #run(
    name: string,
    operation: Operation | undefined,
    rawArgs: unknown,
    fromArgs: boolean,
    extra: RequestExtra,
    session: UpstreamSession,
  ): Promise<CallToolResult> {
    const started = performance.now();
    const snapshot = this.#snapshot;
    const note: AuditNote = {};
    let agentId: string | null = null;
    let source: IdentitySource | null = null;
    let args: Args = {};
    // False for arguments refused as too deep: walking them again could exhaust the stack.
    let hashable = true;
    let result: CallToolResult | undefined;
    let failure: GatewayError | undefined;
    let cancelled = false;
    try {
      if (!operation) {
        failure = new GatewayError('TOOL_NOT_FOUND', `Unknown tool: ${name}`, { tool: name });
        throw protocolError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      }
      args = asArgs(rawArgs);
      const tooDeep = argumentDepthProblem(name, args, fromArgs);
      hashable = tooDeep === undefined;
      // What the caller asked for, so a call refused before the operation ran still says where it aimed.
      if (fromArgs) noteTarget(note, name, args);
      if (tooDeep) throw tooDeep;
      const badName = fromArgs ? nameProblem(name, args) : undefined;
      if (badName) {
        if (badName.code === 'INVALID_AGENT_ID' && typeof args['agent_id'] === 'string') note.requestedAgent = clip(args['agent_id']);
        throw badName;
      }
      const identity = resolveIdentity({
        requested: fromArgs ? args['agent_id'] : undefined,
        ...(this.#options.soleAgent !== undefined ? { sole: this.#options.soleAgent } : {}),
        ...((session.boundAgent ?? this.#options.boundAgent) !== undefined ? { bound: (session.boundAgent ?? this.#options.boundAgent)! } : {}),
        ...(this.#options.fallbackAgent ? { fallbackAgent: this.#options.fallbackAgent } : {}),
        policy: snapshot.policy,
      });
      if (!identity.ok) {
        if (identity.rule !== undefined) note.rule = identity.rule;
        if (fromArgs && typeof args['agent_id'] === 'string') note.requestedAgent = clip(args['agent_id']);
        throw new GatewayError(identity.code, identity.message, identity.rule !== undefined ? { rule: identity.rule } : {});
      }
      agentId = identity.agentId;
      source = identity.source;
      if (fromArgs && source === 'sole' && typeof args['agent_id'] === 'string' && args['agent_id'] !== agentId) note.requestedAgent = clip(args['agent_id']);
      const ctx: OperationContext = {
        snapshot,
        pool: this.#pool,
        instances: this.#instances,
        instanceScope: session.instanceScope,
        agentId,
        identitySource: source,
        extra,
        settings: this.#options,
        logger: this.#logger,
        note,
        trackCall: (server) => this.#router.track(server, session, extra),
      };
      result = await operation(ctx, args);
      return result;
    } catch (err) {
      if (err instanceof McpError) throw err;
      if (extra.signal.aborted) {
        // The caller cancelled: the SDK sends no response, so there is nothing to shape.
        cancelled = true;
        throw err;
      }
      failure = toGatewayError(err);
      if (failure.code === 'INTERNAL_ERROR') this.#logger.error({ err, tool: clip(name) }, 'unexpected error in tool call');
      result = errorResult(failure);
      return result;
    } finally {
      const latency = performance.now() - started;
      const isError = result?.isError === true || cancelled || (failure !== undefined && result === undefined);
      const code = failure ? failure.code : cancelled ? 'CANCELLED' : undefined;
      const decision = decisionOf(failure, cancelled);
      // A tool the gateway does not offer is named by the caller: one entry for all of them.
      this.#metrics.record(agentId, operation ? name : UNKNOWN_OPERATION, latency, isError);
      // Nothing is built for the audit or the observer when nobody takes it.
      let audited: Promise<void> | undefined;
      if (this.#options.audit.enabled) {
        audited = this.#audit({
          name,
          args,
          hashable,
          agentId,
          source,
          note,
          latency,
          isError,
          revision: snapshot.revision,
          ...(code !== undefined ? { code } : {}),
          ...(session.auditSessionId !== undefined ? { sessionId: session.auditSessionId } : {}),
          decision,
        });
      }
      if (this.#options.onCall !== undefined) {
        this.#observeCall({
          operation: name,
          agent: agentId,
          server: note.server ?? null,
          tool: note.tool ?? null,
          decision,
          code: code ?? null,
          latencyMs: latency,
          isError,
          ...(session.auditSessionId !== undefined ? { sessionId: session.auditSessionId } : {}),
        });
      }
      // The reply waits until the call's audit line is in the kernel (group commit, see JsonlAuditSink).
      if (audited !== undefined) await audited;
    }
  }

  #observeCall(event: CallEvent): void {
    const observer = this.#options.onCall;
    if (!observer) return;
    try {
      observer(event);
    } catch (err) {
      this.#logger.warn({ err }, 'call observer failed');
    }
  }

  #audit(a: {
    name: string;
    args: Args;
    hashable: boolean;
    agentId: string | null;
    source: IdentitySource | null;
    note: AuditNote;
    latency: number;
    isError: boolean;
    revision: number;
    code?: string;
    sessionId?: string;
    decision: AuditDecision;
  }): Promise<void> | undefined {
    if (!this.#options.audit.enabled) return undefined;
    // Every field a caller can put text into is clipped: a line stays small whatever the call.
    const base = {
      ts: isoTimestamp(),
      id: randomUUID(),
      revision: a.revision,
      agent: a.agentId,
      ...(a.note.requestedAgent !== undefined ? { requested_agent: clip(a.note.requestedAgent) } : {}),
      identity_source: a.source,
      operation: clip(a.name),
      server: a.note.server === undefined ? null : clip(a.note.server),
      tool: a.note.tool === undefined ? null : clip(a.note.tool),
      decision: a.decision,
      code: a.code ?? null,
      rule: a.note.rule === undefined ? null : clip(a.note.rule),
      latency_ms: Math.round(a.latency * 1000) / 1000,
      isError: a.isError,
      ...(a.sessionId !== undefined ? { session_id: clip(a.sessionId) } : {}),
    };
    let record: AuditRecord;
    try {
      // Arguments of execute_tool are the downstream arguments; for the other tools, the meta-tool arguments.
      const recorded = a.name === 'execute_tool' ? (a.args['args'] ?? {}) : a.args;
      const keys = recorded !== null && typeof recorded === 'object' && !Array.isArray(recorded) ? Object.keys(recorded) : [];
      record = {
        ...base,
        arg_keys: keys.slice(0, MAX_AUDITED_KEYS).map(clipKey),
        // Arguments refused as too deep are neither hashed nor copied: walking them could exhaust the stack.
        args_sha256: a.hashable ? hashArgs(recorded) : null,
        ...(this.#options.auditArgs === 'full' && a.hashable ? { args: recorded } : {}),
      };
    } catch (err) {
      // The line is written whatever the arguments did to the hashing: without them.
      this.#logger.error({ err, operation: clip(a.name) }, 'could not describe the arguments in the audit line');
      record = { ...base, arg_keys: [], args_sha256: null };
    }
    return this.#options.audit.write(record);
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
      },
      agentId,
    );
  }

  /** Idempotent: closes every downstream (and its process group), then flushes the audit log. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#native.close();
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

/** Longest caller-supplied text copied into an audit field or log line. */
const MAX_NOTED_LENGTH = 256;
/** Most argument keys an audit line lists (the first ones), and the longest key it copies. */
const MAX_AUDITED_KEYS = 64;
const MAX_AUDITED_KEY_LENGTH = 128;
/** The metrics entry of every call to a tool the gateway does not offer. */
const UNKNOWN_OPERATION = '(unknown tool)';

function clip(text: string): string {
  return text.length > MAX_NOTED_LENGTH ? `${text.slice(0, MAX_NOTED_LENGTH)}…` : text;
}

function clipKey(key: string): string {
  return key.length > MAX_AUDITED_KEY_LENGTH ? `${key.slice(0, MAX_AUDITED_KEY_LENGTH)}…` : key;
}

function noteTarget(note: AuditNote, operation: string, args: Args): void {
  const server = args['server'];
  if (typeof server === 'string' && operation !== 'list_servers') note.server = clip(server);
  const tool = args['tool'];
  if (typeof tool === 'string' && operation === 'execute_tool') note.tool = clip(tool);
}

function decisionOf(failure: GatewayError | undefined, cancelled: boolean): AuditDecision {
  if (cancelled) return 'ERROR';
  if (!failure) return 'ALLOW';
  switch (failure.code) {
    case 'DENIED_BY_POLICY':
    case 'MISSING_AGENT_ID':
    case 'INVALID_AGENT_ID':
    case 'AGENT_MISMATCH':
    case 'FALLBACK_AGENT_NOT_IN_RULES':
    case 'NO_FALLBACK_CONFIGURED':
      return 'DENY';
    case 'TIMEOUT':
      return 'TIMEOUT';
    default:
      return 'ERROR';
  }
}
