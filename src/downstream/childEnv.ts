// The environment a stdio downstream server starts with.
//
// Claude Code hands its servers its whole environment plus the server's `env`, and users
// rely on that (PATH, HOME, proxies, NODE_OPTIONS, API keys exported in the shell). The
// SDK's StdioClientTransport instead passes only six variables once `env` is given, which
// breaks servers that work under Claude Code; so we do what Claude Code does, minus two
// kinds of variable:
//   - the gateway's own secrets (bearer tokens, rate-limit storage URL): a downstream server
//     is not trusted with the keys of the gateway in front of it;
//   - dynamic-loader injection variables: a config entry (or a polluted parent environment)
//     must not be able to load arbitrary code into every server the gateway starts.

const LOADER_INJECTION = new Set(['LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES']);

/** True for variables that belong to the gateway itself and never reach a downstream. */
function isGatewaySecret(name: string): boolean {
  return name.startsWith('GATEWAY_AUTH_') || name === 'GATEWAY_RATE_LIMIT_STORAGE';
}

/** True for variables the child never gets, whatever their source. */
export function isBlockedChildVariable(name: string): boolean {
  // Windows treats names case-insensitively; on POSIX nobody spells these in lower case on
  // purpose, so matching case-insensitively costs nothing and closes that door too.
  return LOADER_INJECTION.has(name.toUpperCase());
}

/**
 * `parentEnv` minus gateway secrets and loader-injection variables, overlaid with `serverEnv`
 * (which wins, except that it cannot reintroduce a loader-injection variable). Undefined
 * parent values are dropped.
 */
export function buildChildEnv(parentEnv: Readonly<Record<string, string | undefined>>, serverEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parentEnv)) {
    if (value === undefined) continue;
    if (isGatewaySecret(name) || isBlockedChildVariable(name)) continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(serverEnv)) {
    if (isBlockedChildVariable(name)) continue;
    // A server configured with its own GATEWAY_AUTH_* value is the user's explicit choice,
    // not a leak of ours, so it is honoured.
    env[name] = value;
  }
  return env;
}
