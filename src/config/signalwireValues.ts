import { expandEnv, type Env } from './expandEnv.js';
import { configWarning, jsonType } from './issues.js';
import type { PathSegment } from './jsonPath.js';
import { suggestionSuffix } from './suggest.js';
import type { ConfigIssue } from './types.js';
import { isPlainObject } from '../values.js';

// How a SignalWire config.json is read, value by value (config/signalwireConfig.ts).
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
// suggestion, never errors.

/** Keys SignalWire's files may hold that nothing here uses, and why. */
const IGNORED: Readonly<Record<string, string>> = {
  security: 'SignalWire\'s gateway only logs the "security" section; ignored (security headers are always sent here)',
  'sandbox.drop_privileges': "not supported: the child runs as the gateway's user (run the gateway as a non-root user, as the Docker image does)",
  'sandbox.allowed_paths': 'not enforced (SignalWire documents it as future work and ignores it too)',
  'sandbox.note': 'a comment; ignored',
  'logging.format': 'logs are JSON lines here; ignored',
};

/** Warns about keys SignalWire's files may hold and nothing here reads (its gateway ignores them too). */
export function warnUnknown(obj: Record<string, unknown>, base: PathSegment[], known: readonly string[], scope: string, issues: ConfigIssue[]): void {
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
export function substitute(value: unknown, path: PathSegment[], env: Env, issues: ConfigIssue[]): unknown {
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
export function coerceNumber(value: unknown): unknown {
  return typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/** SignalWire's boolean coercion where a boolean belongs: "true" / "false" in any case. */
export function coerceBoolean(value: unknown): unknown {
  return typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
}

/** A bad value, described: a string is never shown (it may be a secret). */
export function describe(value: unknown): string {
  return typeof value === 'string' ? (value === '' ? 'an empty string' : 'a string that is not one') : jsonType(value);
}
