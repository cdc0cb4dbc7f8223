import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { McpError, ErrorCode, type CallToolResult, type LoggingLevel, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { AuditSink } from '../audit/auditLog.js';
import { GatewayMetrics } from '../audit/latencyStats.js';
import { hashArgs, isoTimestamp, type AuditDecision, type AuditRecord } from '../audit/record.js';
import { ConfigError } from '../config/configError.js';
import type { ConfigIssue, RulesConfig, ServerSpec, ServersConfig } from '../config/types.js';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../config/sessionSettings.js';
import type { BackoffPolicy, ConnectionOptions } from '../downstream/connection.js';
import { InstanceRegistry } from '../downstream/instances.js';
import { DownstreamPool, type ApplyResult } from '../downstream/pool.js';
import { Reaper } from '../downstream/reaper.js';
import { gatewayFolder, removeAbandonedFolders } from '../downstream/sandboxFolders.js';
import { GatewayError } from '../errors.js';
import { crossCheckRules } from '../policy/crossCheck.js';
import { compilePolicy } from '../policy/engine.js';
import { resolveIdentity } from '../policy/identity.js';
import type { IdentitySource } from '../policy/types.js';
import { VERSION } from '../version.js';
import { asArgs, type Args } from './arguments.js';
import { argumentDepthProblem, nameProblem } from './inputBounds.js';
import type { AuditNote, OperationContext, RequestExtra, Snapshot } from './context.js';
import { metaTools } from './metaTools.js';
import { DEFAULT_CLIENT_PREFIX_LENGTH, DEFAULT_SEPARATOR, namingOptions, type NamingOptions } from './native/names.js';
import { NativeSurface } from './native/surface.js';
import {
  CONFIG_FILE_KEYS,
  describeFailedServers,
  describeIssues,
  loadRulesForReload,
  loadServersForReload,
  ReloadLedger,
  type ConfigFileKey,
  type RulesReload,
  type ServersReload,
} from './reloader.js';
import { executeTool } from './operations/executeTool.js';
import { getPromptOperation } from './operations/getPrompt.js';
import { getServerTools } from './operations/getServerTools.js';
import { listServersOperation } from './operations/listServers.js';
import { readResourceOperation } from './operations/readResource.js';
import { errorResult, jsonResult, toGatewayError } from './results.js';
import { ServerRequestRouter, type UpstreamSession } from './serverRequests.js';
import { LogRelay } from './logRelay.js';
import { protocolError } from '../protocolError.js';
import { redactCredentials, redactSecrets } from '../redact.js';
import { callerMetrics, callerReloadView } from './statusView.js';

export interface GatewayOptions {
  readonly servers: ServersConfig;
  readonly rules: RulesConfig;
  readonly configPaths: { readonly mcpConfig: string; readonly rules: string };
  /** `--agent`: every call acts as this agent; naming another is AGENT_MISMATCH. */
  readonly boundAgent?: string;
  /** GATEWAY_DEFAULT_AGENT, used only when agent_id is missing and the rules allow a fallback. */
  readonly fallbackAgent?: string;
  readonly debug: boolean;
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  /** Longest message line a stdio server may write (--max-result-bytes). Default 64 MiB. */
  readonly maxResultBytes?: number;
  readonly initStrategy: 'lazy' | 'eager';
  readonly audit: AuditSink;
  readonly auditPath: string | null;
  readonly auditArgs: 'hash' | 'full';
  readonly logger: Logger;
  /** The environment `${VAR}` in .mcp.json expands from (at start and on reload), and stdio children inherit. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Warnings of the start-up load, per file, shown by get_gateway_status until a reload replaces them. */
  readonly initialWarnings?: Partial<Record<ConfigFileKey, readonly ConfigIssue[]>>;
  /** Downstream restart backoff (tests shorten it). Default: 0.5 s doubling to 30 s, fail fast after 5. */
  readonly backoff?: Partial<BackoffPolicy>;
  /** Told of every finished gateway tool call (metrics exporters). Must not throw or block. */
  readonly onCall?: (event: CallEvent) => void;
  /** Told of every reload attempt of each file (metrics exporters). Must not throw or block. */
  readonly onReload?: (file: ConfigFileKey, outcome: 'success' | 'failure') => void;
  /** `--mode`: meta-tools only (default), the agent's downstream tools, resources and prompts, or both. */
  readonly mode?: GatewayMode;
  /** Native names: separator and length budget. Default `__` and a budget that fits an entry named `gateway`. */
  readonly naming?: NamingOptions;
  /** Quiet time before a burst of changes is checked for list_changed. Default 200 ms. */
  readonly listChangedDebounceMs?: number;
  /**
   * How each file reloads when it is not the default (`.mcp.json` server by server, the rules
   * file in full): a SignalWire config.json, or rules made in code. Each throws ConfigError as
   * the defaults do.
   */
  readonly reloaders?: {
    readonly mcp_config?: (previous: ReadonlyMap<string, ServerSpec>) => ServersReload;
    readonly gateway_rules?: () => RulesReload;
  };
  /**
   * Every call acts as this agent, whatever `agent_id` it names (SignalWire's config.json
   * without a rules file, where one made-up agent may use every server: a name can widen nothing).
   */
  readonly soleAgent?: string;
  /** Isolated instances and sandbox folders. Default: DEFAULT_SESSION_SETTINGS (sandbox folder in ~/.cache). */
  readonly session?: SessionSettings;
}

export type GatewayMode = 'meta' | 'native' | 'both';

const DEFAULT_LIST_CHANGED_DEBOUNCE_MS = 200;

/** One finished gateway tool call, as observers see it (no argument values). */
export interface CallEvent {
  readonly operation: string;
  readonly agent: string | null;
  readonly server: string | null;
  readonly tool: string | null;
  readonly decision: AuditDecision;
  readonly code: string | null;
  readonly latencyMs: number;
  readonly isError: boolean;
  readonly sessionId?: string;
}

/** Something the gateway closes when it closes: the config file watcher. */
export interface Closable {
  close(): Promise<void>;
}

/** What a reload did. */
export interface ReloadReport {
  /** The revision in force afterwards (unchanged when nothing applied). */
  readonly revision: number;
  /** Files whose new content is in force (mcp_config possibly in part: see status). */
  readonly applied: readonly ConfigFileKey[];
  /** Files that could not be used; their last good configuration stays. */
  readonly failed: readonly ConfigFileKey[];
  /** Server changes, when mcp_config applied. */
  readonly servers?: Pick<ApplyResult, 'added' | 'removed' | 'changed' | 'unchanged'>;
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
  readonly #ledger: ReloadLedger;
  readonly #native: NativeSurface;
  readonly #mode: GatewayMode;
  #snapshot: Snapshot;
  #pool: DownstreamPool;
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
    this.#ledger = new ReloadLedger({
      revision: 1,
      warnings: {
        mcp_config: options.initialWarnings?.mcp_config ?? [],
        gateway_rules: options.initialWarnings?.gateway_rules ?? [],
      },
      cross: crossCheckRules(options.rules, this.#snapshot.serverNames),
    });
    const session = options.session ?? DEFAULT_SESSION_SETTINGS;
    // Only the built-in default starts with "~/"; the CLI hands over absolute folders.
    this.#session = session.sandboxDir.startsWith('~/') ? { ...session, sandboxDir: join(homedir(), session.sandboxDir.slice(2)) } : session;
    // This gateway's sandbox folders live in one folder of its own; the reaper ends its process
    // groups and removes that folder if the gateway is killed.
    const sandboxFolder = gatewayFolder(this.#session.sandboxDir);
    this.#reaper = new Reaper({ folder: sandboxFolder, path: options.parentEnv['PATH'], logger: options.logger });
    const connectionOptions: ConnectionOptions = {
      logger: options.logger,
      clientInfo: { name: 'agent-mcp-gateway', version: VERSION },
      parentEnv: { ...options.parentEnv },
      sandboxRoot: sandboxFolder,
      reaper: this.#reaper,
      onServerRequest: (server, request, extra) => this.#router.route(server, request, extra),
      onToolsChanged: () => this.#native.toolsChanged(),
      onReady: (server) => this.#native.serverReady(server),
      onNotification: (server, notification) => this.#native.notification(server, notification),
      onLog: (server, params, routeKey) => this.#logs.relay(server, params, routeKey),
      logLevel: () => this.#logs.wanted(),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.maxResultBytes !== undefined ? { maxResultBytes: options.maxResultBytes } : {}),
    };
    this.#pool = new DownstreamPool(options.servers.servers, connectionOptions);
    this.#instances = new InstanceRegistry(connectionOptions, {
      defaultTimeoutS: this.#session.defaultTimeoutS,
      cleanupIntervalS: this.#session.cleanupIntervalS,
      maxPerServer: this.#session.maxSessionsPerService,
      maxTotal: this.#session.maxTotalSessions,
      ...(this.#session.maxSessionsPerIdentity !== undefined ? { maxPerOwner: this.#session.maxSessionsPerIdentity } : {}),
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

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get pool(): DownstreamPool {
    return this.#pool;
  }

  /** Instances of servers with isolation "agent" or "session". */
  get instances(): InstanceRegistry {
    return this.#instances;
  }

  get sessionSettings(): SessionSettings {
    return this.#session;
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

  /**
   * Loads the given files again (default both, as SIGHUP does) and swaps what loaded. Each
   * file stands alone: one that fails keeps its last good configuration while the other
   * applies. Everything that applies goes into one new snapshot with one new revision, so a
   * call sees the old configuration or the new one, never a mix. Synchronous: nothing can
   * interleave between loading and swapping. Never throws.
   */
  reload(keys: readonly ConfigFileKey[] = CONFIG_FILE_KEYS, trigger = 'manual'): ReloadReport {
    const current = this.#snapshot;
    if (this.#closing) return { revision: current.revision, applied: [], failed: [] };
    const started = performance.now();
    const paths = this.#options.configPaths;
    const failed: ConfigFileKey[] = [];

    let servers: ServersReload | undefined;
    if (keys.includes('mcp_config')) {
      this.#ledger.attempted('mcp_config');
      try {
        const reloadServers = this.#options.reloaders?.mcp_config;
        servers = reloadServers ? reloadServers(current.servers) : loadServersForReload(paths.mcpConfig, this.#options.parentEnv, current.servers);
      } catch (err) {
        failed.push('mcp_config');
        this.#reloadFailed('mcp_config', paths.mcpConfig, err, current.revision, trigger);
      }
    }
    let rules: RulesReload | undefined;
    if (keys.includes('gateway_rules')) {
      this.#ledger.attempted('gateway_rules');
      try {
        rules = (this.#options.reloaders?.gateway_rules ?? (() => loadRulesForReload(paths.rules)))();
      } catch (err) {
        failed.push('gateway_rules');
        this.#reloadFailed('gateway_rules', paths.rules, err, current.revision, trigger);
      }
    }
    if (!servers && !rules) return { revision: current.revision, applied: [], failed };

    const revision = current.revision + 1;
    const serverMap: ReadonlyMap<string, ServerSpec> = servers ? new Map(servers.specs.map((s) => [s.name, s] as const)) : current.servers;
    let changes: ApplyResult | undefined;
    if (servers) {
      changes = this.#pool.apply(servers.specs, {
        connect: this.#options.initStrategy === 'eager',
        // A call cannot outlive the hard maximum, so waiting that long lets every running call finish.
        drainMs: this.#options.maxTimeoutMs,
      });
      const retiring = [...changes.changed, ...changes.removed];
      for (const name of changes.unchanged) {
        const spec = serverMap.get(name);
        if (spec) this.#instances.updateSpec(spec);
      }
      // Their instances were started from the old spec: they close once their calls finish.
      void this.#instances.retireServers(retiring, this.#options.maxTimeoutMs);
      if (retiring.length > 0) {
        void changes.retired.then(() => this.#logger.debug({ servers: retiring }, 'replaced and removed downstream connections closed'));
      }
    }
    this.#snapshot = Object.freeze({
      revision,
      policy: rules?.policy ?? current.policy,
      rules: rules?.rules ?? current.rules,
      servers: serverMap,
      serverNames: Object.freeze([...serverMap.keys()]),
    });
    const applyMs = Math.round((performance.now() - started) * 1000) / 1000;
    if (this.#mode === 'meta' && this.#debugIn(current) !== this.#debugIn(this.#snapshot)) this.#toolListChanged();
    this.#native.reloaded();

    const cross = crossCheckRules(this.#snapshot.rules, this.#snapshot.serverNames);
    this.#ledger.crossChecked(cross);
    const applied: ConfigFileKey[] = [];
    if (servers) {
      applied.push('mcp_config');
      const partial =
        servers.failed.length > 0
          ? { message: describeFailedServers(paths.mcpConfig, servers.failed, current.servers), servers: servers.failed.map((f) => f.name) }
          : undefined;
      this.#ledger.succeeded('mcp_config', revision, servers.warnings, partial);
      this.#observeReload('mcp_config', 'success');
      if (partial) {
        this.#logger.error(
          { file: paths.mcpConfig, trigger, revision, issues: servers.failed.flatMap((f) => f.issues) },
          `reload: ${partial.message}`,
        );
      }
    }
    if (rules) {
      applied.push('gateway_rules');
      this.#ledger.succeeded('gateway_rules', revision, rules.warnings);
      this.#observeReload('gateway_rules', 'success');
      const bound = this.#options.boundAgent;
      if (bound !== undefined && !rules.policy.agentIds.includes(bound)) {
        this.#logger.warn({ agent: bound }, 'the bound agent is not in the new rules: every call will be refused (INVALID_AGENT_ID)');
      }
    }
    const warnings = [...(servers?.warnings ?? []), ...(rules?.warnings ?? []), ...cross];
    if (warnings.length > 0) this.#logger.warn({ revision, warnings: describeIssues(warnings) }, 'configuration warnings after reload');
    this.#logger.info(
      {
        trigger,
        files: applied,
        revision,
        apply_ms: applyMs,
        ...(changes
          ? { added: changes.added, removed: changes.removed, changed: changes.changed, unchanged: changes.unchanged }
          : {}),
      },
      'configuration reloaded',
    );
    return {
      revision,
      applied,
      failed,
      ...(changes
        ? { servers: { added: changes.added, removed: changes.removed, changed: changes.changed, unchanged: changes.unchanged } }
        : {}),
    };
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

  #reloadFailed(key: ConfigFileKey, path: string, err: unknown, revision: number, trigger: string): void {
    const message = err instanceof Error ? err.message : String(err);
    this.#ledger.failed(key, message);
    this.#observeReload(key, 'failure');
    const issues = err instanceof ConfigError ? err.issues.filter((i) => i.severity === 'error') : [];
    this.#logger.error(
      { file: path, trigger, kept_revision: revision, ...(issues.length > 0 ? { issues } : {}) },
      `reload of ${path} failed; the last good configuration stays in force: ${message}`,
    );
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

  #observeReload(file: ConfigFileKey, outcome: 'success' | 'failure'): void {
    try {
      this.#options.onReload?.(file, outcome);
    } catch (err) {
      this.#logger.warn({ err }, 'reload observer failed');
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

  /**
   * get_gateway_status as `agentId` may see it: only the servers its rules allow, only its own
   * isolated instances and metrics, and no other agent's id (in an unbound gateway an id is
   * all it takes to act as that agent). Stderr tails and error messages come redacted.
   */
  status(agentId: string): Record<string, unknown> {
    const snapshot = this.#snapshot;
    const visible = snapshot.policy.visibleServers(agentId, snapshot.serverNames);
    const shown = new Set(visible);
    return {
      version: VERSION,
      uptime_s: Math.round((Date.now() - this.#startedAt) / 1000),
      config_paths: { mcp_config: this.#options.configPaths.mcpConfig, gateway_rules: this.#options.configPaths.rules },
      revision: snapshot.revision,
      agents: {
        caller: agentId,
        deny_on_missing_agent: snapshot.policy.denyOnMissingAgent,
        fallback_agent: this.#options.fallbackAgent || null,
        bound_agent: this.#options.boundAgent ?? null,
      },
      servers: visible.map((name) => {
        const c = this.#pool.get(name);
        const retryAt = c?.nextRetryAt;
        return {
          name,
          transport: snapshot.servers.get(name)?.transport ?? null,
          state: c?.state ?? 'idle',
          pid: c?.pid ?? null,
          tools_cached: c?.cachedToolCount ?? null,
          restarts: c?.restarts ?? 0,
          consecutive_failures: c?.consecutiveFailures ?? 0,
          // While failed: no new attempt before this time; fail_fast says calls are refused until then.
          next_retry: retryAt === undefined ? null : new Date(retryAt).toISOString(),
          fail_fast: c?.failingFast ?? false,
          // A configuration error is the gateway's own message (JSON paths such as `env.TOKEN: ...`,
          // never a value), which the key=value reading of redactSecrets would garble.
          last_error:
            c?.lastError === undefined
              ? null
              : snapshot.servers.get(name)?.configError !== undefined
                ? redactCredentials(c.lastError)
                : redactSecrets(c.lastError),
          stderr_tail: c?.lastError ? c.stderrTail() : null,
        };
      }),
      // The caller's instances of servers with isolation "agent" or "session" (scope: the agent or session key).
      instances: this.#instances
        .list()
        .filter((i) => i.agentId === agentId && shown.has(i.server))
        .map((i) => ({
          server: i.server,
          scope: i.scope,
          agent: i.agentId,
          state: i.state,
          pid: i.pid ?? null,
          idle_s: Math.round((Date.now() - i.lastAccessed) / 1000),
          timeout_s: i.timeoutS,
        })),
      reload: callerReloadView(this.#ledger.status(), agentId, (server) => snapshot.policy.decideServer(agentId, server).allow),
      audit_log: this.#options.auditPath,
      metrics: callerMetrics(this.#metrics.snapshot(), agentId),
    };
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

export function buildSnapshot(revision: number, servers: ServersConfig, rules: RulesConfig): Snapshot {
  const map = new Map(servers.servers.map((s) => [s.name, s] as const));
  return Object.freeze({ revision, policy: compilePolicy(rules), rules, servers: map, serverNames: Object.freeze([...map.keys()]) });
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
