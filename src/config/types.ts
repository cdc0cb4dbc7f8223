// The internal form (IR) of both configuration files. Loaders validate the user's
// file shapes and normalize them into these frozen structures; nothing past
// config/ ever sees the raw JSON.

export type TransportKind = 'stdio' | 'http' | 'sse';

/**
 * Who shares one running instance of a server: everybody (`shared`), each agent id
 * (`agent`), or each session id (`session`: REST `session_id`, the MCP session on /mcp, the
 * agent in stdio mode).
 */
export type Isolation = 'shared' | 'agent' | 'session';

/** Resource limits applied to a sandboxed child at spawn (setrlimit, soft = hard). */
export interface SandboxLimits {
  readonly cpuSeconds: number;
  readonly memoryMb: number;
  readonly processes: number;
  readonly fileSizeMb: number;
}

/** How a stdio child is confined (SignalWire's `sandbox` block). */
export interface SandboxSpec {
  readonly enabled: boolean;
  readonly resourceLimits: boolean;
  readonly restrictedEnv: boolean;
  /** cwd of the child; default: the instance's own sandbox folder when enabled, else the server's cwd */
  readonly workingDir?: string;
  readonly limits: SandboxLimits;
}

/**
 * How `agent-mcp-gateway login` signs in to a hosted server: Claude Code's `oauth` keys of an
 * `.mcp.json` entry (clientId, callbackPort, authServerMetadataUrl, scopes), plus the
 * gateway's clientMetadataUrl (a client ID metadata document).
 */
export interface OAuthSpec {
  readonly clientId?: string;
  readonly callbackPort?: number;
  readonly authServerMetadataUrl?: string;
  /** Space-separated; asked for instead of what the server's metadata suggests. */
  readonly scopes?: string;
  readonly clientMetadataUrl?: string;
}

/** One downstream server from `.mcp.json`, env-expanded, validated, defaults applied. */
export interface ServerSpec {
  readonly name: string;
  readonly transport: TransportKind;
  /** stdio only */
  readonly command?: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** http / sse only */
  readonly url?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** http / sse only: how `login` signs in (the gateway uses whatever tokens the login stored). */
  readonly oauth?: OAuthSpec;
  readonly description?: string;
  /** per-server default for tool-call timeouts */
  readonly timeoutMs?: number;
  /** `enabled: false` keeps the entry in the file but out of the gateway */
  readonly enabled: boolean;
  /** Default 'shared'. */
  readonly isolation: Isolation;
  /** `.mcp.json` default: disabled. */
  readonly sandbox: SandboxSpec;
  /**
   * Set when the entry did not load (an unset `${VAR}`, a bad field): the server is listed as
   * failed with this message and never started; every call to it is refused with it.
   */
  readonly configError?: string;
}

export interface ServersConfig {
  /** In file order. Disabled servers are not included. */
  readonly servers: readonly ServerSpec[];
}

export interface RuleSection {
  readonly servers: readonly string[];
  readonly tools: Readonly<Record<string, readonly string[]>>;
  /** Per server: resource URI (and URI template) patterns. Absent when the file has none. */
  readonly resources?: Readonly<Record<string, readonly string[]>>;
  /** Per server: prompt name patterns. Absent when the file has none. */
  readonly prompts?: Readonly<Record<string, readonly string[]>>;
}

export interface AgentRules {
  readonly allow: RuleSection;
  readonly deny: RuleSection;
}

export interface RulesConfig {
  /** In file order. */
  readonly agents: Readonly<Record<string, AgentRules>>;
  readonly defaults: {
    readonly deny_on_missing_agent: boolean;
    /** Offer get_gateway_status (as --debug does). Present only when the file sets it. */
    readonly debug?: boolean;
  };
  /** Hex SHA-256 of a credential -> the agent id it authenticates. Absent when the file has no `credentials`. */
  readonly credentials?: Readonly<Record<string, string>>;
}

export type IssueSeverity = 'error' | 'warning';

/** One finding about a config file. `path` is a JSON path such as `agents.backend.deny.tools.postgres[1]`. */
export interface ConfigIssue {
  readonly severity: IssueSeverity;
  readonly path: string;
  readonly message: string;
}
