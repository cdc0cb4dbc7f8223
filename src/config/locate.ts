import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './configError.js';

// Where the two config files come from. Each file is resolved on its own, so they may come
// from different places. An explicit choice (flag or env) is final: falling through to some
// other file when the named one is missing would run the gateway on a config nobody asked for.

export type ConfigKind = 'mcp' | 'rules';
export type ConfigSource = 'flag' | 'env' | 'cwd' | 'home' | 'config-dir';

export interface LocateOptions {
  /** Value of --mcp-config / --rules, if given. */
  readonly flag?: string | undefined;
  /** Value of GATEWAY_MCP_CONFIG / GATEWAY_RULES, if set. Empty counts as unset, as in the reference. */
  readonly envValue?: string | undefined;
  /** Absolute. */
  readonly cwd: string;
  /** Absolute. */
  readonly home: string;
}

export interface LocatedConfig {
  readonly path: string;
  readonly source: ConfigSource;
}

interface KindInfo {
  readonly fileName: string;
  readonly flag: string;
  readonly envVar: string;
  readonly what: string;
}

const KINDS: Readonly<Record<ConfigKind, KindInfo>> = {
  mcp: { fileName: '.mcp.json', flag: '--mcp-config', envVar: 'GATEWAY_MCP_CONFIG', what: 'MCP server configuration' },
  rules: { fileName: '.mcp-gateway-rules.json', flag: '--rules', envVar: 'GATEWAY_RULES', what: 'gateway rules' },
};

/** @throws ConfigError when the chosen file does not exist, naming every place that was tried. */
export function locateConfigFile(kind: ConfigKind, opts: LocateOptions): LocatedConfig {
  const info = KINDS[kind];

  if (opts.flag !== undefined) {
    if (opts.flag === '') throw new ConfigError('', `${info.flag} was given an empty path`);
    return explicit(resolveUserPath(opts.flag, opts), 'flag', info.flag, info);
  }
  if (opts.envValue !== undefined && opts.envValue !== '') {
    return explicit(resolveUserPath(opts.envValue, opts), 'env', info.envVar, info);
  }

  const candidates: LocatedConfig[] = [
    { path: join(opts.cwd, info.fileName), source: 'cwd' },
    { path: join(opts.home, '.config', 'agent-mcp-gateway', info.fileName), source: 'home' },
    { path: join(opts.cwd, 'config', info.fileName), source: 'config-dir' },
  ];
  const found = candidates.find((candidate) => isFile(candidate.path));
  if (found !== undefined) return found;

  const tried = candidates.map((candidate) => `  ${candidate.path}`).join('\n');
  throw new ConfigError(
    candidates[0]!.path,
    `Configuration file not found: no ${info.what} (${info.fileName}) in any of these places, tried in order:\n` +
      `${tried}\n` +
      `Create one (agent-mcp-gateway init writes an example), pass ${info.flag} PATH, or set ${info.envVar}.`,
  );
}

/** `~` and `~/x` mean the home directory; anything relative is relative to cwd. */
export function resolveUserPath(path: string, opts: { readonly cwd: string; readonly home: string }): string {
  if (path === '~') return opts.home;
  if (path.startsWith('~/')) return join(opts.home, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(opts.cwd, path);
}

function explicit(path: string, source: ConfigSource, origin: string, info: KindInfo): LocatedConfig {
  const kind = entryKind(path);
  if (kind === 'missing') {
    throw new ConfigError(path, `Configuration file not found: ${path} (${info.what}, from ${origin}; no other location is searched when ${origin} is set)`);
  }
  if (kind === 'other') throw new ConfigError(path, `${path} (${info.what}, from ${origin}) is not a file`);
  return { path, source };
}

function isFile(path: string): boolean {
  return entryKind(path) === 'file';
}

function entryKind(path: string): 'file' | 'other' | 'missing' {
  try {
    return statSync(path).isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}
