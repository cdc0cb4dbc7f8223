import type { SignalWireConfig, SignalWireSettingName } from '../config/signalwireConfig.js';
import { SERVE_OPTIONS, type ServeOptionName } from './options.js';

// Where a serve setting comes from and how each kind is checked: flag > environment variable >
// SignalWire config.json (--config) > default, with a message naming the flag, variable or
// JSON path on bad input.

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export type ParsedFlags = Partial<Record<ServeOptionName, unknown>>;
type Env = Readonly<Record<string, string | undefined>>;

/** A value as given, and where it was given (a flag, a variable, or a path in config.json). */
export interface Given {
  readonly value: unknown;
  readonly from: string;
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);

/** Longest session timeout or sweep interval: a day is far beyond any call, and well inside a Node.js timer. */
const MAX_SECONDS = 86_400;

/** The flag, else its environment variable; an empty one counts as not given. */
export function fromFlagOrEnv(flags: ParsedFlags, env: Env, name: ServeOptionName): Given | undefined {
  const flag = flags[name];
  if (flag !== undefined && flag !== '') return { value: flag, from: `--${name}` };
  const spec = SERVE_OPTIONS[name];
  const envName = 'env' in spec ? spec.env : undefined;
  const envValue = envName ? env[envName] : undefined;
  if (envValue !== undefined && envValue !== '') return { value: envValue, from: envName! };
  return undefined;
}

export type SettingReader = ReturnType<typeof settingReader>;

/** Readers of each kind of setting; each throws SettingsError naming where a bad value came from. */
export function settingReader(flags: ParsedFlags, env: Env, signalWire: { path: string; config: SignalWireConfig } | undefined) {
  const pick = (name: ServeOptionName): Given | undefined => {
    const given = fromFlagOrEnv(flags, env, name);
    if (given !== undefined || signalWire === undefined) return given;
    const inFile = signalWire.config.settings[name as SignalWireSettingName];
    return inFile === undefined ? undefined : { value: inFile.value, from: `${signalWire.path}: ${inFile.path}` };
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
  const positiveSeconds = (name: ServeOptionName, fallback: number): number => {
    const v = pick(name);
    if (!v) return fallback;
    const n = Number(v.value);
    if (!Number.isFinite(n) || n <= 0 || n > MAX_SECONDS) {
      throw new SettingsError(`${v.from}: expected a number of seconds above 0 and at most ${MAX_SECONDS}, got '${String(v.value)}'`);
    }
    return n;
  };
  const bool = (name: ServeOptionName): boolean => {
    const v = pick(name);
    return v === undefined ? false : v.value === true || TRUE_WORDS.has(String(v.value).toLowerCase());
  };
  /** A comma-separated flag, each entry in its canonical form; undefined when not given. */
  const normalizedList = (name: ServeOptionName, normalize: (entry: string) => string | undefined, refusal: string): string[] | undefined => {
    const given = pick(name);
    if (!given) return undefined;
    return String(given.value)
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')
      .map((entry) => {
        const value = normalize(entry);
        if (value === undefined) throw new SettingsError(`${given.from}: '${entry}' ${refusal}`);
        return value;
      });
  };
  return { pick, str, choice, positiveInt, intInRange, positiveSeconds, bool, normalizedList };
}
