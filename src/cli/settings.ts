import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { LevelWithSilent } from 'pino';
import { DEFAULT_DEBOUNCE_MS, MAX_DEBOUNCE_MS, MIN_DEBOUNCE_MS } from './configWatcher.js';
import { SERVE_OPTIONS, type ServeOptionName } from './options.js';

export interface ServeSettings {
  readonly mcpConfigFlag?: string;
  readonly rulesFlag?: string;
  readonly agent?: string;
  readonly defaultAgent?: string;
  readonly debug: boolean;
  readonly logLevel: LevelWithSilent;
  /** null when the audit log is off */
  readonly auditLog: string | null;
  readonly auditArgs: 'hash' | 'full';
  readonly initStrategy: 'lazy' | 'eager';
  readonly timeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly reloadDebounceMs: number;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export type ParsedFlags = Partial<Record<ServeOptionName, unknown>>;

const TRUE_WORDS = new Set(['true', '1', 'yes']);

/** flag > environment variable > default, with a message naming the flag or variable on bad input. */
export function resolveServeSettings(flags: ParsedFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): ServeSettings {
  const pick = (name: ServeOptionName): { value: unknown; from: string } | undefined => {
    const flag = flags[name];
    if (flag !== undefined && flag !== '') return { value: flag, from: `--${name}` };
    const spec = SERVE_OPTIONS[name];
    const envName = 'env' in spec ? spec.env : undefined;
    const envValue = envName ? env[envName] : undefined;
    if (envValue !== undefined && envValue !== '') return { value: envValue, from: envName! };
    return undefined;
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
  const debugPick = pick('debug');
  const debug = debugPick === undefined ? false : debugPick.value === true || TRUE_WORDS.has(String(debugPick.value).toLowerCase());

  const auditRaw = str('audit-log');
  const auditLog =
    auditRaw === 'off' ? null : expandHome(auditRaw ?? '~/.cache/agent-mcp-gateway/logs/audit.jsonl', env['HOME'], cwd);

  const timeoutMs = positiveInt('timeout-ms', 60_000);
  const maxTimeoutMs = positiveInt('max-timeout-ms', 600_000);
  if (timeoutMs > maxTimeoutMs) throw new SettingsError(`--timeout-ms (${timeoutMs}) exceeds --max-timeout-ms (${maxTimeoutMs})`);

  const mcpConfigFlag = flags['mcp-config'];
  const rulesFlag = flags['rules'];
  const agent = str('agent');
  const defaultAgent = str('default-agent');
  return {
    ...(typeof mcpConfigFlag === 'string' && mcpConfigFlag !== '' ? { mcpConfigFlag } : {}),
    ...(typeof rulesFlag === 'string' && rulesFlag !== '' ? { rulesFlag } : {}),
    ...(agent !== undefined ? { agent } : {}),
    ...(defaultAgent !== undefined ? { defaultAgent } : {}),
    debug,
    logLevel: choice<LevelWithSilent>('log-level', 'info'),
    auditLog,
    auditArgs: choice<'hash' | 'full'>('audit-args', 'hash'),
    initStrategy: choice<'lazy' | 'eager'>('init-strategy', 'lazy'),
    timeoutMs,
    maxTimeoutMs,
    reloadDebounceMs: intInRange('reload-debounce-ms', DEFAULT_DEBOUNCE_MS, MIN_DEBOUNCE_MS, MAX_DEBOUNCE_MS),
  };
}

export function expandHome(path: string, home: string | undefined, cwd: string): string {
  const h = home ?? homedir();
  const expanded = path === '~' ? h : path.startsWith('~/') ? join(h, path.slice(2)) : path;
  return isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
}
