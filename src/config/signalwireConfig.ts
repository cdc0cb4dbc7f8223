// SignalWire's MCP gateway configuration (`config.json`, read by `mcp-gateway -c`), so a
// SignalWire user can point agent-mcp-gateway at the file they already have.
//
// Their loader substitutes `${VAR}` / `${VAR|default}` in every string and then turns every
// string that looks like a boolean or a number into one, wherever it is: a numeric password
// then breaks Basic auth and a numeric argv item breaks the service. Here substitution is
// theirs (an unset variable without a default becomes "", embedded references work), but
// coercion is directed by what each key expects: "8080" is a number only where a number
// belongs, and a password or a command item stays a string.
//
// Their gateway ignores keys it does not know, so an existing file may carry some (their own
// docs show `sandbox_config`, which their code never reads). Unknown keys are warnings with a
// suggestion, never errors; a known key with an unusable value is an error naming its path.
//
// Settings that a flag also gives (host, port, credentials, rate limits, session limits,
// logging) are returned by that flag's name and checked by the flag's own parser in
// cli/settings.ts, so a value means the same whichever way it arrives.

import { isAbsolute, resolve } from 'node:path';
import { expandEnv, referencedVariables, type Env } from './expandEnv.js';
import { frozenArray, frozenRecord } from './frozen.js';
import { configError, configWarning, fromZodError, hasErrors, isPlainObject, jsonType } from './issues.js';
import { findJsonSyntaxError } from './jsonError.js';
import { formatPath, type PathSegment } from './path.js';
import { parseRulesConfig } from './rulesFile.js';
import { buildSandbox, SandboxEntrySchema } from './sandbox.js';
import { SERVER_NAME, SERVER_NAME_RULE } from './serversFile.js';
import { suggestionSuffix } from './suggest.js';
import type { ConfigIssue, RulesConfig, SandboxSpec, ServerSpec, ServersConfig } from './types.js';

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
const SERVICE_KEYS = ['command', 'description', 'enabled', 'sandbox', 'sandbox_config'] as const;
const SANDBOX_KEYS = ['enabled', 'resource_limits', 'restricted_env', 'working_dir', 'limits'] as const;
const LIMIT_KEYS = ['cpu_seconds', 'memory_mb', 'processes', 'file_size_mb'] as const;

/** Keys SignalWire's files may hold that nothing here uses, and why. */
const IGNORED: Readonly<Record<string, string>> = {
  security: 'SignalWire\'s gateway only logs the "security" section; ignored (security headers are always sent here)',
  'sandbox.drop_privileges': "not supported: the child runs as the gateway's user (run the gateway as a non-root user, as the Docker image does)",
  'sandbox.allowed_paths': 'not enforced (SignalWire documents it as future work and ignores it too)',
  'sandbox.note': 'a comment; ignored',
  'logging.format': 'logs are JSON lines here; ignored',
};

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
  issues.push(configError(path, kind === 'limits' ? `must be a list of strings like "200 per day", got ${jsonType(value)}` : `must be a string, got ${jsonType(value)}`));
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

function parseService(name: string, entry: unknown, cwd: string, issues: ConfigIssue[]): ServerSpec | undefined {
  const base: PathSegment[] = ['services', name];
  const before = issues.length;
  if (!SERVER_NAME.test(name)) issues.push(configError(base, `service name ${JSON.stringify(name)} is invalid: use ${SERVER_NAME_RULE}`));
  else if (name.includes('.')) issues.push(configWarning(base, 'a service name with "." cannot be called over the REST API (its names are A-Z a-z 0-9 _ -)'));
  if (!isPlainObject(entry)) {
    issues.push(configError(base, `must be an object, got ${jsonType(entry)}`));
    return undefined;
  }
  warnUnknown(entry, base, SERVICE_KEYS, 'service', issues);

  const enabledRaw = coerceBoolean(entry['enabled']);
  if (enabledRaw !== undefined && typeof enabledRaw !== 'boolean') {
    issues.push(configError([...base, 'enabled'], `must be true or false, got ${describe(enabledRaw)}`));
  }
  const enabled = enabledRaw !== false;

  const command = parseCommand(entry['command'], [...base, 'command'], issues);
  const description = entry['description'];
  if (description !== undefined && typeof description !== 'string') {
    issues.push(configError([...base, 'description'], `must be a string, got ${jsonType(description)}`));
  }

  // SignalWire's docs write `sandbox_config`, its code reads `sandbox` (and ignores the other):
  // both are honoured here, since either way the user wrote down what they want.
  let sandboxKey: 'sandbox' | 'sandbox_config' = 'sandbox';
  if (entry['sandbox_config'] !== undefined) {
    if (entry['sandbox'] !== undefined) {
      issues.push(configError([...base, 'sandbox_config'], 'give "sandbox" or "sandbox_config", not both'));
    } else {
      sandboxKey = 'sandbox_config';
      issues.push(configWarning([...base, 'sandbox_config'], 'read as "sandbox" (SignalWire\'s gateway ignores "sandbox_config"; it applies here)'));
    }
  }
  const sandbox = parseSandbox(entry[sandboxKey], [...base, sandboxKey], cwd, issues);

  if (!enabled) {
    // SignalWire skips a disabled service without reading it; a half-written one must not stop the start.
    for (let i = before; i < issues.length; i++) {
      const issue = issues[i]!;
      if (issue.severity === 'error') issues[i] = { ...issue, severity: 'warning', message: `${issue.message} (the service is disabled, so this is not an error yet)` };
    }
    return undefined;
  }
  if (hasErrors(issues.slice(before)) || command === undefined || sandbox === undefined) return undefined;
  const [program, ...args] = command;
  const spec: { -readonly [K in keyof ServerSpec]: ServerSpec[K] } = {
    name,
    transport: 'stdio',
    command: program!,
    args: frozenArray(args),
    env: frozenRecord([]),
    headers: frozenRecord([]),
    enabled,
    // One server process per session id (a SignalWire call id), as SignalWire runs them.
    isolation: 'session',
    sandbox,
  };
  if (typeof description === 'string' && description !== '') spec.description = description;
  return Object.freeze(spec);
}

function parseCommand(value: unknown, path: PathSegment[], issues: ConfigIssue[]): string[] | undefined {
  if (value === undefined) {
    issues.push(configError(path, 'required key "command" is missing (the program and its arguments, e.g. ["node", "server.mjs"])'));
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    issues.push(configError(path, `must be a non-empty list of strings, got ${jsonType(value)}`));
    return undefined;
  }
  const before = issues.length;
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') issues.push(configError([...path, i], `must be a string, got ${jsonType(item)}`));
    else if (item.includes('\0')) issues.push(configError([...path, i], 'must not contain a NUL character'));
    else if (i === 0 && item === '') issues.push(configError([...path, 0], 'the program must not be empty'));
  });
  return issues.length === before ? (value as string[]) : undefined;
}

function parseSandbox(value: unknown, base: PathSegment[], cwd: string, issues: ConfigIssue[]): SandboxSpec | undefined {
  if (value !== undefined && !isPlainObject(value)) {
    issues.push(configError(base, `must be an object, got ${jsonType(value)}`));
    return undefined;
  }
  // The block's keys, checks and defaults are those of `.mcp.json` (config/sandbox.ts); only
  // SignalWire's string coercion comes first, and the keys it does not use are left out.
  const block = value ?? {};
  warnUnknown(block, base, SANDBOX_KEYS, 'sandbox', issues);
  const entry: Record<string, unknown> = {};
  for (const key of ['enabled', 'resource_limits', 'restricted_env'] as const) {
    if (block[key] !== undefined) entry[key] = coerceBoolean(block[key]);
  }
  if (block['working_dir'] !== undefined) entry['working_dir'] = block['working_dir'];
  const limits = block['limits'];
  if (isPlainObject(limits)) {
    warnUnknown(limits, [...base, 'limits'], LIMIT_KEYS, 'limits', issues);
    entry['limits'] = Object.fromEntries(LIMIT_KEYS.filter((key) => limits[key] !== undefined).map((key) => [key, coerceNumber(limits[key])]));
  } else if (limits !== undefined) {
    entry['limits'] = limits;
  }
  const parsed = SandboxEntrySchema.safeParse(entry);
  if (!parsed.success) {
    issues.push(...fromZodError(parsed.error, SandboxEntrySchema, entry, base));
    return undefined;
  }
  // SignalWire starts every service in the gateway's working directory (its sample runs
  // "./test/todo_mcp.py"), never in the sandbox folder, so relative commands keep working.
  const dir = parsed.data.working_dir;
  const workingDir = dir === undefined ? cwd : isAbsolute(dir) ? dir : resolve(cwd, dir);
  return buildSandbox({ ...parsed.data, working_dir: workingDir }, true);
}

/** Warns about keys SignalWire's files may hold and nothing here reads (its gateway ignores them too). */
function warnUnknown(obj: Record<string, unknown>, base: PathSegment[], known: readonly string[], scope: string, issues: ConfigIssue[]): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const why = IGNORED[scope === '' ? key : `${scope}.${key}`];
    issues.push(configWarning([...base, key], why ?? `unknown key "${key}", ignored${suggestionSuffix(key, known)}`));
  }
}

/**
 * `${VAR}` and `${VAR|default}` in every string value, as SignalWire substitutes them: an
 * unset variable without a default becomes "" (with a warning naming the path, since a
 * missing secret is usually a mistake). Keys are left alone.
 */
function substitute(value: unknown, path: PathSegment[], env: Env, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') {
    const first = expandEnv(value, env);
    if (first.missing.length === 0) return first.value;
    for (const name of first.missing) {
      issues.push(configWarning(path, `environment variable "${name}" is not set and has no default: it counts as "" (write \${${name}|default} to give one)`));
    }
    return expandEnv(value, { ...env, ...Object.fromEntries(first.missing.map((name) => [name, ''])) }).value;
  }
  if (Array.isArray(value)) return value.map((item: unknown, i) => substitute(item, [...path, i], env, issues));
  if (isPlainObject(value)) {
    // Object.fromEntries, not assignment, so a key named "__proto__" stays an ordinary key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, issues)]));
  }
  return value;
}

/** SignalWire's number coercion where a number belongs: digits with at most one decimal part ("-1", " 42", "0x10" stay strings, as there). */
function coerceNumber(value: unknown): unknown {
  return typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/** SignalWire's boolean coercion where a boolean belongs: "true" / "false" in any case. */
function coerceBoolean(value: unknown): unknown {
  return typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
}

/** A bad value, described: a string is never shown (it may be a secret). */
function describe(value: unknown): string {
  return typeof value === 'string' ? (value === '' ? 'an empty string' : 'a string that is not one') : jsonType(value);
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
