import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { LevelWithSilent } from 'pino';
import { loadSignalWireFile } from '../config/load.js';
import { resolveUserPath } from '../config/locate.js';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../config/sessionSettings.js';
import type { SignalWireConfig } from '../config/signalwireConfig.js';
import type { ConfigIssue, ServersConfig } from '../config/types.js';
import { defaultOAuthDir } from '../downstream/oauthStore.js';
import { DEFAULT_MAX_RESULT_BYTES } from '../downstream/processGroupTransport.js';
import { DEFAULT_CLIENT_PREFIX_LENGTH, DEFAULT_SEPARATOR, namingOptions, namingProblem, type NamingOptions } from '../gateway/native/names.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../gateway/stdioServerTransport.js';
import { DEFAULT_DEBOUNCE_MS, MAX_DEBOUNCE_MS, MIN_DEBOUNCE_MS } from './configWatcher.js';
import { HTTP_ONLY_OPTIONS, resolveHttpSettings, type HttpSettings } from './httpSettings.js';
import { fromFlagOrEnv, settingReader, SettingsError, type Given, type ParsedFlags } from './settingReader.js';

// The serve settings. How each one is read and checked is settingReader.ts; those of HTTP
// mode are httpSettings.ts.

export { SettingsError, type ParsedFlags } from './settingReader.js';
export type { HttpSettings } from './httpSettings.js';

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
  /** --search-index-at-start: every server starts at start and its tools are indexed for search_tools. */
  readonly searchIndexAtStart: boolean;
  /** --native-search: search_tools is offered in native mode too. */
  readonly nativeSearch: boolean;
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
  /** --pinning: how the lockfile's pins are applied. */
  readonly pinning: 'enforce' | 'warn' | 'off';
  /** --lock-file, absolute; undefined: beside the rules file. */
  readonly lockFile?: string;
  /** Absolute: the OAuth token folder; `given` when --oauth-dir or GATEWAY_OAUTH_DIR chose it. */
  readonly oauthDir: { readonly path: string; readonly given: boolean };
}

export interface SignalWireSource {
  /** Absolute. */
  readonly path: string;
  readonly servers: ServersConfig;
  readonly warnings: readonly ConfigIssue[];
  /** Environment variables holding the gateway's credentials (MCP_AUTH_PASSWORD, ...): never passed to a server. */
  readonly secretVariables: readonly string[];
}

/** A line is decoded into one string, and V8 strings stop short of 2^29 characters. */
const MAX_LINE_BYTES = 512 * 1024 * 1024;
/** Below this not even an initialize request fits. */
const MIN_LINE_BYTES = 1024;
/** Leaves 24 characters, room for the longest separator, a hash suffix and some name. */
const MAX_CLIENT_PREFIX_LENGTH = 40;

/**
 * flag > environment variable > SignalWire config.json (--config) > default, with a message
 * naming the flag, variable or JSON path on bad input.
 * @throws SettingsError, or ConfigError when the config.json cannot be used.
 */
export function resolveServeSettings(flags: ParsedFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): ServeSettings {
  if (flags['config'] === '') throw new SettingsError('--config needs the path of a SignalWire config.json');
  const signalWire = loadSignalWire(fromFlagOrEnv(flags, env, 'config'), fromFlagOrEnv(flags, env, 'mcp-config'), env, cwd);
  const read = settingReader(flags, env, signalWire);
  const { pick, str, choice, positiveInt, intInRange, positiveSeconds, bool } = read;
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
  const auditLog = auditRaw === 'off' ? null : expandHome(auditRaw ?? '~/.cache/agent-mcp-gateway/logs/audit.jsonl', env['HOME'], cwd);

  const timeoutMs = positiveInt('timeout-ms', 60_000);
  const maxTimeoutMs = positiveInt('max-timeout-ms', 600_000);
  if (timeoutMs > maxTimeoutMs) throw new SettingsError(`--timeout-ms (${timeoutMs}) exceeds --max-timeout-ms (${maxTimeoutMs})`);

  const mcpConfigFlag = flags['mcp-config'];
  const logFile = str('log-file');
  const rulesFlag = flags['rules'];
  const agent = bindingAgent(flags['agent'], env['GATEWAY_AGENT']);
  const defaultAgent = str('default-agent');
  const lockFile = str('lock-file');
  const oauthDir = str('oauth-dir');
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
    searchIndexAtStart: bool('search-index-at-start'),
    nativeSearch: bool('native-search'),
    timeoutMs,
    maxTimeoutMs,
    reloadDebounceMs: intInRange('reload-debounce-ms', DEFAULT_DEBOUNCE_MS, MIN_DEBOUNCE_MS, MAX_DEBOUNCE_MS),
    maxMessageBytes: intInRange('max-message-bytes', DEFAULT_MAX_MESSAGE_BYTES, MIN_LINE_BYTES, MAX_LINE_BYTES),
    maxResultBytes: intInRange('max-result-bytes', DEFAULT_MAX_RESULT_BYTES, MIN_LINE_BYTES, MAX_LINE_BYTES),
    oauthDir:
      oauthDir === undefined
        ? { path: defaultOAuthDir(env, env['HOME'] ?? homedir()), given: false }
        : { path: expandHome(oauthDir, env['HOME'], cwd), given: true },
    mode: choice<'meta' | 'native' | 'both'>('mode', 'meta'),
    pinning: choice<'enforce' | 'warn' | 'off'>('pinning', 'enforce'),
    ...(lockFile !== undefined ? { lockFile: expandHome(lockFile, env['HOME'], cwd) } : {}),
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
    ...(transport === 'http' ? { http: resolveHttpSettings(read, cwd) } : {}),
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
}

/**
 * --agent, else GATEWAY_AGENT. Given but empty or blank is an error, not "unbound": an unbound
 * gateway takes whatever agent_id a call names, so a binding lost to a typo would fail open.
 */
function bindingAgent(flag: unknown, envValue: string | undefined): string | undefined {
  if (Array.isArray(flag)) throw new SettingsError('--agent is given more than once: a gateway acts as one agent');
  const given = flag !== undefined ? { value: String(flag), from: '--agent' } : envValue !== undefined ? { value: envValue, from: 'GATEWAY_AGENT' } : undefined;
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
  config: Given | undefined,
  mcpConfig: Given | undefined,
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
