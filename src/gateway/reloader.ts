// Loading the configuration files again while the gateway runs, and the record of how that went.
//
// Each file reloads on its own: a broken `.mcp.json` never holds up a valid rules change, and
// the reverse. A file is read, env-expanded, validated in full and (rules) compiled before
// anything is swapped; any error keeps the last good configuration and is recorded with the
// JSON paths the validators give.
//
// `.mcp.json` is applied per server where it can be: when the only errors are inside some
// server entries (an unset `${VAR}`, a bad field), the valid entries apply and each broken
// one keeps its last good configuration (or, if it has none, is listed as a failed server
// carrying its errors). An error outside the entries (not JSON, an unknown top-level key,
// `mcpServers` not an object) fails the file. The start-up load is the same with no last good
// configuration, so one entry with an unset variable never stops the gateway.

import { formatIssues, loadRulesFile, readJsonFile, serversFileEnv } from '../config/load.js';
import { hasErrors } from '../config/issues.js';
import { isPlainObject } from '../values.js';
import { failedServerSpec, parseServersConfig } from '../config/serversFile.js';
import type { Env } from '../config/expandEnv.js';
import type { ConfigIssue, RulesConfig, ServerSpec } from '../config/types.js';
import { ConfigError } from '../config/configError.js';
import { compilePolicy } from '../policy/engine.js';
import type { Policy } from '../policy/types.js';

export type ConfigFileKey = 'mcp_config' | 'gateway_rules';
export const CONFIG_FILE_KEYS: readonly ConfigFileKey[] = ['mcp_config', 'gateway_rules'];

/** What get_gateway_status shows per file under `reload`. Timestamps are ISO 8601 UTC. */
export interface FileReloadStatus {
  /** Reloads tried since start (the initial load is not counted). */
  readonly attempts: number;
  /** Reloads that changed the running configuration (fully, or partly: see failed_servers). */
  readonly successes: number;
  readonly last_attempt: string | null;
  readonly last_success: string | null;
  /** Why the last attempt failed, or what part of it did not apply; null when it applied in full. */
  readonly last_error: string | null;
  /**
   * Warnings about the configuration in force from this file, as `path: message`. The rules
   * file also gets the cross-checks against the servers in force (rules naming servers that
   * do not exist), refreshed whenever either file reloads.
   */
  readonly warnings: readonly string[];
  /** The configuration revision this file's last successful load produced (1 = the start-up load). */
  readonly revision: number;
  /** mcp_config only: servers whose new entry is invalid and that kept their last good configuration (or were not added). */
  readonly failed_servers?: readonly string[];
}

/** A server entry that did not load, with its issues. */
export interface FailedServer {
  readonly name: string;
  readonly issues: readonly ConfigIssue[];
}

export interface ServersReload {
  /**
   * The servers to run, in file order: valid entries, plus for each failed one its last good
   * spec, or a failed stand-in (ServerSpec.configError) when it has none.
   */
  readonly specs: readonly ServerSpec[];
  readonly warnings: readonly ConfigIssue[];
  readonly failed: readonly FailedServer[];
}

const SERVERS_WHAT = 'MCP server configuration';

/**
 * Loads `.mcp.json` for a reload, server by server (see the header comment).
 * @throws ConfigError when the file cannot be used at all.
 */
export function loadServersForReload(path: string, env: Env, previous: ReadonlyMap<string, ServerSpec>): ServersReload {
  const raw = readJsonFile(path, SERVERS_WHAT);
  const fileEnv = serversFileEnv(path, env);
  const whole = parseServersConfig(raw, fileEnv);
  if (whole.config) return { specs: whole.config.servers, warnings: whole.issues, failed: [] };

  // Errors somewhere. The top level alone first: with the entries left out, any error left is
  // one no single server owns, and the file as a whole is unusable.
  const entries = isPlainObject(raw) ? raw['mcpServers'] : undefined;
  if (!isPlainObject(raw) || !isPlainObject(entries)) throw invalidFile(path, whole.issues);
  const top = parseServersConfig({ ...raw, mcpServers: {} }, fileEnv);
  if (hasErrors(top.issues)) throw invalidFile(path, whole.issues);

  const specs: ServerSpec[] = [];
  const warnings: ConfigIssue[] = [...top.issues];
  const failed: FailedServer[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    // A computed key defines an own property, so even a server named "__proto__" stays itself.
    const one = parseServersConfig({ mcpServers: { [name]: entry } }, fileEnv);
    if (one.config) {
      specs.push(...one.config.servers);
      warnings.push(...one.issues);
      continue;
    }
    const issues = one.issues.filter((issue) => issue.severity === 'error');
    failed.push({ name, issues });
    const kept = previous.get(name);
    specs.push(kept && kept.configError === undefined ? kept : failedServerSpec(name, entry, describeEntryErrors(name, path, issues)));
  }
  return { specs, warnings, failed };
}

export interface RulesReload {
  readonly rules: RulesConfig;
  readonly policy: Policy;
  readonly warnings: readonly ConfigIssue[];
}

/**
 * Loads and compiles the rules file for a reload.
 * @throws ConfigError when it is missing, not JSON, invalid, or cannot be compiled.
 */
export function loadRulesForReload(path: string): RulesReload {
  const { config, warnings } = loadRulesFile(path);
  let policy: Policy;
  try {
    policy = compilePolicy(config);
  } catch (err) {
    // Validation should have caught whatever compilePolicy rejects; keep running either way.
    throw new ConfigError(path, `Gateway rules in ${path} cannot be compiled: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { rules: config, policy, warnings };
}

/** The per-file counters and last outcomes behind `reload` in get_gateway_status. */
export class ReloadLedger {
  readonly #files = new Map<ConfigFileKey, MutableStatus>();
  readonly #now: () => number;
  #cross: string[];

  constructor(
    initial: {
      revision: number;
      /** Each file's own warnings from the start-up load. */
      warnings: Readonly<Record<ConfigFileKey, readonly ConfigIssue[]>>;
      /** Rules against servers, from the start-up load. */
      cross: readonly ConfigIssue[];
    },
    now: () => number = Date.now,
  ) {
    this.#now = now;
    this.#cross = describeIssues(initial.cross);
    for (const key of CONFIG_FILE_KEYS) {
      this.#files.set(key, {
        attempts: 0,
        successes: 0,
        last_attempt: null,
        last_success: null,
        last_error: null,
        warnings: describeIssues(initial.warnings[key]),
        revision: initial.revision,
        failed_servers: key === 'mcp_config' ? [] : undefined,
      });
    }
  }

  attempted(key: ConfigFileKey): void {
    const file = this.#file(key);
    file.attempts++;
    file.last_attempt = new Date(this.#now()).toISOString();
  }

  failed(key: ConfigFileKey, message: string): void {
    this.#file(key).last_error = message;
  }

  succeeded(
    key: ConfigFileKey,
    revision: number,
    warnings: readonly ConfigIssue[],
    partial?: { message: string; servers: readonly string[] },
  ): void {
    const file = this.#file(key);
    file.successes++;
    file.last_success = file.last_attempt ?? new Date(this.#now()).toISOString();
    file.last_error = partial?.message ?? null;
    file.warnings = describeIssues(warnings);
    file.revision = revision;
    if (key === 'mcp_config') file.failed_servers = [...(partial?.servers ?? [])];
  }

  /** The rules-against-servers warnings for the configuration now in force. */
  crossChecked(cross: readonly ConfigIssue[]): void {
    this.#cross = describeIssues(cross);
  }

  status(): Record<ConfigFileKey, FileReloadStatus> {
    const out = {} as Record<ConfigFileKey, FileReloadStatus>;
    for (const key of CONFIG_FILE_KEYS) {
      const { failed_servers, ...rest } = this.#file(key);
      const warnings = key === 'gateway_rules' ? [...rest.warnings, ...this.#cross] : [...rest.warnings];
      out[key] = { ...rest, warnings, ...(failed_servers ? { failed_servers: [...failed_servers] } : {}) };
    }
    return out;
  }

  #file(key: ConfigFileKey): MutableStatus {
    const file = this.#files.get(key);
    if (!file) throw new Error(`unknown config file key ${key}`);
    return file;
  }
}

type MutableStatus = { -readonly [K in keyof FileReloadStatus]: FileReloadStatus[K] } & {
  failed_servers: string[] | undefined;
};

/** `path: message` per issue, the form logs and status share. */
export function describeIssues(issues: readonly ConfigIssue[]): string[] {
  return issues.map((issue) => `${issue.path === '' ? '(top level)' : issue.path}: ${issue.message}`);
}

/** What a call to a server whose entry did not load is told (and list_servers, status and the log show). */
function describeEntryErrors(name: string, path: string, issues: readonly ConfigIssue[]): string {
  // Agents see this (list_servers, call results): a URL written with credentials in it is
  // quoted by the "url" errors, and its user and password must not travel with it.
  const text = formatIssues(issues).replace(/\/\/[^/@\s"]*@/g, '//<credentials>@');
  return `Server '${name}' is not started: its entry in ${path} has errors:\n${text}`;
}

/** The message for server entries that did not load, with every error's JSON path. */
export function describeFailedServers(
  path: string,
  failed: readonly FailedServer[],
  previous: ReadonlyMap<string, { readonly configError?: string }>,
): string {
  const lines = failed.map((f) => {
    const kept = previous.get(f.name);
    const fate = kept && kept.configError === undefined ? 'keeps its last good configuration' : 'listed as failed, not started';
    return `server "${f.name}" ${fate}:\n${formatIssues(f.issues)}`;
  });
  return `${failed.length} server entr${failed.length === 1 ? 'y' : 'ies'} in ${path} did not load:\n${lines.join('\n')}`;
}

function invalidFile(path: string, issues: readonly ConfigIssue[]): ConfigError {
  return new ConfigError(path, `Invalid ${SERVERS_WHAT} in ${path} (${countErrors(issues)}):\n${formatIssues(issues)}`, issues);
}

function countErrors(issues: readonly ConfigIssue[]): string {
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  const warnings = issues.length - errors;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`;
}
