import * as z from 'zod';
import { expandEnv, type Env } from './expandEnv.js';
import { frozenArray, frozenRecord } from './frozen.js';
import { configError, configWarning, fromZodError, hasErrors, inDocumentOrder, jsonType } from './issues.js';
import type { PathSegment } from './jsonPath.js';
import { buildSandbox, SandboxEntrySchema } from './sandbox.js';
import type { ConfigIssue, OAuthSpec, ServerSpec, ServersConfig, TransportKind } from './types.js';
import { isPlainObject } from '../values.js';

// `.mcp.json`: the file Claude Code and Claude Desktop already use, plus gateway-only keys in
// the same entries. Steps per server: expand `${VAR}` in the fields that take it, check the
// shape with a strict schema, then the rules a schema cannot say (one transport, the URL, the
// fields that belong to the other transport), and only then build the ServerSpec.

export const SERVER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const SERVER_NAME_RULE = '1 to 64 letters, digits, "_", "-" or "."';

/** setTimeout treats anything above 2^31-1 ms as 1 ms, so a larger timeout would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

const nonEmpty = (what: string) => z.string().min(1, { error: `${what} must not be empty` });

const LOOPBACK_HTTP = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//i;
const secureUrl = (what: string) =>
  z.string().refine((url) => URL.canParse(url) && (/^https:\/\//i.test(url) || LOOPBACK_HTTP.test(url)), {
    error: `${what} must be an https:// URL (http:// only on a loopback host)`,
  });

/** Claude Code's `oauth` keys, and clientMetadataUrl; other keys draw a warning (a newer Claude Code may add some). */
const OAuthEntrySchema = z.looseObject({
  clientId: nonEmpty('"clientId"').optional(),
  callbackPort: z.int().min(1, { error: 'must be a port number, 1 to 65535' }).max(65535, { error: 'must be a port number, 1 to 65535' }).optional(),
  authServerMetadataUrl: secureUrl('"authServerMetadataUrl"').optional(),
  scopes: nonEmpty('"scopes"').optional(),
  clientMetadataUrl: secureUrl('"clientMetadataUrl"').optional(),
});
const OAUTH_KEYS: readonly string[] = ['clientId', 'callbackPort', 'authServerMetadataUrl', 'scopes', 'clientMetadataUrl'];

const ServerEntrySchema = z.strictObject({
  type: z.enum(['stdio', 'http', 'sse']).optional().describe('Transport. Defaults to "stdio" when "command" is set and "http" when "url" is set.'),
  command: nonEmpty('"command"').optional().describe('stdio: the program to start. ${VAR} is expanded.'),
  args: z.array(z.string()).optional().describe('stdio: its arguments. ${VAR} is expanded.'),
  env: z.record(z.string(), z.string()).optional().describe('stdio: extra environment variables for the child. Values are ${VAR}-expanded.'),
  cwd: nonEmpty('"cwd"').optional().describe('stdio: working directory of the child. ${VAR} is expanded.'),
  url: z.string().optional().describe('http/sse: the endpoint, http:// or https://. ${VAR} is expanded.'),
  headers: z.record(z.string(), z.string()).optional().describe('http/sse: request headers. Values are ${VAR}-expanded.'),
  description: z.string().optional().describe('Gateway: shown to agents by list_servers.'),
  timeout_ms: z
    .int()
    .min(1, { error: 'must be at least 1 (milliseconds)' })
    .max(MAX_TIMEOUT_MS, { error: `must be at most ${MAX_TIMEOUT_MS} ms (about 24.8 days), the longest Node.js timer` })
    .optional()
    .describe('Gateway: default timeout for tool calls on this server, in milliseconds.'),
  enabled: z.boolean().optional().describe('Gateway: false keeps the entry in the file but out of the gateway.'),
  isolation: z
    .enum(['shared', 'agent', 'session'])
    .optional()
    .describe('Gateway: one instance for everybody ("shared", default), one per agent id ("agent") or one per session id ("session").'),
  sandbox: SandboxEntrySchema.optional().describe('Gateway, stdio: confine the child (SignalWire\'s keys). Off unless "enabled": true.'),
  oauth: OAuthEntrySchema.optional().describe("http/sse: how `agent-mcp-gateway login` signs in (Claude Code's keys)."),
  timeout: z.unknown().optional().describe('Claude Code only (startup timeout); accepted and ignored.'),
});

// The same top level with entries left opaque: entries are checked one by one after expansion.
const TopLevelSchema = z.strictObject({
  $schema: z.string().optional(),
  mcpServers: z.record(z.string(), z.unknown()),
});

const STDIO_ONLY = ['args', 'env', 'cwd', 'sandbox'] as const;
const HTTP_ONLY = ['headers'] as const;
const IGNORED_CLAUDE_KEYS: Readonly<Record<string, string>> = {
  timeout:
    'accepted so that a Claude Code config can be pasted, but not used (it is Claude Code\'s startup timeout); the gateway\'s per-call timeout is "timeout_ms"',
};
// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface ServersParseResult {
  /** Undefined when any issue is an error. */
  readonly config: ServersConfig | undefined;
  readonly issues: ConfigIssue[];
}

export function parseServersConfig(raw: unknown, env: Env): ServersParseResult {
  const issues: ConfigIssue[] = [];
  if (!isPlainObject(raw)) {
    issues.push(configError([], `MCP server configuration must be a JSON object with a "mcpServers" key, got ${jsonType(raw)}`));
    return { config: undefined, issues };
  }
  const top = TopLevelSchema.safeParse(raw);
  if (!top.success) issues.push(...fromZodError(top.error, TopLevelSchema, raw, []));

  const servers: ServerSpec[] = [];
  const entries = raw['mcpServers'];
  if (isPlainObject(entries)) {
    for (const [name, entry] of Object.entries(entries)) {
      const spec = parseServer(name, entry, env, issues);
      if (spec !== undefined && spec.enabled) servers.push(spec);
    }
  }
  const ordered = inDocumentOrder(issues, raw);
  if (hasErrors(ordered)) return { config: undefined, issues: ordered };
  return { config: Object.freeze({ servers: Object.freeze(servers) }), issues: ordered };
}

function parseServer(name: string, entry: unknown, env: Env, issues: ConfigIssue[]): ServerSpec | undefined {
  const base: PathSegment[] = ['mcpServers', name];
  const before = issues.length;
  if (!SERVER_NAME.test(name)) {
    issues.push(configError(base, `server name ${JSON.stringify(name)} is invalid: use ${SERVER_NAME_RULE}`));
  }
  if (!isPlainObject(entry)) {
    issues.push(configError(base, `server "${name}" configuration must be an object, got ${jsonType(entry)}`));
    return undefined;
  }

  // A disabled entry is kept in the file on purpose, often because its secrets are not at
  // hand; an unset variable there must not stop the gateway.
  const disabled = entry['enabled'] === false;
  const { expanded, unresolved } = expandEntry(name, entry, env, disabled, issues);

  const parsed = ServerEntrySchema.safeParse(expanded);
  if (!parsed.success) issues.push(...fromZodError(parsed.error, ServerEntrySchema, expanded, base));

  for (const [key, why] of Object.entries(IGNORED_CLAUDE_KEYS)) {
    if (Object.hasOwn(expanded, key)) issues.push(configWarning([...base, key], `"${key}" is ${why}`));
  }

  const transport = checkTransport(name, expanded, base, issues);
  checkValues(expanded, base, entry, unresolved, issues);
  if (transport !== undefined) checkOAuth(expanded, transport, base, issues);

  if (hasErrors(issues.slice(before)) || transport === undefined || !parsed.success) return undefined;
  // Built from our copy, not parsed.data: zod rebuilds records by assignment, which would turn
  // an env key "__proto__" into a prototype change. The schema has no transforms, so both hold the same values.
  return buildSpec(name, transport, expanded as z.infer<typeof ServerEntrySchema>);
}

/**
 * A copy of the entry with `${VAR}` expanded where the field takes it and has the right type,
 * and the top-level fields that still hold an unset reference (already reported).
 */
function expandEntry(
  name: string,
  entry: Record<string, unknown>,
  env: Env,
  disabled: boolean,
  issues: ConfigIssue[],
): { expanded: Record<string, unknown>; unresolved: Set<string> } {
  const copy: Record<string, unknown> = { ...entry };
  const unresolved = new Set<string>();
  const expand = (value: string, path: PathSegment[]): string => {
    const result = expandEnv(value, env);
    if (result.missing.length > 0) unresolved.add(String(path[2]));
    for (const variable of result.missing) {
      const text = `Environment variable "${variable}" referenced in configuration but not set (server "${name}")`;
      issues.push(
        disabled
          ? configWarning(path, `${text}; the server is disabled, so this is not an error yet`)
          : configError(path, `${text}; set it, or give a default with \${${variable}:-value}`),
      );
    }
    return result.value;
  };
  for (const key of ['command', 'cwd', 'url'] as const) {
    const value = entry[key];
    if (typeof value === 'string') copy[key] = expand(value, ['mcpServers', name, key]);
  }
  const args = entry['args'];
  if (Array.isArray(args)) {
    copy['args'] = args.map((arg: unknown, i) => (typeof arg === 'string' ? expand(arg, ['mcpServers', name, 'args', i]) : arg));
  }
  const sandbox = entry['sandbox'];
  if (isPlainObject(sandbox) && typeof sandbox['working_dir'] === 'string') {
    copy['sandbox'] = { ...sandbox, working_dir: expand(sandbox['working_dir'], ['mcpServers', name, 'sandbox', 'working_dir']) };
  }
  for (const key of ['env', 'headers'] as const) {
    const map = entry[key];
    if (!isPlainObject(map)) continue;
    // Object.fromEntries, not assignment, so a key named "__proto__" stays an ordinary key.
    copy[key] = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, typeof v === 'string' ? expand(v, ['mcpServers', name, key, k]) : v]));
  }
  return { expanded: copy, unresolved };
}

function checkTransport(name: string, entry: Record<string, unknown>, base: PathSegment[], issues: ConfigIssue[]): TransportKind | undefined {
  // Presence by key, not by value: `"url": ""` next to a command is still two transports.
  const hasCommand = Object.hasOwn(entry, 'command');
  const hasUrl = Object.hasOwn(entry, 'url');
  if (hasCommand && hasUrl) {
    issues.push(configError(base, `server "${name}" cannot have both "command" (stdio) and "url" (HTTP) - specify one transport type only`));
    return undefined;
  }
  if (!hasCommand && !hasUrl) {
    issues.push(configError(base, `server "${name}" must specify either "command" (stdio) or "url" (HTTP) transport`));
    return undefined;
  }
  const inferred: TransportKind = hasCommand ? 'stdio' : 'http';
  const declared = entry['type'];
  let transport: TransportKind = inferred;
  if (declared === 'stdio' || declared === 'http' || declared === 'sse') {
    if (declared === 'stdio' && hasUrl) {
      issues.push(configError([...base, 'type'], `type "stdio" needs "command", but server "${name}" has "url"`));
      return undefined;
    }
    if (declared !== 'stdio' && hasCommand) {
      issues.push(configError([...base, 'type'], `type "${declared}" needs "url", but server "${name}" has "command"`));
      return undefined;
    }
    transport = declared;
  } else if (declared !== undefined) {
    // The schema reports the bad value; no transport can be trusted from here.
    return undefined;
  }
  const misplaced = transport === 'stdio' ? HTTP_ONLY : STDIO_ONLY;
  const owner = transport === 'stdio' ? '"http" and "sse"' : '"stdio"';
  for (const key of misplaced) {
    if (Object.hasOwn(entry, key)) {
      const message = `"${key}" only applies to ${owner} servers; server "${name}" is "${transport}"`;
      issues.push(configError([...base, key], message));
    }
  }
  return transport;
}

function checkValues(
  entry: Record<string, unknown>,
  base: PathSegment[],
  /** As written, before expansion: messages show `${VAR}` rather than a secret. */
  original: Record<string, unknown>,
  unresolved: ReadonlySet<string>,
  issues: ConfigIssue[],
): void {
  const url = entry['url'];
  // A URL still holding `${VAR}` was reported as an unset variable; "bad scheme" would only add noise.
  if (typeof url === 'string' && !unresolved.has('url')) {
    const shown = describeUrl(url, original['url']);
    if (!/^https?:\/\//i.test(url)) {
      issues.push(configError([...base, 'url'], `"url" must start with http:// or https://, got ${shown}`));
    } else if (!URL.canParse(url)) {
      issues.push(configError([...base, 'url'], `"url" is not a valid URL: ${shown}`));
    }
  }

  // Child processes cannot receive NUL bytes; spawn would fail later with a less helpful message.
  const noNul = (value: unknown, path: PathSegment[]) => {
    if (typeof value === 'string' && value.includes('\0')) issues.push(configError(path, 'must not contain a NUL character'));
  };
  noNul(entry['command'], [...base, 'command']);
  noNul(entry['cwd'], [...base, 'cwd']);
  checkSandbox(entry, base, issues);
  const args = entry['args'];
  if (Array.isArray(args)) args.forEach((arg: unknown, i) => noNul(arg, [...base, 'args', i]));

  const env = entry['env'];
  if (isPlainObject(env)) {
    for (const [key, value] of Object.entries(env)) {
      if (key === '' || key.includes('=') || key.includes('\0')) {
        issues.push(configError([...base, 'env', key], `${JSON.stringify(key)} is not a valid environment variable name (it must be non-empty and contain no "=")`));
      }
      noNul(value, [...base, 'env', key]);
    }
  }

  const headers = entry['headers'];
  if (isPlainObject(headers)) {
    for (const [key, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(key)) {
        issues.push(configError([...base, 'headers', key], `${JSON.stringify(key)} is not a valid HTTP header name`));
      }
      // An expanded variable holding a newline would otherwise smuggle extra headers into requests.
      if (typeof value === 'string' && /[\r\n\0]/.test(value)) {
        issues.push(configError([...base, 'headers', key], 'header value must not contain CR, LF or NUL characters'));
      }
    }
  }
}

function checkOAuth(entry: Record<string, unknown>, transport: TransportKind, base: PathSegment[], issues: ConfigIssue[]): void {
  const oauth = entry['oauth'];
  if (oauth === undefined) return;
  const path = [...base, 'oauth'];
  if (transport === 'stdio') {
    issues.push(configWarning(path, '"oauth" only applies to "http" and "sse" servers; ignored'));
    return;
  }
  if (!isPlainObject(oauth)) return;
  for (const key of Object.keys(oauth)) {
    if (!OAUTH_KEYS.includes(key)) issues.push(configWarning([...path, key], `"${key}" is not used by the gateway; ignored`));
  }
  const headers = entry['headers'];
  if (isPlainObject(headers) && Object.keys(headers).some((key) => key.toLowerCase() === 'authorization')) {
    issues.push(configWarning(path, 'a static "Authorization" header is set, so the gateway sends it and runs no OAuth for this server'));
  }
}

function checkSandbox(entry: Record<string, unknown>, base: PathSegment[], issues: ConfigIssue[]): void {
  const sandbox = entry['sandbox'];
  if (!isPlainObject(sandbox)) return;
  const path = [...base, 'sandbox'];
  const workingDir = sandbox['working_dir'];
  if (typeof workingDir === 'string' && workingDir.includes('\0')) {
    issues.push(configError([...path, 'working_dir'], 'must not contain a NUL character'));
  }
  if (workingDir !== undefined && Object.hasOwn(entry, 'cwd')) {
    issues.push(configError([...path, 'working_dir'], '"sandbox.working_dir" and "cwd" both set the working directory: keep one'));
  }
  // In .mcp.json a sandbox is off unless asked for; settings under a disabled one would silently do nothing.
  if (sandbox['enabled'] !== true && Object.keys(sandbox).some((key) => key !== 'enabled')) {
    issues.push(configWarning([...path, 'enabled'], 'the sandbox is off (set "enabled": true), so its other settings have no effect'));
  }
}

/** How a bad URL is shown: as written when it was literal, by its template when it came from the environment. */
function describeUrl(expanded: string, written: unknown): string {
  if (typeof written !== 'string' || written === expanded) return JSON.stringify(expanded);
  const scheme = /^[^:/?#]*:?/.exec(expanded)?.[0] ?? '';
  const shownStart = JSON.stringify(scheme === '' ? expanded.slice(0, 1) : scheme);
  const start = expanded === '' ? 'is empty' : `starts with ${shownStart}`;
  return `${JSON.stringify(written)} (after expansion the value ${start})`;
}

function buildSpec(name: string, transport: TransportKind, data: z.infer<typeof ServerEntrySchema>): ServerSpec {
  const spec: {
    -readonly [K in keyof ServerSpec]: ServerSpec[K];
  } = {
    name,
    transport,
    args: frozenArray(data.args ?? []),
    env: frozenRecord(Object.entries(data.env ?? {})),
    headers: frozenRecord(Object.entries(data.headers ?? {})),
    enabled: data.enabled ?? true,
    isolation: data.isolation ?? 'shared',
    // Servers launched from .mcp.json run as Claude Code runs them unless a sandbox is asked for.
    sandbox: buildSandbox(data.sandbox, false),
  };
  if (data.command !== undefined) spec.command = data.command;
  if (data.cwd !== undefined) spec.cwd = data.cwd;
  if (data.url !== undefined) spec.url = data.url;
  if (data.oauth !== undefined && transport !== 'stdio') spec.oauth = buildOAuth(data.oauth);
  if (data.description !== undefined) spec.description = data.description;
  if (data.timeout_ms !== undefined) spec.timeoutMs = data.timeout_ms;
  return Object.freeze(spec);
}

function buildOAuth(data: z.infer<typeof OAuthEntrySchema>): OAuthSpec {
  const oauth: { -readonly [K in keyof OAuthSpec]: OAuthSpec[K] } = {};
  if (data.clientId !== undefined) oauth.clientId = data.clientId;
  if (data.callbackPort !== undefined) oauth.callbackPort = data.callbackPort;
  if (data.authServerMetadataUrl !== undefined) oauth.authServerMetadataUrl = data.authServerMetadataUrl;
  if (data.scopes !== undefined) oauth.scopes = data.scopes;
  if (data.clientMetadataUrl !== undefined) oauth.clientMetadataUrl = data.clientMetadataUrl;
  return Object.freeze(oauth);
}

/**
 * The stand-in for an entry that did not load: it keeps the server's name (so the policy,
 * list_servers and get_gateway_status see it) and carries the reason; nothing of it can start.
 */
export function failedServerSpec(name: string, entry: unknown, message: string): ServerSpec {
  const written = isPlainObject(entry) ? entry : {};
  const description = written['description'];
  return Object.freeze<ServerSpec>({
    name,
    transport: Object.hasOwn(written, 'url') && !Object.hasOwn(written, 'command') ? 'http' : 'stdio',
    args: frozenArray<string>([]),
    env: frozenRecord<string>([]),
    headers: frozenRecord<string>([]),
    enabled: true,
    isolation: 'shared',
    sandbox: buildSandbox(undefined, false),
    ...(typeof description === 'string' ? { description } : {}),
    configError: message,
  });
}
