// Prometheus metrics of the gateway (GET /metrics). The gateway's own families are counted
// here (src/http/exposition.ts) and each exporter has its own: two gateways in one process
// (tests) do not collide. Node.js process metrics come from prom-client, in a registry of
// this exporter's own, loaded at the first render.
//
// Label policy. Label values come from callers, and every distinct value is a new time
// series, so none is taken as given:
// - null (the call ended before that part was known) is "none".
// - operation: the gateway's tools (list_servers, search_tools, get_server_tools, execute_tool,
//   get_gateway_status, plus `operations` given at creation); any other name a caller
//   tried is "unknown".
// - agent: only a resolved identity (bounded by the rules file); a refused claim is "none".
// - server: a configured server (one the downstream provider lists); another name is
//   "unknown".
// - tool: kept on ALLOW (the tool exists on a configured server). Otherwise it is a name
//   the caller chose: kept while fewer than `maxToolLabels` distinct tool values exist
//   (default 500), then "other"; "unknown" when the server is not a configured one.
// - Every value is cut to 128 characters.

import type { Registry } from 'prom-client';
import type { CallEvent } from '../gateway/options.js';
import type { ServerState } from '../gateway/serverStates.js';
import { HistogramFamily, PROMETHEUS_CONTENT_TYPE, ValueFamily } from './exposition.js';
import { ROUTE_CLASSES, type RouteClass } from './rateLimitSpec.js';

/** What the exporter reads of each configured server. */
export type ServerStat = Pick<ServerState, 'name' | 'restarts' | 'state'>;

/** A Gateway is one. */
export interface MetricsSource {
  /** Read at every scrape. Must not throw. */
  serverStates(): readonly ServerStat[];
  /** Asked at every call, so it must be cheap (no per-server projection) and not throw. */
  isConfigured(server: string): boolean;
}

export interface MetricsOptions {
  /** Operation names besides the gateway's meta-tools that may appear in CallEvent.operation. */
  readonly operations?: readonly string[];
  /** Distinct tool label values from non-ALLOW calls before further ones become "other". Default 500. */
  readonly maxToolLabels?: number;
  /** Add Node.js process metrics (prefixed mcp_gateway_), from the first render on. Default true. */
  readonly defaultMetrics?: boolean;
}

export type SessionKind = 'mcp' | 'rest';
export type ReloadFile = 'mcp_config' | 'gateway_rules';
export type ReloadOutcome = 'success' | 'failure';

export interface GatewayMetricsExporter {
  /** For GatewayOptions.onCall. Never throws. */
  onCall(event: CallEvent): void;
  /** For GatewayOptions.onReload. Never throws. */
  onReload(file: ReloadFile, outcome: ReloadOutcome): void;
  /** A request refused with 429, by route class. */
  onRateLimited(route: RouteClass): void;
  setActiveSessions(kind: SessionKind, n: number): void;
  /** The text exposition format. */
  render(): Promise<string>;
  /** The Content-Type of render()'s output. */
  readonly contentType: string;
  /** Drops every metric: render() is empty from then on. Idempotent. */
  close(): void;
}

const METRIC_PREFIX = 'mcp_gateway_';
const META_TOOLS = ['list_servers', 'search_tools', 'get_server_tools', 'execute_tool', 'get_gateway_status'];
const NONE = 'none';
const UNKNOWN = 'unknown';
const OTHER = 'other';
const MAX_LABEL_LENGTH = 128;

/** 0.5 ms to 60 s: an in-process denial takes well under a millisecond, a slow tool a minute. */
export const CALL_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(source: MetricsSource, options: MetricsOptions = {}): GatewayMetricsExporter {
  const operations = new Set([...META_TOOLS, ...(options.operations ?? [])]);
  const maxToolLabels = options.maxToolLabels ?? 500;
  const toolLabels = new Set<string>();

  const calls = new ValueFamily(
    `${METRIC_PREFIX}calls_total`,
    'Gateway tool calls, by calling agent, downstream server and tool, policy decision and gateway operation.',
    'counter',
    ['agent', 'server', 'tool', 'decision', 'operation'],
  );
  const duration = new HistogramFamily(
    `${METRIC_PREFIX}call_duration_seconds`,
    'Duration of gateway tool calls, from arrival to result, in seconds.',
    ['operation', 'server'],
    CALL_DURATION_BUCKETS,
  );
  const restarts = new ValueFamily(`${METRIC_PREFIX}downstream_restarts_total`, 'Restarts of each downstream server connection since it was created.', 'counter', [
    'server',
  ]);
  const up = new ValueFamily(
    `${METRIC_PREFIX}downstream_up`,
    '1 when the downstream server connection is ready, else 0 (idle servers of the lazy start strategy are 0).',
    'gauge',
    ['server'],
  );
  const state = new ValueFamily(`${METRIC_PREFIX}downstream_state`, 'Connection state of each downstream server: 1 for its current state.', 'gauge', [
    'server',
    'state',
  ]);
  const sessions = new ValueFamily(
    `${METRIC_PREFIX}active_sessions`,
    'Open sessions: mcp (Streamable HTTP sessions on /mcp) and rest (session ids of the REST API).',
    'gauge',
    ['kind'],
  );
  const reloads = new ValueFamily(`${METRIC_PREFIX}config_reloads_total`, 'Configuration reload attempts, by file and result.', 'counter', ['file', 'result']);
  const rateLimited = new ValueFamily(`${METRIC_PREFIX}rate_limited_total`, 'Requests refused with 429, by rate-limit route class.', 'counter', ['route']);
  const families = [calls, duration, restarts, up, state, sessions, reloads, rateLimited];

  // Series that exist from the start, so rate() and absent() work before the first event.
  for (const kind of ['mcp', 'rest'] as const) sessions.set({ kind }, 0);
  for (const file of ['mcp_config', 'gateway_rules'] as const) {
    for (const result of ['success', 'failure'] as const) reloads.inc({ file, result }, 0);
  }
  for (const route of ROUTE_CLASSES) rateLimited.inc({ route }, 0);

  /** The downstream families are read from the gateway at each render. */
  const collectServers = (): void => {
    restarts.reset();
    up.reset();
    state.reset();
    for (const d of readServers(source)) {
      const server = clip(d.name);
      restarts.inc({ server }, Math.max(0, d.restarts));
      up.set({ server }, d.state === 'ready' ? 1 : 0);
      state.set({ server, state: clip(d.state) }, 1);
    }
  };

  let closed = false;
  // prom-client (5 MB of a process's memory with its default metrics) is loaded at the first
  // render: the process metrics it reads are totals since start or current values.
  let processMetrics: Promise<Registry | undefined> | undefined;
  const loadProcessMetrics = (): Promise<Registry | undefined> =>
    (processMetrics ??= import('prom-client').then(({ collectDefaultMetrics, Registry }) => {
      if (closed) return undefined;
      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
      return registry;
    }));

  // Asked at every call: a server added by a reload counts at once.
  const isKnownServer = (server: string): boolean => {
    try {
      return source.isConfigured(server);
    } catch {
      return false;
    }
  };

  const toolLabel = (event: CallEvent, serverKnown: boolean): string => {
    if (event.tool === null) return NONE;
    const tool = clip(event.tool);
    if (event.decision === 'ALLOW') {
      toolLabels.add(tool);
      return tool;
    }
    if (!serverKnown) return UNKNOWN;
    if (toolLabels.has(tool)) return tool;
    if (toolLabels.size >= maxToolLabels) return OTHER;
    toolLabels.add(tool);
    return tool;
  };

  return {
    onCall(event) {
      try {
        const operation = operations.has(event.operation) ? event.operation : UNKNOWN;
        const serverKnown = event.server !== null && isKnownServer(event.server);
        const server = event.server === null ? NONE : serverKnown ? clip(event.server) : UNKNOWN;
        const agent = event.agent === null ? NONE : clip(event.agent);
        calls.inc({ agent, server, tool: toolLabel(event, serverKnown), decision: event.decision, operation });
        duration.observe({ operation, server }, Math.max(0, event.latencyMs) / 1000);
      } catch {
        // An observer must not fail the call it observes.
      }
    },

    onReload(file, outcome) {
      try {
        reloads.inc({ file, result: outcome });
      } catch {
        // As above.
      }
    },

    onRateLimited(route) {
      rateLimited.inc({ route: (ROUTE_CLASSES as readonly string[]).includes(route) ? route : OTHER });
    },

    setActiveSessions(kind, n) {
      sessions.set({ kind }, Number.isFinite(n) && n > 0 ? n : 0);
    },

    async render() {
      const registry = options.defaultMetrics !== false && !closed ? await loadProcessMetrics() : undefined;
      if (closed) return '';
      collectServers();
      const own = `${families.map((f) => f.render()).join('\n\n')}\n`;
      return registry ? `${own}\n${await registry.metrics()}` : own;
    },

    contentType: PROMETHEUS_CONTENT_TYPE,

    close() {
      if (closed) return;
      closed = true;
      void processMetrics?.then((registry) => registry?.clear());
    },
  };
}

function readServers(source: MetricsSource): readonly ServerStat[] {
  try {
    return source.serverStates();
  } catch {
    return [];
  }
}

function clip(value: string): string {
  return value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
}
