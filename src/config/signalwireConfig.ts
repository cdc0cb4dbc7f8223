// SignalWire's MCP gateway configuration (`config.json`, read by `mcp-gateway -c`), so a
// SignalWire user can point agent-mcp-gateway at the file they already have. Values are read
// the way SignalWire's loader reads them (signalwireValues.ts); unknown keys are warnings with a
// suggestion, never errors; a known key with an unusable value is an error naming its path.
//
// Settings that a flag also gives (host, port, credentials, rate limits, session limits,
// logging) are returned by that flag's name and checked by the flag's own parser
// (cli/settingReader.ts), so a value means the same whichever way it arrives.

import { referencedVariables, type Env } from './expandEnv.js';
import { configError, configWarning, hasErrors, jsonType } from './issues.js';
import { findJsonSyntaxError } from './jsonError.js';
import { formatPath, type PathSegment } from './jsonPath.js';
import { parseRulesConfig } from './rulesFile.js';
import { parseService } from './signalwireServices.js';
import { coerceNumber, describe, substitute, warnUnknown } from './signalwireValues.js';
import { suggestionSuffix } from './suggest.js';
import type { ConfigIssue, RulesConfig, ServerSpec, ServersConfig } from './types.js';
import { isPlainObject } from '../values.js';

/** The flags whose settings config.json can also give. */
export type SignalWireSettingName =
  | 'host'
  | 'port'
  | 'auth-user'
  | 'auth-password'
  | 'auth-token'
  | 'rate-limit-default'
  | 'rate-limit-tools'
  | 'rate-limit-call'
  | 'rate-limit-session-delete'
  | 'rate-limit-storage'
  | 'session-default-timeout'
  | 'session-cleanup-interval'
  | 'max-sessions-per-service'
  | 'max-total-sessions'
  | 'sandbox-dir'
  | 'log-level'
  | 'log-file';

export interface SourcedValue {
  /** A string, a number, or (rate-limit-default) a list of strings. */
  readonly value: string | number | readonly string[];
  /** JSON path in config.json, e.g. `server.port`. */
  readonly path: string;
}

export interface SignalWireConfig {
  /** `services`, enabled ones only, in file order: stdio servers with `isolation: "session"`. */
  readonly servers: ServersConfig;
  /** Only the settings the file gives. */
  readonly settings: Readonly<Partial<Record<SignalWireSettingName, SourcedValue>>>;
  /**
   * The environment variables the gateway's own credentials come from (`server.auth_*`,
   * `rate_limiting.storage_uri`, e.g. MCP_AUTH_PASSWORD): like GATEWAY_AUTH_*, they must
   * never reach a server's environment.
   */
  readonly secretVariables: readonly string[];
}

export interface SignalWireParseResult {
  /** Undefined when any issue is an error. */
  readonly config: SignalWireConfig | undefined;
  readonly issues: ConfigIssue[];
}

/** Python logging level names (any case) -> pino levels. NOTSET logs everything in Python. */
const LOG_LEVELS: Readonly<Record<string, string>> = {
  notset: 'trace',
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  critical: 'fatal',
  fatal: 'fatal',
};

type Kind = 'string' | 'number' | 'limits';

/** Each settings key of the file: its section, key, flag and the kind of value the flag takes. */
const SETTINGS: readonly (readonly [string, string, SignalWireSettingName, Kind])[] = [
  ['server', 'host', 'host', 'string'],
  ['server', 'port', 'port', 'number'],
  ['server', 'auth_user', 'auth-user', 'string'],
  ['server', 'auth_password', 'auth-password', 'string'],
  ['server', 'auth_token', 'auth-token', 'string'],
  ['session', 'default_timeout', 'session-default-timeout', 'number'],
  ['session', 'cleanup_interval', 'session-cleanup-interval', 'number'],
  ['session', 'max_sessions_per_service', 'max-sessions-per-service', 'number'],
  ['session', 'max_total_sessions', 'max-total-sessions', 'number'],
  ['session', 'sandbox_dir', 'sandbox-dir', 'string'],
  ['rate_limiting', 'default_limits', 'rate-limit-default', 'limits'],
  ['rate_limiting', 'tools_limit', 'rate-limit-tools', 'string'],
  ['rate_limiting', 'call_limit', 'rate-limit-call', 'string'],
  ['rate_limiting', 'session_delete_limit', 'rate-limit-session-delete', 'string'],
  ['rate_limiting', 'storage_uri', 'rate-limit-storage', 'string'],
  ['logging', 'level', 'log-level', 'string'],
  ['logging', 'file', 'log-file', 'string'],
];

const SECTIONS = ['server', 'services', 'session', 'rate_limiting', 'logging'] as const;

/**
 * Parses the text of a SignalWire config.json. `env` feeds `${VAR}` substitution; `cwd` is
 * the working directory relative paths in the file mean (as in SignalWire's gateway). Every
 * issue names its JSON path; values are never echoed (they may be secrets).
 */
export function parseSignalWireConfig(text: string, env: Env, cwd: string): SignalWireParseResult {
  const issues: ConfigIssue[] = [];
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let raw: unknown;
  try {
    raw = JSON.parse(body) as unknown;
  } catch {
    const problem = findJsonSyntaxError(body);
    const detail = problem === undefined ? 'not valid JSON' : `${problem.reason} at line ${problem.line}, column ${problem.column}`;
    issues.push(configError([], `invalid JSON: ${detail}`));
    return { config: undefined, issues };
  }
  if (!isPlainObject(raw)) {
    issues.push(configError([], `a SignalWire config.json must be a JSON object, got ${jsonType(raw)}`));
    return { config: undefined, issues };
  }
  const secretVariables = credentialVariables(raw);
  const doc = substitute(raw, [], env, issues) as Record<string, unknown>;
  warnUnknown(doc, [], SECTIONS, '', issues);

  const sections = new Map<string, Record<string, unknown>>();
  for (const name of SECTIONS) {
    const value = doc[name];
    if (value === undefined) continue;
    if (!isPlainObject(value)) issues.push(configError([name], `must be an object, got ${jsonType(value)}`));
    else sections.set(name, value);
  }
  for (const [name, section] of sections) {
    if (name === 'services') continue;
    const known = SETTINGS.filter(([s]) => s === name).map(([, key]) => key);
    warnUnknown(section, [name], known, name, issues);
  }

  const settings: Partial<Record<SignalWireSettingName, SourcedValue>> = {};
  for (const [sectionName, key, flag, kind] of SETTINGS) {
    const value = sections.get(sectionName)?.[key];
    if (value === undefined) continue;
    const path: PathSegment[] = [sectionName, key];
    const read = readSetting(value, kind, path, issues);
    // "" (say an unset `${MCP_AUTH_TOKEN|}`) means "not set": SignalWire never matches an empty credential either.
    if (read !== undefined && read !== '') settings[flag] = { value: read, path: formatPath(path) };
  }
  mapLogLevel(settings, issues);
  checkBasicPair(settings, issues);

  const servers: ServerSpec[] = [];
  for (const [name, entry] of Object.entries(sections.get('services') ?? {})) {
    const spec = parseService(name, entry, cwd, issues);
    if (spec !== undefined) servers.push(spec);
  }

  if (hasErrors(issues)) return { config: undefined, issues };
  return {
    config: Object.freeze({
      servers: Object.freeze({ servers: Object.freeze(servers) }),
      settings: Object.freeze(settings),
      secretVariables: Object.freeze(secretVariables),
    }),
    issues,
  };
}

/** Variables referenced, before substitution, where the gateway's credentials are written. */
function credentialVariables(raw: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const server = raw['server'];
  const rate = raw['rate_limiting'];
  const values = [
    ...(isPlainObject(server) ? [server['auth_user'], server['auth_password'], server['auth_token']] : []),
    ...(isPlainObject(rate) ? [rate['storage_uri']] : []),
  ];
  for (const value of values) if (typeof value === 'string') for (const name of referencedVariables(value)) names.add(name);
  return [...names];
}

function readSetting(value: unknown, kind: Kind, path: PathSegment[], issues: ConfigIssue[]): string | number | readonly string[] | undefined {
  if (kind === 'number') {
    const n = coerceNumber(value);
    if (typeof n === 'number') return n;
    issues.push(configError(path, `must be a number, got ${describe(value)}`));
    return undefined;
  }
  if (typeof value === 'string') return value;
  if (kind === 'limits' && Array.isArray(value) && value.every((item) => typeof item === 'string')) return Object.freeze([...value]);
  issues.push(
    configError(path, kind === 'limits' ? `must be a list of strings like "200 per day", got ${jsonType(value)}` : `must be a string, got ${jsonType(value)}`),
  );
  return undefined;
}

function mapLogLevel(settings: Partial<Record<SignalWireSettingName, SourcedValue>>, issues: ConfigIssue[]): void {
  const level = settings['log-level'];
  if (level === undefined) return;
  const name = String(level.value).toLowerCase();
  const mapped = Object.hasOwn(LOG_LEVELS, name) ? LOG_LEVELS[name] : undefined;
  if (mapped !== undefined) {
    settings['log-level'] = { value: mapped, path: level.path };
    return;
  }
  const names = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
  issues.push(configError(['logging', 'level'], `must be one of ${names.join(', ')}${suggestionSuffix(name.toUpperCase(), names)}`));
  delete settings['log-level'];
}

/** Basic auth needs both halves; SignalWire's gateway never matches an empty one, so one alone turns Basic off. */
function checkBasicPair(settings: Partial<Record<SignalWireSettingName, SourcedValue>>, issues: ConfigIssue[]): void {
  const user = settings['auth-user'];
  const password = settings['auth-password'];
  if ((user === undefined) === (password === undefined)) return;
  const [set, unset] = user ? ['auth_user', 'auth_password'] : ['auth_password', 'auth_user'];
  issues.push(configWarning(['server', unset], `empty or missing while server.${set} is set: Basic auth is off (it needs both)`));
  delete settings['auth-user'];
  delete settings['auth-password'];
}

/** The agent every call acts as when a SignalWire config.json comes without a rules file. */
export const SIGNALWIRE_AGENT = 'signalwire';

/**
 * The rules for a SignalWire config.json without a rules file: SignalWire has no per-agent
 * policy (any authenticated client may use every service), so one agent may use every server.
 */
export function signalWireRules(): RulesConfig {
  const { config } = parseRulesConfig({ agents: { [SIGNALWIRE_AGENT]: { allow: { servers: ['*'] } } }, defaults: { deny_on_missing_agent: false } });
  return config!;
}
