import { randomUUID } from 'node:crypto';
import { McpError, ErrorCode, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { AuditSink } from '../audit/auditLog.js';
import { GatewayMetrics } from '../audit/latencyStats.js';
import { hashArgs, type AuditDecision, type AuditRecord } from '../audit/record.js';
import type { RulesConfig, ServersConfig } from '../config/types.js';
import { DownstreamPool } from '../downstream/pool.js';
import { GatewayError } from '../errors.js';
import { compilePolicy } from '../policy/engine.js';
import { resolveIdentity } from '../policy/identity.js';
import type { IdentitySource } from '../policy/types.js';
import { VERSION } from '../version.js';
import { asArgs, type Args } from './arguments.js';
import type { AuditNote, OperationContext, RequestExtra, Snapshot } from './context.js';
import { metaTools } from './metaTools.js';
import { executeTool } from './operations/executeTool.js';
import { getServerTools } from './operations/getServerTools.js';
import { listServers } from './operations/listServers.js';
import { errorResult, jsonResult, toGatewayError } from './results.js';
import { ServerRequestRouter, type UpstreamSession } from './serverRequests.js';

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
  readonly initStrategy: 'lazy' | 'eager';
  readonly audit: AuditSink;
  readonly auditPath: string | null;
  readonly auditArgs: 'hash' | 'full';
  readonly logger: Logger;
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
}

type Operation = (ctx: OperationContext, args: Args) => Promise<CallToolResult>;

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #logger: Logger;
  readonly #metrics = new GatewayMetrics();
  readonly #router: ServerRequestRouter;
  readonly #startedAt = Date.now();
  readonly #operations: ReadonlyMap<string, Operation>;
  readonly #tools: Tool[];
  #snapshot: Snapshot;
  #pool: DownstreamPool;
  #closing: Promise<void> | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#router = new ServerRequestRouter(options.logger);
    this.#snapshot = buildSnapshot(1, options.servers, options.rules);
    this.#pool = new DownstreamPool(options.servers.servers, {
      logger: options.logger,
      clientInfo: { name: 'agent-mcp-gateway', version: VERSION },
      parentEnv: { ...options.parentEnv },
      onServerRequest: (server, request, extra) => this.#router.route(server, request, extra),
    });
    const operations = new Map<string, Operation>([
      ['list_servers', listServers],
      ['get_server_tools', getServerTools],
      ['execute_tool', executeTool],
    ]);
    if (options.debug) operations.set('get_gateway_status', async () => jsonResult(this.status()));
    this.#operations = operations;
    this.#tools = metaTools(options.debug);
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get pool(): DownstreamPool {
    return this.#pool;
  }

  start(): void {
    if (this.#options.initStrategy === 'eager') this.#pool.connectAll();
  }

  listTools(): Tool[] {
    return this.#tools;
  }

  /** Adds an upstream client session (the stdio peer, or one HTTP session); returns its removal. */
  attachSession(session: UpstreamSession): () => void {
    return this.#router.attach(session);
  }

  /** One gateway tool call, start to finish: identity, operation, audit and metrics. */
  async callTool(name: string, rawArgs: unknown, extra: RequestExtra, session: UpstreamSession): Promise<CallToolResult> {
    const started = performance.now();
    const snapshot = this.#snapshot;
    const note: AuditNote = {};
    let agentId: string | null = null;
    let source: IdentitySource | null = null;
    let args: Args = {};
    let result: CallToolResult | undefined;
    let failure: GatewayError | undefined;
    let cancelled = false;
    try {
      const operation = this.#operations.get(name);
      if (!operation) {
        failure = new GatewayError('TOOL_NOT_FOUND', `Unknown tool: ${name}`, { tool: name });
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      }
      args = asArgs(rawArgs);
      const identity = resolveIdentity({
        requested: args['agent_id'],
        ...(this.#options.boundAgent !== undefined ? { bound: this.#options.boundAgent } : {}),
        ...(this.#options.fallbackAgent ? { fallbackAgent: this.#options.fallbackAgent } : {}),
        policy: snapshot.policy,
      });
      if (!identity.ok) {
        if (identity.rule !== undefined) note.rule = identity.rule;
        throw new GatewayError(identity.code, identity.message, identity.rule !== undefined ? { rule: identity.rule } : {});
      }
      agentId = identity.agentId;
      source = identity.source;
      const ctx: OperationContext = {
        snapshot,
        pool: this.#pool,
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
      if (failure.code === 'INTERNAL_ERROR') this.#logger.error({ err, tool: name }, 'unexpected error in tool call');
      result = errorResult(failure);
      return result;
    } finally {
      const latency = performance.now() - started;
      const isError = result?.isError === true || cancelled || (failure !== undefined && result === undefined);
      this.#metrics.record(agentId, name, latency, isError);
      this.#audit({
        name,
        args,
        agentId,
        source,
        note,
        latency,
        isError,
        revision: snapshot.revision,
        ...(failure ? { code: failure.code } : cancelled ? { code: 'CANCELLED' } : {}),
        decision: decisionOf(failure, cancelled),
      });
    }
  }

  #audit(a: {
    name: string;
    args: Args;
    agentId: string | null;
    source: IdentitySource | null;
    note: AuditNote;
    latency: number;
    isError: boolean;
    revision: number;
    code?: string;
    decision: AuditDecision;
  }): void {
    // Arguments of execute_tool are the downstream arguments; for the other tools, the meta-tool arguments.
    const recorded = a.name === 'execute_tool' ? (a.args['args'] ?? {}) : a.args;
    const argKeys = recorded !== null && typeof recorded === 'object' && !Array.isArray(recorded) ? Object.keys(recorded) : [];
    const record: AuditRecord = {
      ts: new Date().toISOString(),
      id: randomUUID(),
      revision: a.revision,
      agent: a.agentId,
      identity_source: a.source,
      operation: a.name,
      server: a.note.server ?? null,
      tool: a.note.tool ?? null,
      decision: a.decision,
      code: a.code ?? null,
      rule: a.note.rule ?? null,
      latency_ms: Math.round(a.latency * 1000) / 1000,
      arg_keys: argKeys,
      args_sha256: hashArgs(recorded),
      ...(this.#options.auditArgs === 'full' ? { args: recorded } : {}),
      isError: a.isError,
    };
    this.#options.audit.write(record);
  }

  status(): Record<string, unknown> {
    const snapshot = this.#snapshot;
    return {
      version: VERSION,
      uptime_s: Math.round((Date.now() - this.#startedAt) / 1000),
      config_paths: { mcp_config: this.#options.configPaths.mcpConfig, gateway_rules: this.#options.configPaths.rules },
      revision: snapshot.revision,
      agents: {
        ids: snapshot.policy.agentIds,
        deny_on_missing_agent: snapshot.policy.denyOnMissingAgent,
        fallback_agent: this.#options.fallbackAgent || null,
        bound_agent: this.#options.boundAgent ?? null,
      },
      servers: snapshot.serverNames.map((name) => {
        const c = this.#pool.get(name);
        return {
          name,
          transport: snapshot.servers.get(name)?.transport ?? null,
          state: c?.state ?? 'idle',
          pid: c?.pid ?? null,
          tools_cached: c?.cachedToolCount ?? null,
          restarts: c?.restarts ?? 0,
          last_error: c?.lastError ?? null,
          stderr_tail: c?.lastError ? c.stderrTail() : null,
        };
      }),
      audit_log: this.#options.auditPath,
      metrics: this.#metrics.snapshot(),
    };
  }

  /** Idempotent: closes every downstream (and its process group), then flushes the audit log. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#pool.close();
      await this.#options.audit.close();
    })();
    return this.#closing;
  }

  /** Last resort for a synchronous exit: kill every downstream process group and flush the audit buffer. */
  killSync(): void {
    this.#pool.killAllSync();
    this.#options.audit.flushSync();
  }
}

export function buildSnapshot(revision: number, servers: ServersConfig, rules: RulesConfig): Snapshot {
  const map = new Map(servers.servers.map((s) => [s.name, s] as const));
  return { revision, policy: compilePolicy(rules), servers: map, serverNames: [...map.keys()] };
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
