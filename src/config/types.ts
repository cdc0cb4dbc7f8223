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
  /** Conditions on a call's arguments (config/argumentRules.ts). Absent when the agent has none. */
  readonly arguments?: ArgumentRules;
  /** `deny.annotations`: tools denied by their effective annotations. Absent when the file has none. */
  readonly denyAnnotations?: readonly AnnotationRule[];
  /** `approve`: calls that wait for a human's approval. Absent when the file has none. */
  readonly approve?: ApproveRules;
}

/** The hints of MCP's ToolAnnotations that rules can name. */
export type AnnotationHint = 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint';

/** One entry of `deny.annotations` or `approve.annotations`: matches a tool whose effective hints equal every one named. */
export interface AnnotationRule {
  readonly hints: Readonly<Partial<Record<AnnotationHint, boolean>>>;
  /** Server name patterns it applies to; absent: every server. */
  readonly servers?: readonly string[];
  /** Tool name patterns it applies to; absent: every tool. */
  readonly tools?: readonly string[];
}

export interface ApproveRules {
  /** Per exact server name: tool name patterns whose calls need approval. */
  readonly tools: Readonly<Record<string, readonly string[]>>;
  readonly annotations: readonly AnnotationRule[];
}

/** How a string argument is normalized before it is matched: not at all, as a POSIX path, or as a URL. */
export type ArgumentValueType = 'string' | 'path' | 'url';

/** The conditions on the value(s) one JSON Pointer addresses; an omitted field checks nothing. */
export interface ArgumentCondition {
  readonly type: ArgumentValueType;
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  readonly regex?: string;
  readonly deny_regex?: string;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly absent?: true;
  readonly required?: boolean;
}

/** Per server (exact name), per tool pattern, per JSON Pointer (as written), in file order. */
export type ArgumentRules = Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, ArgumentCondition>>>>>>;

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
  /** The `oauth` section (config/oauthRules.ts): identity providers whose tokens are accepted, and who is which agent. */
  readonly oauth?: OAuthRules;
}

/** An identity provider whose access tokens (JWTs) the HTTP front door accepts. */
export interface OAuthIssuer {
  /** Compared exactly with a token's `iss`; its metadata document names the JWKS. */
  readonly issuer: string;
  /** Every one of them must be granted to the token. */
  readonly scopes: readonly string[];
  /** Shortest time between two JWKS fetches that a token with an unknown `kid` can cause. */
  readonly jwksCooldownSeconds: number;
}

/** Tokens whose claims all match (glob patterns; an array claim matches if any element does) act as `agent`. */
export interface OAuthAgentMapping {
  readonly agent: string;
  /** Only tokens of this issuer; absent: of any configured issuer. */
  readonly issuer?: string;
  readonly match: Readonly<Record<string, string>>;
}

export interface OAuthRules {
  readonly issuers: readonly OAuthIssuer[];
  /** In file order: the first mapping a token matches decides its agent. */
  readonly agents: readonly OAuthAgentMapping[];
}

export type IssueSeverity = 'error' | 'warning';

/** One finding about a config file. `path` is a JSON path such as `agents.backend.deny.tools.postgres[1]`. */
export interface ConfigIssue {
  readonly severity: IssueSeverity;
  readonly path: string;
  readonly message: string;
}
