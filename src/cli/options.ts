// Every flag with its environment variable. main.ts builds the yargs parser from this
// table and settingReader.ts resolves flag > env > default from it, so --help, the README and
// the behaviour cannot drift apart.

import { DEFAULT_SESSION_SETTINGS } from '../config/sessionSettings.js';
import { DEFAULT_MAX_MCP_SESSIONS, DEFAULT_MCP_IDLE_TIMEOUT_MS, HTTP_LIMIT_DEFAULTS } from '../http/limits.js';
import { DEFAULT_RATE_LIMIT_SPECS } from '../http/rateLimitSpec.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean' | 'number';
  readonly describe: string;
  readonly env?: string;
  readonly choices?: readonly string[];
  readonly defaultText?: string;
}

export const CONFIG_OPTIONS = {
  'mcp-config': { type: 'string', describe: 'Path to the downstream servers file (.mcp.json format)', env: 'GATEWAY_MCP_CONFIG' },
  rules: { type: 'string', describe: 'Path to the gateway rules file', env: 'GATEWAY_RULES' },
} as const satisfies Record<string, OptionSpec>;

/** Where the pins are kept (serve and `pin`). */
export const LOCK_FILE_OPTION = {
  'lock-file': {
    type: 'string',
    describe: 'The lockfile of pinned tool and prompt definitions',
    env: 'GATEWAY_LOCK_FILE',
    defaultText: '.mcp-gateway-lock.json beside the rules file',
  },
} as const satisfies Record<string, OptionSpec>;

/** Where OAuth tokens of hosted servers are kept; `login` writes there and the gateway reads there. */
export const OAUTH_OPTIONS = {
  'oauth-dir': {
    type: 'string',
    describe: 'Folder of the OAuth tokens of hosted servers (agent-mcp-gateway login writes them, the gateway reads and refreshes them)',
    env: 'GATEWAY_OAUTH_DIR',
    defaultText: '$XDG_CONFIG_HOME/agent-mcp-gateway/oauth, else ~/.config/agent-mcp-gateway/oauth',
  },
} as const satisfies Record<string, OptionSpec>;

export const SERVE_OPTIONS = {
  ...CONFIG_OPTIONS,
  ...LOCK_FILE_OPTION,
  pinning: {
    type: 'string',
    describe: "Pinned definitions: 'enforce' quarantines new, renamed and changed tools and prompts, 'warn' only logs and audits them, 'off' ignores the lockfile",
    env: 'GATEWAY_PINNING',
    choices: ['enforce', 'warn', 'off'],
    defaultText: 'enforce (a server without pins is pinned on first use)',
  },
  ...OAUTH_OPTIONS,
  config: {
    type: 'string',
    describe: 'A SignalWire MCP gateway config.json: its services replace .mcp.json, its settings apply below flags and env vars; implies --transport http',
    env: 'GATEWAY_CONFIG',
  },
  agent: {
    type: 'string',
    describe: 'Bind this gateway to one agent: every call acts as it; another agent_id is refused',
    env: 'GATEWAY_AGENT',
  },
  'default-agent': {
    type: 'string',
    describe: 'Fallback agent when agent_id is missing (only if defaults.deny_on_missing_agent is false)',
    env: 'GATEWAY_DEFAULT_AGENT',
  },
  debug: { type: 'boolean', describe: 'Offer the get_gateway_status tool (env: true, 1 or yes)', env: 'GATEWAY_DEBUG' },
  'log-level': {
    type: 'string',
    describe: 'Log level (logs go to stderr)',
    env: 'GATEWAY_LOG_LEVEL',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    defaultText: 'info',
  },
  'log-file': {
    type: 'string',
    describe: 'Also append the log lines to this file',
    env: 'GATEWAY_LOG_FILE',
  },
  'audit-log': {
    type: 'string',
    describe: "Audit log path (JSON Lines), or 'off'",
    env: 'GATEWAY_AUDIT_LOG',
    defaultText: '~/.cache/agent-mcp-gateway/logs/audit.jsonl',
  },
  'audit-args': {
    type: 'string',
    describe: "What the audit log keeps of arguments: 'hash' (keys + SHA-256) or 'full' (values too)",
    env: 'GATEWAY_AUDIT_ARGS',
    choices: ['hash', 'full'],
    defaultText: 'hash',
  },
  'init-strategy': {
    type: 'string',
    describe: "'lazy' connects a server on first use; 'eager' connects all at start, in parallel",
    env: 'GATEWAY_INIT_STRATEGY',
    choices: ['lazy', 'eager'],
    defaultText: 'lazy',
  },
  'search-index-at-start': {
    type: 'boolean',
    describe: 'Start every server at start and index its tools for search_tools: the eager strategy plus one tools/list each (env: true, 1 or yes)',
    env: 'GATEWAY_SEARCH_INDEX_AT_START',
  },
  'native-search': {
    type: 'boolean',
    describe: 'Native mode: also offer search_tools, whose results name the tools to call (env: true, 1 or yes)',
    env: 'GATEWAY_NATIVE_SEARCH',
  },
  'timeout-ms': {
    type: 'number',
    describe: 'Default tool-call timeout when neither the call nor the server sets one',
    env: 'GATEWAY_TIMEOUT_MS',
    defaultText: '60000',
  },
  'max-timeout-ms': {
    type: 'number',
    describe: 'Hard maximum for a tool call, even while progress keeps resetting its timeout',
    env: 'GATEWAY_MAX_TIMEOUT_MS',
    defaultText: '600000',
  },
  'reload-debounce-ms': {
    type: 'number',
    describe: 'Quiet time after an edit of either config file before it is reloaded (75 to 3600000)',
    env: 'GATEWAY_RELOAD_DEBOUNCE_MS',
    defaultText: '300',
  },
  mode: {
    type: 'string',
    describe: "What tools/list offers: 'meta' (the gateway's meta-tools), 'native' (the agent's own downstream tools, resources and prompts, namespaced) or 'both'",
    env: 'GATEWAY_MODE',
    choices: ['meta', 'native', 'both'],
    defaultText: 'meta',
  },
  'name-separator': {
    type: 'string',
    describe: 'Native mode: what joins server and tool in a name (<server>__<tool>); 1 to 4 of A-Z a-z 0-9 _ -',
    env: 'GATEWAY_NAME_SEPARATOR',
    defaultText: '__',
  },
  'client-prefix-length': {
    type: 'number',
    describe: 'Native mode: length of what the client puts before a tool name (Claude Code: mcp__<entry>__); names are shortened to 64 minus this',
    env: 'GATEWAY_CLIENT_PREFIX_LENGTH',
    defaultText: '14 (mcp__gateway__)',
  },
  // ---- Isolated instances ("isolation": "agent" | "session") and their sandboxes. ----
  'session-default-timeout': {
    type: 'number',
    describe: 'Seconds an idle agent or session instance lives when the call sets no timeout',
    env: 'GATEWAY_SESSION_DEFAULT_TIMEOUT',
    defaultText: String(DEFAULT_SESSION_SETTINGS.defaultTimeoutS),
  },
  'session-cleanup-interval': {
    type: 'number',
    describe: 'Seconds between sweeps that close expired and dead instances',
    env: 'GATEWAY_SESSION_CLEANUP_INTERVAL',
    defaultText: String(DEFAULT_SESSION_SETTINGS.cleanupIntervalS),
  },
  'max-sessions-per-service': {
    type: 'number',
    describe: 'Isolated instances of one server at most; a call that needs one more gets 503',
    env: 'GATEWAY_MAX_SESSIONS_PER_SERVICE',
    defaultText: String(DEFAULT_SESSION_SETTINGS.maxSessionsPerService),
  },
  'max-total-sessions': {
    type: 'number',
    describe: 'Isolated instances of all servers at most',
    env: 'GATEWAY_MAX_TOTAL_SESSIONS',
    defaultText: String(DEFAULT_SESSION_SETTINGS.maxTotalSessions),
  },
  'max-sessions-per-identity': {
    type: 'number',
    describe: 'HTTP mode: isolated instances one caller identity may start (REST session ids, MCP sessions); one more gets 429',
    env: 'GATEWAY_MAX_SESSIONS_PER_IDENTITY',
    defaultText: 'a quarter of --max-total-sessions; with --config, all of it',
  },
  'sandbox-dir': {
    type: 'string',
    describe: 'Folder under which each sandboxed instance gets its own folder (HOME, TMPDIR, default cwd)',
    env: 'GATEWAY_SANDBOX_DIR',
    defaultText: DEFAULT_SESSION_SETTINGS.sandboxDir,
  },
  // ---- Message size limits on the stdio pipes (issue 13, items 11 and 12). ----
  'max-message-bytes': {
    type: 'number',
    describe: 'Stdio mode: longest request line accepted from the client; a longer one is answered with -32600 and skipped',
    env: 'GATEWAY_MAX_MESSAGE_BYTES',
    defaultText: '10485760 (10 MiB)',
  },
  'max-result-bytes': {
    type: 'number',
    describe: "Longest message line accepted from a stdio server; a longer one fails that server's pending calls with RESULT_TOO_LARGE and restarts it",
    env: 'GATEWAY_MAX_RESULT_BYTES',
    defaultText: '67108864 (64 MiB)',
  },
  // ---- HTTP mode (issue 5). Only read with --transport http. ----
  transport: {
    type: 'string',
    describe: "How clients connect: 'stdio' (one client on stdin/stdout) or 'http' (Streamable HTTP on /mcp plus the REST API)",
    env: 'GATEWAY_TRANSPORT',
    choices: ['stdio', 'http'],
    defaultText: 'stdio',
  },
  host: { type: 'string', describe: 'HTTP mode: address to listen on', env: 'GATEWAY_HTTP_HOST', defaultText: '127.0.0.1' },
  port: { type: 'number', describe: 'HTTP mode: port to listen on (0 picks a free one; the start-up log names it)', env: 'GATEWAY_HTTP_PORT', defaultText: '8080' },
  'auth-user': { type: 'string', describe: 'HTTP mode: Basic auth user name (with --auth-password)', env: 'GATEWAY_AUTH_USER' },
  'auth-password': {
    type: 'string',
    describe: 'HTTP mode: Basic auth password (prefer the environment variable: flags show in ps)',
    env: 'GATEWAY_AUTH_PASSWORD',
  },
  'auth-token': {
    type: 'string',
    describe: 'HTTP mode: shared Bearer token (prefer the environment variable: flags show in ps)',
    env: 'GATEWAY_AUTH_TOKEN',
  },
  'resource-url': {
    type: 'string',
    describe:
      'HTTP mode: the public URL of this gateway\'s /mcp (e.g. https://mcp.example.com/mcp): the audience identity-provider tokens must carry; required with "oauth" in the rules file',
    env: 'GATEWAY_RESOURCE_URL',
  },
  'allow-unauthenticated': {
    type: 'boolean',
    describe: 'HTTP mode: allow serving a non-loopback host with no credential at all (env: true, 1 or yes)',
    env: 'GATEWAY_ALLOW_UNAUTHENTICATED',
  },
  'allowed-origins': {
    type: 'string',
    describe: 'HTTP mode: comma-separated Origins a browser may call from (others get 403; requests without Origin pass)',
    env: 'GATEWAY_ALLOWED_ORIGINS',
    defaultText: 'http(s)://localhost, 127.0.0.1 and [::1] on any port',
  },
  'allowed-hosts': {
    type: 'string',
    describe: 'HTTP mode: comma-separated host names also served besides loopback ones (others get 403 on a loopback bind, and on any bind once this is set)',
    env: 'GATEWAY_ALLOWED_HOSTS',
    defaultText: 'localhost, 127.0.0.1, [::1] and the bound address; any Host on a non-loopback bind',
  },
  'max-body-bytes': {
    type: 'number',
    describe: 'HTTP mode: largest request body accepted (larger: 413)',
    env: 'GATEWAY_MAX_BODY_BYTES',
    defaultText: '10485760',
  },
  'tls-cert': { type: 'string', describe: 'HTTP mode: TLS certificate (PEM) file; serves HTTPS (with --tls-key)', env: 'GATEWAY_TLS_CERT' },
  'tls-key': { type: 'string', describe: 'HTTP mode: TLS private key (PEM) file (with --tls-cert)', env: 'GATEWAY_TLS_KEY' },
  'drain-timeout-ms': {
    type: 'number',
    describe: 'HTTP mode: on SIGTERM/SIGINT, how long in-flight requests may still finish before connections are closed',
    env: 'GATEWAY_DRAIN_TIMEOUT_MS',
    defaultText: '10000',
  },
  'headers-timeout-ms': {
    type: 'number',
    describe: 'HTTP mode: time a client has to send its request headers (408 after)',
    env: 'GATEWAY_HEADERS_TIMEOUT_MS',
    defaultText: String(HTTP_LIMIT_DEFAULTS.headersTimeoutMs),
  },
  'request-timeout-ms': {
    type: 'number',
    describe: 'HTTP mode: time a client has to send its whole request, body included (408 after); not the time of the answer',
    env: 'GATEWAY_REQUEST_TIMEOUT_MS',
    defaultText: String(HTTP_LIMIT_DEFAULTS.requestTimeoutMs),
  },
  'keep-alive-timeout-ms': {
    type: 'number',
    describe: 'HTTP mode: an idle keep-alive connection is closed after this',
    env: 'GATEWAY_KEEP_ALIVE_TIMEOUT_MS',
    defaultText: String(HTTP_LIMIT_DEFAULTS.keepAliveTimeoutMs),
  },
  'max-connections': {
    type: 'number',
    describe: 'HTTP mode: open connections at most; one more is closed unanswered',
    env: 'GATEWAY_MAX_CONNECTIONS',
    defaultText: String(HTTP_LIMIT_DEFAULTS.maxConnections),
  },
  'max-mcp-sessions': {
    type: 'number',
    describe: 'HTTP mode: open /mcp sessions at most; one more gets 503',
    env: 'GATEWAY_MAX_MCP_SESSIONS',
    defaultText: String(DEFAULT_MAX_MCP_SESSIONS),
  },
  'max-mcp-sessions-per-identity': {
    type: 'number',
    describe: 'HTTP mode: open /mcp sessions of one caller identity at most; one more gets 429',
    env: 'GATEWAY_MAX_MCP_SESSIONS_PER_IDENTITY',
    defaultText: 'a quarter of --max-mcp-sessions',
  },
  'mcp-session-idle-timeout-ms': {
    type: 'number',
    describe: 'HTTP mode: an /mcp session without requests (and no open stream) for this long is closed',
    env: 'GATEWAY_MCP_SESSION_IDLE_TIMEOUT_MS',
    defaultText: String(DEFAULT_MCP_IDLE_TIMEOUT_MS),
  },
  'rate-limit-default': {
    type: 'string',
    describe: 'HTTP mode: limit of /services, /sessions, /metrics and /mcp per caller, e.g. "6000 per minute" (lists: ";")',
    env: 'GATEWAY_RATE_LIMIT_DEFAULT',
    defaultText: DEFAULT_RATE_LIMIT_SPECS.default,
  },
  'rate-limit-tools': {
    type: 'string',
    describe: 'HTTP mode: limit of GET /services/:name/tools per caller',
    env: 'GATEWAY_RATE_LIMIT_TOOLS',
    defaultText: DEFAULT_RATE_LIMIT_SPECS.tools,
  },
  'rate-limit-call': {
    type: 'string',
    describe: 'HTTP mode: limit of tool calls per caller: POST /services/:name/call and each tools/call on /mcp',
    env: 'GATEWAY_RATE_LIMIT_CALL',
    defaultText: DEFAULT_RATE_LIMIT_SPECS.call,
  },
  'rate-limit-session-delete': {
    type: 'string',
    describe: 'HTTP mode: limit of DELETE /sessions/:id per caller',
    env: 'GATEWAY_RATE_LIMIT_SESSION_DELETE',
    defaultText: DEFAULT_RATE_LIMIT_SPECS.session_delete,
  },
  'rate-limit-storage': {
    type: 'string',
    describe: "HTTP mode: where rate-limit counters live: 'memory', or a redis:// URL shared by several gateways",
    env: 'GATEWAY_RATE_LIMIT_STORAGE',
    defaultText: 'memory',
  },
} as const satisfies Record<string, OptionSpec>;

export type ServeOptionName = keyof typeof SERVE_OPTIONS;
