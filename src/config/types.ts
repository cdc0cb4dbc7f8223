// The internal form (IR) of both configuration files. Loaders validate the user's
// file shapes and normalize them into these frozen structures; nothing past
// config/ ever sees the raw JSON.

export type TransportKind = 'stdio' | 'http' | 'sse';

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
  readonly description?: string;
  /** per-server default for tool-call timeouts */
  readonly timeoutMs?: number;
  /** `enabled: false` keeps the entry in the file but out of the gateway */
  readonly enabled: boolean;
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
