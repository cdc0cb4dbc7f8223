// Loading the configuration files again while the gateway runs (the coordinator applies what loaded).
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

import { formatIssues, loadRulesFile, readJsonFile, serversFileEnv } from '../../config/load.js';
import { hasErrors } from '../../config/issues.js';
import { failedServerSpec, parseServersConfig } from '../../config/serversFile.js';
import type { Env } from '../../config/expandEnv.js';
import type { ConfigIssue, RulesConfig, ServerSpec } from '../../config/types.js';
import { ConfigError } from '../../config/configError.js';
import { compilePolicy } from '../../policy/engine.js';
import type { Policy } from '../../policy/types.js';
import { errorMessage, isPlainObject } from '../../values.js';

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
    throw new ConfigError(path, `Gateway rules in ${path} cannot be compiled: ${errorMessage(err)}`);
  }
  return { rules: config, policy, warnings };
}

/** What a call to a server whose entry did not load is told (and list_servers, status and the log show). */
function describeEntryErrors(name: string, path: string, issues: readonly ConfigIssue[]): string {
  // Agents see this (list_servers, call results): a URL written with credentials in it is
  // quoted by the "url" errors, and its user and password must not travel with it.
  const text = formatIssues(issues).replace(/\/\/[^/@\s"]*@/g, '//<credentials>@');
  return `Server '${name}' is not started: its entry in ${path} has errors:\n${text}`;
}

/** The message for server entries that did not load, with every error's JSON path. */
export function describeFailedServers(path: string, failed: readonly FailedServer[], previous: ReadonlyMap<string, { readonly configError?: string }>): string {
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
