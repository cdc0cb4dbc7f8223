import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult, LoggingLevel, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { AuditSink } from '../audit/auditLog.js';
import { GatewayMetrics } from '../audit/latencyStats.js';
import { ConfigError } from '../config/configError.js';
import type { ConfigIssue, RulesConfig, ServerSpec, ServersConfig } from '../config/types.js';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../config/sessionSettings.js';
import type { BackoffPolicy, ConnectionOptions } from '../downstream/connection.js';
import { InstanceRegistry } from '../downstream/instances.js';
import { DownstreamPool, type ApplyResult } from '../downstream/pool.js';
import { Reaper } from '../downstream/reaper.js';
import { gatewayFolder, removeAbandonedFolders } from '../downstream/sandboxFolders.js';
import { crossCheckRules } from '../policy/crossCheck.js';
import { compilePolicy } from '../policy/engine.js';
import { resolveIdentity } from '../policy/identity.js';
import { VERSION } from '../version.js';
import type { Snapshot } from './context.js';
import { CallPipeline } from './calls/pipeline.js';
import type { CallEvent, CallOutcome, CallRequest, Operation } from './calls/request.js';
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
import { jsonResult, toolResult } from './results.js';
import { ServerRequestRouter, type RequestExtra, type UpstreamSession } from './serverRequests.js';
import { LogRelay } from './logRelay.js';
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

export type { CallEvent } from './calls/request.js';

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

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #logger: Logger;
  readonly #metrics = new GatewayMetrics();
  readonly #router: ServerRequestRouter;
  readonly #logs: LogRelay;
  readonly #startedAt = Date.now();
  readonly #operations: ReadonlyMap<string, Operation<CallToolResult>>;
  readonly #calls: CallPipeline;
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
        run: (request, operation) => this.#calls.run(request, operation),
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
    // The host's getters read the fields as they are at each call (reload replaces the snapshot).
    this.#calls = new CallPipeline(
      options,
      {
        get snapshot() {
          return gateway.#snapshot;
        },
        get pool() {
          return gateway.#pool;
        },
        get instances() {
          return gateway.#instances;
        },
      },
      this.#router,
      this.#metrics,
      options.logger,
    );
    const operations = new Map<string, Operation<CallToolResult>>([
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
   * native tool. REST callers reach the meta-tools in every mode (see invoke).
   */
  async callTool(name: string, rawArgs: unknown, extra: RequestExtra, session: UpstreamSession): Promise<CallToolResult> {
    const native = this.#mode !== 'meta' && session.mcp === true;
    const offered = native && this.#mode === 'native' ? undefined : this.#metaOperation(name);
    if (!offered && native) return this.#native.callTool(name, rawArgs, extra, session);
    const request: CallRequest = { operation: name, caller: session, args: rawArgs, ownArgs: true, signal: extra.signal, peer: { session, extra } };
    return toolResult(await this.#calls.run(request, offered));
  }

  /**
   * A meta-tool call from a front end that renders the outcome itself (REST): identity,
   * input checks and the audit line as for every call, ending in `request.refusal` when set.
   */
  invoke(request: CallRequest): Promise<CallOutcome<CallToolResult>> {
    return this.#calls.run(request, this.#metaOperation(request.operation));
  }

  /** The meta-tool `name` when it is on offer (get_gateway_status only in debug mode). */
  #metaOperation(name: string): Operation<CallToolResult> | undefined {
    if (name === 'get_gateway_status' && !this.#debugIn(this.#snapshot)) return undefined;
    return this.#operations.get(name);
  }

  #observeReload(file: ConfigFileKey, outcome: 'success' | 'failure'): void {
    try {
      this.#options.onReload?.(file, outcome);
    } catch (err) {
      this.#logger.warn({ err }, 'reload observer failed');
    }
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

export function buildSnapshot(revision: number, servers: ServersConfig, rules: RulesConfig): Snapshot {
  const map = new Map(servers.servers.map((s) => [s.name, s] as const));
  return Object.freeze({ revision, policy: compilePolicy(rules), rules, servers: map, serverNames: Object.freeze([...map.keys()]) });
}
