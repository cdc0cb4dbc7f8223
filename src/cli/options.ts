// Every flag with its environment variable. main.ts builds the yargs parser from this
// table and settings.ts resolves flag > env > default from it, so --help, the README and
// the behaviour cannot drift apart.

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

export const SERVE_OPTIONS = {
  ...CONFIG_OPTIONS,
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
} as const satisfies Record<string, OptionSpec>;

export type ServeOptionName = keyof typeof SERVE_OPTIONS;
