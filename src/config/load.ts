import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './configError.js';
import type { Env } from './expandEnv.js';
import { hasErrors } from './issues.js';
import { findJsonSyntaxError } from './jsonError.js';
import { parseRulesConfig } from './rulesFile.js';
import { parseServersConfig } from './serversFile.js';
import { parseSignalWireConfig, type SignalWireConfig } from './signalwireConfig.js';
import type { ConfigIssue, RulesConfig, ServersConfig } from './types.js';
import { errorMessage } from '../values.js';

// Reading and parsing are synchronous: the files are small, and a loader that finishes before
// it returns is simpler to reason about on reload (nothing can change between read and swap).

export interface Loaded<T> {
  readonly config: T;
  readonly warnings: ConfigIssue[];
}

/** @throws ConfigError when the file is missing, unreadable, not JSON, or has any error. */
export function loadServersFile(path: string, env: Env): Loaded<ServersConfig> {
  const raw = readJsonFile(path, 'MCP server configuration');
  const { config, issues } = parseServersConfig(raw, serversFileEnv(path, env));
  return finish(path, 'MCP server configuration', config, issues);
}

/**
 * The variables `${...}` in a servers file expands from: the environment, plus
 * `MCP_CONFIG_DIR`, the folder of the file itself (whatever the environment says), so a file
 * can name scripts beside it and work from any working directory.
 */
export function serversFileEnv(path: string, env: Env): Env {
  return { ...env, [CONFIG_DIR_VARIABLE]: dirname(resolve(path)) };
}

const CONFIG_DIR_VARIABLE = 'MCP_CONFIG_DIR';

/** @throws ConfigError when the file is missing, unreadable, not JSON, or has any error. */
export function loadRulesFile(path: string): Loaded<RulesConfig> {
  const raw = readJsonFile(path, 'gateway rules');
  const { config, issues } = parseRulesConfig(raw);
  return finish(path, 'gateway rules', config, issues);
}

function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(path, `Configuration file not found: ${path} (${what})`);
    throw new ConfigError(path, `Cannot read ${what} file ${path}: ${errorMessage(err)}`);
  }
}

/**
 * One line per issue, severity padded so paths line up:
 * `error   agents.backend.alow: unknown key "alow" (did you mean "allow"?)`.
 */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `${issue.severity.padEnd(7)} ${issue.path === '' ? '(top level)' : issue.path}: ${issue.message}`).join('\n');
}

/**
 * SignalWire's config.json (`--config`): its services and the settings it gives, `${VAR|default}` substituted.
 * @throws ConfigError when the file is missing, unreadable, not JSON, or has any error.
 */
export function loadSignalWireFile(path: string, env: Env, cwd: string): Loaded<SignalWireConfig> {
  const what = 'SignalWire gateway configuration';
  const { config, issues } = parseSignalWireConfig(readTextFile(path, what), env, cwd);
  return finish(path, what, config, issues);
}

export function readJsonFile(path: string, what: string): unknown {
  let text = readTextFile(path, what);
  // Editors on Windows like to write a byte-order mark, which JSON.parse rejects.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const problem = findJsonSyntaxError(text);
    const detail = problem === undefined ? 'not valid JSON' : `${problem.reason} at line ${problem.line}, column ${problem.column}`;
    throw new ConfigError(path, `Invalid JSON in ${path}: ${detail}`);
  }
}

function finish<T>(path: string, what: string, config: T | undefined, issues: ConfigIssue[]): Loaded<T> {
  if (config === undefined || hasErrors(issues)) {
    const errors = issues.filter((issue) => issue.severity === 'error').length;
    const warnings = issues.length - errors;
    const counts = `${plural(errors, 'error')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`;
    // The message carries every issue, so whoever prints only `message` still shows them all.
    throw new ConfigError(path, `Invalid ${what} in ${path} (${counts}):\n${formatIssues(issues)}`, issues);
  }
  return { config, warnings: issues };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
