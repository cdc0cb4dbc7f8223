// get_gateway_status: the payload, as one caller may see it. Of the gateway-wide records a
// caller gets its own metrics, and of the reload record only what concerns it. Configuration
// warnings are `path: message` lines; a line about another agent's rules or a server the
// caller may not use is left out, since it would name them. What remains has URL credentials
// and tokens redacted.
import { formatPath } from '../config/jsonPath.js';
import type { InstanceInfo } from '../downstream/instances.js';
import { redactCredentials } from '../redact.js';
import { VERSION } from '../version.js';
import type { Snapshot } from './context.js';
import type { GatewayOptions } from './options.js';
import type { ConfigFileKey, FileReloadStatus } from './reload/ledger.js';
import type { ServerState } from './serverStates.js';

/** What the status is made of, read once per request. */
export interface StatusSource {
  readonly startedAt: number;
  readonly settings: Pick<GatewayOptions, 'configPaths' | 'fallbackAgent' | 'boundAgent' | 'auditPath'>;
  readonly snapshot: Snapshot;
  readonly servers: readonly ServerState[];
  /** The last lines a server wrote to stderr, redacted. */
  readonly stderrTail: (server: string) => string;
  readonly instances: readonly InstanceInfo[];
  readonly reload: Record<ConfigFileKey, FileReloadStatus>;
  readonly metrics: Metrics<unknown>;
  /** Pinned definitions, when pinning is on: what is quarantined per server. */
  readonly pins?: { status(shown: ReadonlySet<string>): Record<string, unknown> };
}

/**
 * get_gateway_status as `agentId` may see it: only the servers its rules allow, only its own
 * isolated instances and metrics, and no other agent's id (in an unbound gateway an id is
 * all it takes to act as that agent). Stderr tails and error messages come redacted.
 */
export function gatewayStatus(source: StatusSource, agentId: string): Record<string, unknown> {
  const { snapshot, settings } = source;
  const shown = new Set(snapshot.policy.visibleServers(agentId, snapshot.serverNames));
  return {
    version: VERSION,
    uptime_s: Math.round((Date.now() - source.startedAt) / 1000),
    config_paths: { mcp_config: settings.configPaths.mcpConfig, gateway_rules: settings.configPaths.rules },
    revision: snapshot.revision,
    agents: {
      caller: agentId,
      deny_on_missing_agent: snapshot.policy.denyOnMissingAgent,
      fallback_agent: settings.fallbackAgent || null,
      bound_agent: settings.boundAgent ?? null,
    },
    servers: source.servers
      .filter((s) => shown.has(s.name))
      .map((s) => ({
        name: s.name,
        transport: s.transport,
        state: s.state,
        pid: s.pid,
        protocol_version: s.protocolVersion,
        tools_cached: s.toolsCached,
        restarts: s.restarts,
        consecutive_failures: s.consecutiveFailures,
        // While failed: no new attempt before this time; fail_fast says calls are refused until then.
        next_retry: s.nextRetryAt === null ? null : new Date(s.nextRetryAt).toISOString(),
        fail_fast: s.failingFast,
        last_error: s.lastError,
        stderr_tail: s.lastError ? source.stderrTail(s.name) : null,
        // Only for hosted servers known to use OAuth: login_required names a login to do.
        ...(s.auth !== null ? { auth: s.auth } : {}),
      })),
    // The caller's instances of servers with isolation "agent" or "session" (scope: the agent or session key).
    instances: source.instances
      .filter((i) => i.agentId === agentId && shown.has(i.server))
      .map((i) => ({
        server: i.server,
        scope: i.scope,
        agent: i.agentId,
        state: i.state,
        pid: i.pid ?? null,
        idle_s: Math.round(i.idleMs / 1000),
        timeout_s: i.timeoutS,
      })),
    reload: callerReload(source.reload, agentId, (server) => snapshot.policy.decideServer(agentId, server).allow),
    audit_log: settings.auditPath,
    metrics: callerMetrics(source.metrics, agentId),
    ...(source.pins ? { pins: source.pins.status(shown) } : {}),
  };
}

type Metrics<S> = { by_operation: Record<string, S>; by_agent: Record<string, Record<string, S>> };

/** Every operation's totals (counts and latencies name nobody), and the caller's own line of by_agent. */
export function callerMetrics<S>(metrics: Metrics<S>, agentId: string): Metrics<S> {
  const own = Object.hasOwn(metrics.by_agent, agentId) ? metrics.by_agent[agentId] : undefined;
  return { by_operation: metrics.by_operation, by_agent: own === undefined ? {} : { [agentId]: own } };
}

/** The reload record as `agentId` may see it (see the file comment). */
export function callerReload(
  files: Record<ConfigFileKey, FileReloadStatus>,
  agentId: string,
  /** Whether the caller's rules allow this server (configured or not: a failed entry may not be). */
  mayUse: (server: string) => boolean,
): Record<ConfigFileKey, FileReloadStatus> {
  const concerns = (line: string): boolean => {
    const colon = line.indexOf(': ');
    const path = colon === -1 ? line : line.slice(0, colon);
    if (underKey(path, 'agents')) return startsWithPath(path, formatPath(['agents', agentId]));
    if (underKey(path, 'mcpServers')) {
      const server = serverOf(path);
      return server !== undefined && mayUse(server);
    }
    return true;
  };
  const forCaller = (file: FileReloadStatus): FileReloadStatus => ({
    ...file,
    last_error: file.last_error === null ? null : redactCredentials(errorLinesFor(file.last_error, concerns, mayUse)),
    warnings: file.warnings.filter(concerns).map(redactCredentials),
    ...(file.failed_servers !== undefined ? { failed_servers: file.failed_servers.filter(mayUse) } : {}),
  });
  return { mcp_config: forCaller(files.mcp_config), gateway_rules: forCaller(files.gateway_rules) };
}

/**
 * A reload error as the caller may see it: issue lines (`error   path: message`) only where
 * `concerns` keeps them, and a failed server's block (`server "x" ...:` and its issues) only
 * for a server the caller may use. Other lines (the summary) stay.
 */
function errorLinesFor(text: string, concerns: (line: string) => boolean, mayUse: (server: string) => boolean): string {
  let inHiddenBlock = false;
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    const block = /^server "((?:[^"\\]|\\.)*)" /.exec(line);
    if (block !== undefined && block !== null) {
      inHiddenBlock = !mayUse(block[1]!);
      if (!inHiddenBlock) kept.push(line);
      continue;
    }
    const issue = /^(?:error|warning)\s+(.*)$/.exec(line);
    if (issue !== null) {
      if (!inHiddenBlock && concerns(issue[1]!)) kept.push(line);
      continue;
    }
    inHiddenBlock = false;
    kept.push(line);
  }
  return kept.join('\n');
}

function underKey(path: string, key: string): boolean {
  return path.startsWith(`${key}.`) || path.startsWith(`${key}[`);
}

/** `path` is `prefix` or lies below it (`agents.a` covers `agents.a.allow`, not `agents.ab`). */
function startsWithPath(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  const next = path.charAt(prefix.length);
  return next === '' || next === '.' || next === '[';
}

/** The server a `mcpServers.<name>...` path is about, as formatPath wrote it; undefined when it cannot be read. */
function serverOf(path: string): string | undefined {
  const rest = path.slice('mcpServers'.length);
  if (rest.startsWith('.')) return /^[A-Za-z0-9_$-]+/.exec(rest.slice(1))?.[0];
  const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest)?.[1];
  if (quoted === undefined) return undefined;
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}
