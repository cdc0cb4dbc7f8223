// Environment references in `.mcp.json` string values. Two default syntaxes are accepted so
// that configs written for Claude Code (`${VAR:-default}`) and for the SignalWire gateway
// (`${VAR|default}`) both work unchanged. Deliberate choices:
// - An empty value counts as set, as in Claude Code (not POSIX `:-`), so the two tools agree
//   on what a file means.
// - The reference body ends at the first `}`, so `${A:-${B}}` is not nested expansion; Claude
//   Code behaves the same, and a second pass would let a variable's value inject references.
// - Expanded text is never rescanned: a value containing `${X}` is inserted literally.
// - The default is everything after the first separator: `${A:-b:-c}` defaults to `b:-c`.
//   (Claude Code's `split(':-', 2)` drops the tail and gives `b`, which nobody writes on purpose.)

export interface Expansion {
  readonly value: string;
  /** Names of unset variables that had no default, each once, in order of first use. */
  readonly missing: string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

const REFERENCE = /\$\{([^}]+)\}/g;

export function expandEnv(value: string, env: Env): Expansion {
  const missing: string[] = [];
  const expanded = value.replace(REFERENCE, (whole: string, body: string) => {
    const { name, fallback } = splitReference(body);
    const found = lookup(env, name);
    if (found !== undefined) return found;
    if (fallback !== undefined) return fallback;
    if (!missing.includes(name)) missing.push(name);
    return whole;
  });
  return { value: expanded, missing };
}

/** The names of the variables `value` refers to, each once, in order. */
export function referencedVariables(value: string): string[] {
  const names: string[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    const { name } = splitReference(match[1]!);
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Splits `NAME:-default` or `NAME|default` at whichever separator comes first. */
function splitReference(body: string): { name: string; fallback?: string } {
  const colonDash = body.indexOf(':-');
  const pipe = body.indexOf('|');
  let at = -1;
  let width = 0;
  if (colonDash >= 0 && (pipe < 0 || colonDash < pipe)) {
    at = colonDash;
    width = 2;
  } else if (pipe >= 0) {
    at = pipe;
    width = 1;
  }
  if (at < 0) return { name: body };
  return { name: body.slice(0, at), fallback: body.slice(at + width) };
}

function lookup(env: Env, name: string): string | undefined {
  // Own properties only: `${constructor}` must not resolve to something on Object.prototype.
  if (!Object.hasOwn(env, name)) return undefined;
  const found = env[name];
  return typeof found === 'string' ? found : undefined;
}
