// What a Gateway is built from (the CLI fills it from flags, environment and files; tests by
// hand), and the event its call observer is told.
import type { Logger } from 'pino';
import type { AuditSink } from '../audit/auditLog.js';
import type { AuditDecision } from '../audit/record.js';
import type { SessionSettings } from '../config/sessionSettings.js';
import type { ConfigIssue, RulesConfig, ServerSpec, ServersConfig } from '../config/types.js';
import type { BackoffPolicy } from '../downstream/connection.js';
import type { DownstreamOAuth } from '../downstream/oauthProvider.js';
import type { NamingOptions } from './native/names.js';
import type { PinStore } from './pins/pinStore.js';
import type { ConfigFileKey } from './reload/ledger.js';
import type { RulesReload, ServersReload } from './reload/loaders.js';

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
  /** `--search-index-at-start`: start every server at start and index its tools for search_tools. Default off. */
  readonly searchIndexAtStart?: boolean;
  /** `--native-search`: offer search_tools in native mode (it answers the names the client calls). Default off. */
  readonly nativeSearch?: boolean;
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
  /** OAuth tokens of hosted servers (`agent-mcp-gateway login`). Default: none, only static headers authenticate. */
  readonly oauth?: DownstreamOAuth;
  /** Isolated instances and sandbox folders. Default: DEFAULT_SESSION_SETTINGS (sandbox folder in ~/.cache). */
  readonly session?: SessionSettings;
  /** Pinned definitions (--pinning): lists are vetted against the lockfile. Default none: nothing is vetted. */
  readonly pins?: PinStore;
}

export type GatewayMode = 'meta' | 'native' | 'both';

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
