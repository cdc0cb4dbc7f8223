import { resolve } from 'node:path';
import { normalizeHostName } from '../http/host.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_MAX_MCP_SESSIONS, DEFAULT_MCP_IDLE_TIMEOUT_MS, HTTP_LIMIT_DEFAULTS, type HttpConnectionLimits } from '../http/limits.js';
import { normalizeOrigin } from '../http/origin.js';
import { normalizeResourceUrl } from '../http/protectedResource.js';
import { parseRateLimits, parseRateLimitStorage, RateLimitSpecError, type RateLimitRule, type RateLimitStorage, type RouteClass } from '../http/rateLimitSpec.js';
import type { ServeOptionName } from './options.js';
import { SettingsError, type Given, type SettingReader } from './settingReader.js';

// The serve settings of HTTP mode: address, origins and hosts, connection and session limits,
// credentials, TLS and rate limits.

export interface HttpSettings {
  readonly host: string;
  readonly port: number;
  /** Normalized origins; undefined: the default (loopback origins). */
  readonly allowedOrigins?: readonly string[];
  /** Normalized host names served besides loopback ones; undefined: none given. */
  readonly allowedHosts?: readonly string[];
  /** Timeouts and the connection cap of the HTTP server. */
  readonly connectionLimits: HttpConnectionLimits;
  readonly maxMcpSessions: number;
  /** undefined: a quarter of maxMcpSessions. */
  readonly maxMcpSessionsPerIdentity?: number;
  readonly mcpSessionIdleTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly basic?: { readonly user: string; readonly password: string };
  readonly token?: string;
  readonly allowUnauthenticated: boolean;
  /** --resource-url, normalized: the audience of identity-provider tokens. */
  readonly resourceUrl?: string;
  /** From --tls-cert/--tls-key; certs/server.pem in the working directory is looked for at start. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  readonly drainTimeoutMs: number;
  /** Per route class: the rules given (classes left out get the defaults), and the counter storage. */
  readonly rateLimits: {
    readonly limits: Partial<Record<RouteClass, readonly RateLimitRule[]>>;
    readonly storage: RateLimitStorage;
  };
}

const DEFAULT_HTTP_PORT = 8080;
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Options read only in HTTP mode. */
export const HTTP_ONLY_OPTIONS: readonly ServeOptionName[] = [
  'host',
  'port',
  'auth-user',
  'auth-password',
  'auth-token',
  'resource-url',
  'allow-unauthenticated',
  'allowed-origins',
  'max-body-bytes',
  'tls-cert',
  'tls-key',
  'drain-timeout-ms',
  'rate-limit-default',
  'rate-limit-tools',
  'rate-limit-call',
  'rate-limit-session-delete',
  'rate-limit-storage',
  'allowed-hosts',
  'headers-timeout-ms',
  'request-timeout-ms',
  'keep-alive-timeout-ms',
  'max-connections',
  'max-mcp-sessions',
  'max-mcp-sessions-per-identity',
  'mcp-session-idle-timeout-ms',
  'max-sessions-per-identity',
];

function readResourceUrl(given: Given | undefined): string | undefined {
  if (!given) return undefined;
  const resource = normalizeResourceUrl(String(given.value));
  if (!resource.ok) throw new SettingsError(`${given.from}: ${resource.reason}`);
  return resource.url;
}

/** The settings read only with --transport http. */
export function resolveHttpSettings(read: SettingReader, cwd: string): HttpSettings {
  const { pick, str, positiveInt, intInRange, bool, normalizedList } = read;
  const host = str('host') ?? '127.0.0.1';
  const port = intInRange('port', DEFAULT_HTTP_PORT, 0, 65_535);
  const maxBodyBytes = positiveInt('max-body-bytes', DEFAULT_MAX_BODY_BYTES);
  const allowedOrigins = normalizedList('allowed-origins', normalizeOrigin, 'is not an origin (scheme://host[:port], http or https, no path)');
  const allowedHosts = normalizedList('allowed-hosts', normalizeHostName, 'is not a host name or IP address (no scheme, no port)');
  const connectionLimits: HttpConnectionLimits = {
    headersTimeoutMs: intInRange('headers-timeout-ms', HTTP_LIMIT_DEFAULTS.headersTimeoutMs, 100, 3_600_000),
    requestTimeoutMs: intInRange('request-timeout-ms', HTTP_LIMIT_DEFAULTS.requestTimeoutMs, 100, 3_600_000),
    keepAliveTimeoutMs: intInRange('keep-alive-timeout-ms', HTTP_LIMIT_DEFAULTS.keepAliveTimeoutMs, 100, 3_600_000),
    maxConnections: intInRange('max-connections', HTTP_LIMIT_DEFAULTS.maxConnections, 1, 1_000_000),
  };
  if (connectionLimits.headersTimeoutMs > connectionLimits.requestTimeoutMs) {
    throw new SettingsError(
      `--headers-timeout-ms (${connectionLimits.headersTimeoutMs}) exceeds --request-timeout-ms (${connectionLimits.requestTimeoutMs}): the headers are part of the request`,
    );
  }
  const maxMcpSessions = positiveInt('max-mcp-sessions', DEFAULT_MAX_MCP_SESSIONS);
  const maxMcpSessionsPerIdentity = pick('max-mcp-sessions-per-identity') !== undefined ? positiveInt('max-mcp-sessions-per-identity', 1) : undefined;
  const user = pick('auth-user');
  const password = pick('auth-password');
  if ((user === undefined) !== (password === undefined)) {
    const given = user ?? password!;
    const missing = user === undefined ? '--auth-user (GATEWAY_AUTH_USER)' : '--auth-password (GATEWAY_AUTH_PASSWORD)';
    throw new SettingsError(`${given.from} is set but ${missing} is not: Basic auth needs both`);
  }
  if (user && String(user.value).includes(':')) throw new SettingsError(`${user.from}: a Basic auth user name cannot contain ':'`);
  for (const secret of [user, password, pick('auth-token')]) {
    if (secret && !/^[\x21-\x7e]+$/.test(String(secret.value))) {
      throw new SettingsError(`${secret.from}: use printable ASCII without spaces (the value is not shown)`);
    }
  }
  const token = str('auth-token');
  const resourceUrl = readResourceUrl(pick('resource-url'));
  const certPath = str('tls-cert');
  const keyPath = str('tls-key');
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new SettingsError(
      certPath === undefined
        ? '--tls-key (GATEWAY_TLS_KEY) is set but --tls-cert (GATEWAY_TLS_CERT) is not'
        : '--tls-cert (GATEWAY_TLS_CERT) is set but --tls-key (GATEWAY_TLS_KEY) is not',
    );
  }
  const limits: Partial<Record<RouteClass, readonly RateLimitRule[]>> = {};
  const classFlags: [RouteClass, ServeOptionName][] = [
    ['default', 'rate-limit-default'],
    ['tools', 'rate-limit-tools'],
    ['call', 'rate-limit-call'],
    ['session_delete', 'rate-limit-session-delete'],
  ];
  let storage: RateLimitStorage;
  try {
    for (const [routeClass, flag] of classFlags) {
      const v = pick(flag);
      if (v) limits[routeClass] = parseRateLimits(Array.isArray(v.value) ? (v.value as string[]) : String(v.value), v.from);
    }
    const s = pick('rate-limit-storage');
    storage = s ? parseRateLimitStorage(String(s.value), s.from) : { kind: 'memory', display: 'memory' };
  } catch (err) {
    if (err instanceof RateLimitSpecError) throw new SettingsError(err.message);
    throw err;
  }
  return {
    host,
    port,
    rateLimits: { limits, storage },
    ...(allowedOrigins !== undefined ? { allowedOrigins } : {}),
    ...(allowedHosts !== undefined ? { allowedHosts } : {}),
    connectionLimits,
    maxMcpSessions,
    ...(maxMcpSessionsPerIdentity !== undefined ? { maxMcpSessionsPerIdentity } : {}),
    mcpSessionIdleTimeoutMs: intInRange('mcp-session-idle-timeout-ms', DEFAULT_MCP_IDLE_TIMEOUT_MS, 100, 7 * 86_400_000),
    maxBodyBytes,
    ...(user && password ? { basic: { user: String(user.value), password: String(password.value) } } : {}),
    ...(token !== undefined ? { token } : {}),
    allowUnauthenticated: bool('allow-unauthenticated'),
    ...(resourceUrl !== undefined ? { resourceUrl } : {}),
    drainTimeoutMs: intInRange('drain-timeout-ms', DEFAULT_DRAIN_TIMEOUT_MS, 0, 3_600_000),
    ...(certPath !== undefined && keyPath !== undefined ? { tls: { certPath: resolve(cwd, certPath), keyPath: resolve(cwd, keyPath) } } : {}),
  };
}
