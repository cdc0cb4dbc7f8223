// What get_gateway_status shows one caller of the gateway-wide records: its own metrics, and
// of the reload record only what concerns it. Configuration warnings are `path: message`
// lines; a line about another agent's rules or a server the caller may not use is left out,
// since it would name them. What remains has URL credentials and tokens redacted.
import { formatPath } from '../config/jsonPath.js';
import { redactCredentials } from '../redact.js';
import type { ConfigFileKey, FileReloadStatus } from './reloader.js';

type Metrics<S> = { by_operation: Record<string, S>; by_agent: Record<string, Record<string, S>> };

/** Every operation's totals (counts and latencies name nobody), and the caller's own line of by_agent. */
export function callerMetrics<S>(metrics: Metrics<S>, agentId: string): Metrics<S> {
  const own = Object.hasOwn(metrics.by_agent, agentId) ? metrics.by_agent[agentId] : undefined;
  return { by_operation: metrics.by_operation, by_agent: own === undefined ? {} : { [agentId]: own } };
}

export function callerReloadView(
  files: Record<ConfigFileKey, FileReloadStatus>,
  agentId: string,
  /** Whether the caller's rules allow this server (configured or not: a failed entry may not be). */
  mayUse: (server: string) => boolean,
): Record<ConfigFileKey, FileReloadStatus> {
  const concerns = (line: string): boolean => {
    const colon = line.indexOf(': ');
    const path = colon === -1 ? line : line.slice(0, colon);
    if (underKey(path, 'agents')) return startsWithPath(path, formatPath(['agents', agentId]));
    if (underKey(path, 'mcpServers')) {
      const server = serverOf(path);
      return server !== undefined && mayUse(server);
    }
    return true;
  };
  const view = (file: FileReloadStatus): FileReloadStatus => ({
    ...file,
    last_error: file.last_error === null ? null : redactCredentials(errorLinesFor(file.last_error, concerns, mayUse)),
    warnings: file.warnings.filter(concerns).map(redactCredentials),
    ...(file.failed_servers !== undefined ? { failed_servers: file.failed_servers.filter(mayUse) } : {}),
  });
  return { mcp_config: view(files.mcp_config), gateway_rules: view(files.gateway_rules) };
}

/**
 * A reload error as the caller may see it: issue lines (`error   path: message`) only where
 * `concerns` keeps them, and a failed server's block (`server "x" ...:` and its issues) only
 * for a server the caller may use. Other lines (the summary) stay.
 */
function errorLinesFor(text: string, concerns: (line: string) => boolean, mayUse: (server: string) => boolean): string {
  let inHiddenBlock = false;
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    const block = /^server "((?:[^"\\]|\\.)*)" /.exec(line);
    if (block !== undefined && block !== null) {
      inHiddenBlock = !mayUse(block[1]!);
      if (!inHiddenBlock) kept.push(line);
      continue;
    }
    const issue = /^(?:error|warning)\s+(.*)$/.exec(line);
    if (issue !== null) {
      if (!inHiddenBlock && concerns(issue[1]!)) kept.push(line);
      continue;
    }
    inHiddenBlock = false;
    kept.push(line);
  }
  return kept.join('\n');
}

function underKey(path: string, key: string): boolean {
  return path.startsWith(`${key}.`) || path.startsWith(`${key}[`);
}

/** `path` is `prefix` or lies below it (`agents.a` covers `agents.a.allow`, not `agents.ab`). */
function startsWithPath(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  const next = path.charAt(prefix.length);
  return next === '' || next === '.' || next === '[';
}

/** The server a `mcpServers.<name>...` path is about, as formatPath wrote it; undefined when it cannot be read. */
function serverOf(path: string): string | undefined {
  const rest = path.slice('mcpServers'.length);
  if (rest.startsWith('.')) return /^[A-Za-z0-9_$-]+/.exec(rest.slice(1))?.[0];
  const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest)?.[1];
  if (quoted === undefined) return undefined;
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}
