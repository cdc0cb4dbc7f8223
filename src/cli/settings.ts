import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { LevelWithSilent } from 'pino';
import { loadSignalWireFile } from '../config/load.js';
import { resolveUserPath } from '../config/locate.js';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../config/sessionSettings.js';
import type { SignalWireConfig, SignalWireSettingName } from '../config/signalwireConfig.js';
import type { ConfigIssue, ServersConfig } from '../config/types.js';
import { DEFAULT_DEBOUNCE_MS, MAX_DEBOUNCE_MS, MIN_DEBOUNCE_MS } from './configWatcher.js';
import { normalizeOrigin } from '../http/origin.js';
import { normalizeHostName } from '../http/host.js';
import { DEFAULT_MAX_MCP_SESSIONS, DEFAULT_MCP_IDLE_TIMEOUT_MS, HTTP_LIMIT_DEFAULTS, type HttpConnectionLimits } from '../http/limits.js';
import {
  parseRateLimits,
  parseRateLimitStorage,
  RateLimitSpecError,
  type RateLimitRule,
  type RateLimitStorage,
  type RouteClass,
} from '../http/rateLimitSpec.js';
import { SERVE_OPTIONS, type ServeOptionName } from './options.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../gateway/stdioServerTransport.js';
import { DEFAULT_MAX_RESULT_BYTES } from '../downstream/processGroupTransport.js';
import { DEFAULT_CLIENT_PREFIX_LENGTH, DEFAULT_SEPARATOR, namingOptions, namingProblem, type NamingOptions } from '../gateway/native/names.js';

export interface ServeSettings {
  readonly mcpConfigFlag?: string;
  readonly rulesFlag?: string;
  readonly agent?: string;
  readonly defaultAgent?: string;
  readonly debug: boolean;
  readonly logLevel: LevelWithSilent;
  /** Absolute; log lines also go here (--log-file, or SignalWire's logging.file). */
  readonly logFile?: string;
  /** null when the audit log is off */
  readonly auditLog: string | null;
  readonly auditArgs: 'hash' | 'full';
  readonly initStrategy: 'lazy' | 'eager';
  readonly timeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly reloadDebounceMs: number;
  readonly mode: 'meta' | 'native' | 'both';
  /** Native names: separator and the length budget from --client-prefix-length. */
  readonly naming: NamingOptions;
  readonly transport: 'stdio' | 'http';
  /** Isolated instances: idle timeout, sweep interval, limits, sandbox folder (absolute). */
  readonly session: SessionSettings;
  /** --max-message-bytes: longest request line read from the stdio client. */
  readonly maxMessageBytes: number;
  /** --max-result-bytes: longest message line read from a stdio server. */
  readonly maxResultBytes: number;
  /** Present with --transport http. */
  readonly http?: HttpSettings;
  /** --config: a SignalWire config.json, whose services are the servers (instead of .mcp.json). */
  readonly signalWire?: SignalWireSource;
}

export interface SignalWireSource {
  /** Absolute. */
  readonly path: string;
  readonly servers: ServersConfig;
  readonly warnings: readonly ConfigIssue[];
  /** Environment variables holding the gateway's credentials (MCP_AUTH_PASSWORD, ...): never passed to a server. */
  readonly secretVariables: readonly string[];
}

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
  /** From --tls-cert/--tls-key; certs/server.pem in the working directory is looked for at start. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  readonly drainTimeoutMs: number;
  /** Per route class: the rules given (classes left out get the defaults), and the counter storage. */
  readonly rateLimits: {
    readonly limits: Partial<Record<RouteClass, readonly RateLimitRule[]>>;
    readonly storage: RateLimitStorage;
  };
}

export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** A line is decoded into one string, and V8 strings stop short of 2^29 characters. */
const MAX_LINE_BYTES = 512 * 1024 * 1024;
/** Below this not even an initialize request fits. */
const MIN_LINE_BYTES = 1024;

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Options read only in HTTP mode. */
const HTTP_ONLY_OPTIONS: readonly ServeOptionName[] = [
  'host',
  'port',
  'auth-user',
  'auth-password',
  'auth-token',
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

export type ParsedFlags = Partial<Record<ServeOptionName, unknown>>;

const TRUE_WORDS = new Set(['true', '1', 'yes']);
/** Leaves 24 characters, room for the longest separator, a hash suffix and some name. */
const MAX_CLIENT_PREFIX_LENGTH = 40;

/** Longest session timeout or sweep interval: a day is far beyond any call, and well inside a Node.js timer. */
const MAX_SECONDS = 86_400;

/**
 * flag > environment variable > SignalWire config.json (--config) > default, with a message
 * naming the flag, variable or JSON path on bad input.
 * @throws SettingsError, or ConfigError when the config.json cannot be used.
 */
export function resolveServeSettings(flags: ParsedFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): ServeSettings {
  const fromFlagOrEnv = (name: ServeOptionName): { value: unknown; from: string } | undefined => {
    const flag = flags[name];
    if (flag !== undefined && flag !== '') return { value: flag, from: `--${name}` };
    const spec = SERVE_OPTIONS[name];
    const envName = 'env' in spec ? spec.env : undefined;
    const envValue = envName ? env[envName] : undefined;
    if (envValue !== undefined && envValue !== '') return { value: envValue, from: envName! };
    return undefined;
  };
  if (flags['config'] === '') throw new SettingsError('--config needs the path of a SignalWire config.json');
  const signalWire = loadSignalWire(fromFlagOrEnv('config'), fromFlagOrEnv('mcp-config'), env, cwd);
  const pick = (name: ServeOptionName): { value: unknown; from: string } | undefined => {
    const given = fromFlagOrEnv(name);
    if (given !== undefined || signalWire === undefined) return given;
    const inFile = signalWire.config.settings[name as SignalWireSettingName];
    return inFile === undefined ? undefined : { value: inFile.value, from: `${signalWire.path}: ${inFile.path}` };
  };
  const str = (name: ServeOptionName): string | undefined => {
    const v = pick(name);
    return v === undefined ? undefined : String(v.value);
  };
  const choice = <T extends string>(name: ServeOptionName, fallback: T): T => {
    const v = pick(name);
    if (!v) return fallback;
    const allowed = (SERVE_OPTIONS[name] as { choices?: readonly string[] }).choices ?? [];
    const value = String(v.value);
    if (!allowed.includes(value)) throw new SettingsError(`${v.from}: '${value}' is not one of ${allowed.join(', ')}`);
    return value as T;
  };
  const positiveInt = (name: ServeOptionName, fallback: number): number => {
    const v = pick(name);
    if (!v) return fallback;
    const n = Number(v.value);
    if (!Number.isInteger(n) || n <= 0) throw new SettingsError(`${v.from}: expected a positive integer, got '${String(v.value)}'`);
    return n;
  };
  const intInRange = (name: ServeOptionName, fallback: number, min: number, max: number): number => {
    const v = pick(name);
    if (!v) return fallback;
    const n = Number(v.value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new SettingsError(`${v.from}: expected a whole number from ${min} to ${max}, got '${String(v.value)}'`);
    }
    return n;
  };
  const positiveSeconds = (name: ServeOptionName, fallback: number): number => {
    const v = pick(name);
    if (!v) return fallback;
    const n = Number(v.value);
    if (!Number.isFinite(n) || n <= 0 || n > MAX_SECONDS) {
      throw new SettingsError(`${v.from}: expected a number of seconds above 0 and at most ${MAX_SECONDS}, got '${String(v.value)}'`);
    }
    return n;
  };
  const bool = (name: ServeOptionName): boolean => {
    const v = pick(name);
    return v === undefined ? false : v.value === true || TRUE_WORDS.has(String(v.value).toLowerCase());
  };
  const debug = bool('debug');
  const transport = choice<'stdio' | 'http'>('transport', signalWire ? 'http' : 'stdio');
  if (signalWire && transport === 'stdio') {
    throw new SettingsError(`${pick('transport')!.from}: stdio does not go with --config (GATEWAY_CONFIG), which serves SignalWire's REST API over HTTP`);
  }
  if (transport === 'stdio') {
    // A flag typed on the command line that would do nothing is a mistake worth naming; the
    // environment may carry GATEWAY_* variables meant for other runs, so those are ignored.
    const stray = HTTP_ONLY_OPTIONS.find((name) => flags[name] !== undefined && flags[name] !== '' && flags[name] !== false);
    if (stray !== undefined) throw new SettingsError(`--${stray} only applies with --transport http`);
  }

  const auditRaw = str('audit-log');
  const auditLog =
    auditRaw === 'off' ? null : expandHome(auditRaw ?? '~/.cache/agent-mcp-gateway/logs/audit.jsonl', env['HOME'], cwd);

  const timeoutMs = positiveInt('timeout-ms', 60_000);
  const maxTimeoutMs = positiveInt('max-timeout-ms', 600_000);
  if (timeoutMs > maxTimeoutMs) throw new SettingsError(`--timeout-ms (${timeoutMs}) exceeds --max-timeout-ms (${maxTimeoutMs})`);

  const mcpConfigFlag = flags['mcp-config'];
  const logFile = str('log-file');
  const rulesFlag = flags['rules'];
  const agent = bindingAgent(flags['agent'], env['GATEWAY_AGENT']);
  const defaultAgent = str('default-agent');
  return {
    ...(typeof mcpConfigFlag === 'string' && mcpConfigFlag !== '' ? { mcpConfigFlag } : {}),
    ...(typeof rulesFlag === 'string' && rulesFlag !== '' ? { rulesFlag } : {}),
    ...(agent !== undefined ? { agent } : {}),
    ...(defaultAgent !== undefined ? { defaultAgent } : {}),
    debug,
    logLevel: choice<LevelWithSilent>('log-level', 'info'),
    ...(logFile !== undefined ? { logFile: resolve(cwd, logFile) } : {}),
    auditLog,
    auditArgs: choice<'hash' | 'full'>('audit-args', 'hash'),
    initStrategy: choice<'lazy' | 'eager'>('init-strategy', 'lazy'),
    timeoutMs,
    maxTimeoutMs,
    reloadDebounceMs: intInRange('reload-debounce-ms', DEFAULT_DEBOUNCE_MS, MIN_DEBOUNCE_MS, MAX_DEBOUNCE_MS),
    maxMessageBytes: intInRange('max-message-bytes', DEFAULT_MAX_MESSAGE_BYTES, MIN_LINE_BYTES, MAX_LINE_BYTES),
    maxResultBytes: intInRange('max-result-bytes', DEFAULT_MAX_RESULT_BYTES, MIN_LINE_BYTES, MAX_LINE_BYTES),
    mode: choice<'meta' | 'native' | 'both'>('mode', 'meta'),
    naming: resolveNaming(),
    transport,
    session: {
      defaultTimeoutS: positiveSeconds('session-default-timeout', DEFAULT_SESSION_SETTINGS.defaultTimeoutS),
      cleanupIntervalS: positiveSeconds('session-cleanup-interval', DEFAULT_SESSION_SETTINGS.cleanupIntervalS),
      maxSessionsPerService: positiveInt('max-sessions-per-service', DEFAULT_SESSION_SETTINGS.maxSessionsPerService),
      maxTotalSessions: positiveInt('max-total-sessions', DEFAULT_SESSION_SETTINGS.maxTotalSessions),
      // SignalWire's skill calls with one shared credential, so there one identity is every
      // caller: a quarter of the total would cut a drop-in's capacity without protecting anyone.
      ...(pick('max-sessions-per-identity') !== undefined
        ? { maxSessionsPerIdentity: positiveInt('max-sessions-per-identity', 1) }
        : signalWire
          ? { maxSessionsPerIdentity: positiveInt('max-total-sessions', DEFAULT_SESSION_SETTINGS.maxTotalSessions) }
          : {}),
      sandboxDir: expandHome(str('sandbox-dir') ?? DEFAULT_SESSION_SETTINGS.sandboxDir, env['HOME'], cwd),
    },
    ...(transport === 'http' ? { http: resolveHttp() } : {}),
    ...(signalWire
      ? {
          signalWire: {
            path: signalWire.path,
            servers: signalWire.config.servers,
            warnings: signalWire.warnings,
            secretVariables: signalWire.config.secretVariables,
          },
        }
      : {}),
  };

  function resolveNaming(): NamingOptions {
    const separatorPick = pick('name-separator');
    const separator = separatorPick === undefined ? DEFAULT_SEPARATOR : String(separatorPick.value);
    const prefixLength = intInRange('client-prefix-length', DEFAULT_CLIENT_PREFIX_LENGTH, 0, MAX_CLIENT_PREFIX_LENGTH);
    const naming = namingOptions(separator, prefixLength);
    // The prefix length is capped so that any valid separator still leaves room: only the separator can be wrong.
    const problem = namingProblem(naming);
    if (problem !== undefined) throw new SettingsError(`${separatorPick?.from ?? '--name-separator'}: ${problem}`);
    return naming;
  }

  /** A comma-separated flag, each entry in its canonical form; undefined when not given. */
  function normalizedList(name: ServeOptionName, normalize: (entry: string) => string | undefined, refusal: string): string[] | undefined {
    const given = pick(name);
    if (!given) return undefined;
    return String(given.value)
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')
      .map((entry) => {
        const value = normalize(entry);
        if (value === undefined) throw new SettingsError(`${given.from}: '${entry}' ${refusal}`);
        return value;
      });
  }

  function resolveHttp(): HttpSettings {
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
    const certPath = str('tls-cert');
    const keyPath = str('tls-key');
    if ((certPath === undefined) !== (keyPath === undefined)) {
      throw new SettingsError(
        certPath === undefined ? '--tls-key (GATEWAY_TLS_KEY) is set but --tls-cert (GATEWAY_TLS_CERT) is not' : '--tls-cert (GATEWAY_TLS_CERT) is set but --tls-key (GATEWAY_TLS_KEY) is not',
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
      drainTimeoutMs: intInRange('drain-timeout-ms', DEFAULT_DRAIN_TIMEOUT_MS, 0, 3_600_000),
      ...(certPath !== undefined && keyPath !== undefined ? { tls: { certPath: resolve(cwd, certPath), keyPath: resolve(cwd, keyPath) } } : {}),
    };
  }
}

/**
 * --agent, else GATEWAY_AGENT. Given but empty or blank is an error, not "unbound": an unbound
 * gateway takes whatever agent_id a call names, so a binding lost to a typo would fail open.
 */
function bindingAgent(flag: unknown, envValue: string | undefined): string | undefined {
  if (Array.isArray(flag)) throw new SettingsError('--agent is given more than once: a gateway acts as one agent');
  const given =
    flag !== undefined ? { value: String(flag), from: '--agent' } : envValue !== undefined ? { value: envValue, from: 'GATEWAY_AGENT' } : undefined;
  if (given === undefined) return undefined;
  if (given.value.trim() === '') {
    throw new SettingsError(
      `${given.from} is set but ${given.value === '' ? 'empty' : 'blank'}: name the agent this gateway acts as, or leave ${given.from} out to serve several agents`,
    );
  }
  return given.value;
}

/** The config.json named by --config / GATEWAY_CONFIG, loaded; undefined when none is named. */
function loadSignalWire(
  config: { value: unknown; from: string } | undefined,
  mcpConfig: { value: unknown; from: string } | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): { path: string; config: SignalWireConfig; warnings: readonly ConfigIssue[] } | undefined {
  if (config === undefined) return undefined;
  if (mcpConfig !== undefined) {
    throw new SettingsError(`${config.from} and ${mcpConfig.from} both name the servers: use one (config.json's "services", or a .mcp.json)`);
  }
  const path = resolveUserPath(String(config.value), { cwd, home: env['HOME'] ?? homedir() });
  const { config: loaded, warnings } = loadSignalWireFile(path, env, cwd);
  return { path, config: loaded, warnings };
}

export function expandHome(path: string, home: string | undefined, cwd: string): string {
  const h = home ?? homedir();
  const expanded = path === '~' ? h : path.startsWith('~/') ? join(h, path.slice(2)) : path;
  return isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
}
