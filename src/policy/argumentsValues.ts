import { MAX_ARGUMENT_VALUE_LENGTH, POINTER_WILDCARD } from '../config/argumentRules.js';
import { canonicalResourceUri } from '../config/resourceUri.js';
import { isPlainObject } from '../values.js';

// The values an argument condition is decided on: found by JSON Pointer, and for `path` and
// `url` conditions brought into one canonical spelling, which is then what the server gets.

export type Normalized = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
// C0 controls and DEL: no file name a caller means holds one, and NUL ends a name in C.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A POSIX path in normal form: absolute, no empty, "." or ".." segments, no trailing "/" (but
 * the root). Refused as ambiguous, since servers differ on them: a relative path (relative to
 * what?), ".." above the root, a backslash (a separator on Windows), a percent-escape (some
 * servers decode `%2e%2e` or `%2F`, most do not), a control character.
 */
export function normalizePath(value: string): Normalized {
  if (value.length > MAX_ARGUMENT_VALUE_LENGTH) return { ok: false, reason: `is longer than ${MAX_ARGUMENT_VALUE_LENGTH} characters` };
  if (CONTROL.test(value)) return { ok: false, reason: 'contains a control character' };
  if (value.includes('\\')) return { ok: false, reason: 'contains a backslash, which some servers read as a separator' };
  if (PERCENT_ESCAPE.test(value)) return { ok: false, reason: 'contains a percent-escape, which some servers decode (%2e, %2F)' };
  if (!value.startsWith('/')) return { ok: false, reason: 'is not an absolute path' };
  const out: string[] = [];
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return { ok: false, reason: 'climbs above the root with ".."' };
      out.pop();
    } else {
      out.push(segment);
    }
  }
  return { ok: true, value: `/${out.join('/')}` };
}

/**
 * A URL in canonical form: the resource URI canonical form (config/resourceUri.ts: scheme and
 * host in lowercase, unreserved escapes decoded, dot segments and "//" resolved, `%2F`,
 * backslashes, userinfo and rewritten hosts refused), then serialized by the WHATWG parser, so
 * `https://x.com` is `https://x.com/` as every client sends it. The host is then checked on
 * what that parser made of it (for http, https, ws, wss and ftp), since spellings such as
 * `https:x.com` (no "//") reach it unchecked: one trailing dot goes (`x.com.` is the DNS
 * name `x.com`, which a rule on `https://x.com/**` must cover), and userinfo, empty labels
 * and any percent-escape in the host as written (`x.com%2e`) are refused.
 */
export function normalizeUrl(value: string): Normalized {
  if (value.length > MAX_ARGUMENT_VALUE_LENGTH) return { ok: false, reason: `is longer than ${MAX_ARGUMENT_VALUE_LENGTH} characters` };
  const canonical = canonicalResourceUri(value);
  if (!canonical.ok) return { ok: false, reason: canonical.reason };
  let url: URL;
  try {
    url = new URL(canonical.uri);
  } catch {
    return { ok: false, reason: 'is not a URL that WHATWG URL parsers accept' };
  }
  const problem = hostProblem(value, url);
  if (problem !== undefined) return { ok: false, reason: problem };
  const href = url.href;
  if (href.length > MAX_ARGUMENT_VALUE_LENGTH) return { ok: false, reason: `is longer than ${MAX_ARGUMENT_VALUE_LENGTH} characters once normalized` };
  return { ok: true, value: href };
}

// The schemes whose host a WHATWG parser reads as a DNS name or an IP address, finding it
// after any number of slashes (even none).
const SPECIAL_SCHEME = /^(?:https?|wss?|ftp):/i;

/** Why the host of `url` (parsed from `value`) has no single reading, or undefined after dropping one trailing dot in place. */
function hostProblem(value: string, url: URL): string | undefined {
  // Other schemes' hosts are names to their servers alone (`screenshot://Shot.`), left as written.
  if (!SPECIAL_SCHEME.test(value)) return undefined;
  if (/^[^:]*:\/*([^/?#]*)/.exec(value)?.[1]?.includes('%') === true) return `has a percent-escape in its ${url.protocol} host, which URL parsers decode`;
  if (url.username !== '' || url.password !== '') return `has userinfo ("user@") before its ${url.protocol} host, which servers read differently`;
  const host = url.hostname;
  if (host.startsWith('[')) return undefined;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.split('.').includes('')) return `has an empty label ("..", or a leading or second trailing ".") in its ${url.protocol} host`;
  if (name === host) return undefined;
  url.hostname = name;
  return url.hostname === name ? undefined : `has a ${url.protocol} host that URL parsers read otherwise without its trailing dot`;
}

/** One value a pointer addresses: where it is (for substitution) and how to name it without its content. */
export interface Located {
  readonly at: readonly (string | number)[];
  /** The pointer with array indices filled in; a wildcard over an object's keys stays "*", as keys are caller data. */
  readonly display: string;
  /** `undefined` when the pointer addresses nothing here. */
  readonly value: unknown;
  /** Set when a wildcard met a value that is neither an array nor an object. */
  readonly notContainer?: true;
}

/**
 * Every value `segments` addresses in `root`. A missing member yields nothing; `*` over an
 * array or object yields each element; `*` over anything else is reported, since a server
 * that accepts a lone value where a list was meant would otherwise receive it unchecked.
 */
export function locate(root: unknown, segments: readonly string[]): Located[] {
  let frontier: Located[] = [{ at: [], display: '', value: root }];
  for (const segment of segments) {
    const next: Located[] = [];
    for (const here of frontier) {
      const { value } = here;
      if (segment === POINTER_WILDCARD) {
        if (Array.isArray(value)) value.forEach((item, i) => next.push({ at: [...here.at, i], display: `${here.display}/${i}`, value: item }));
        else if (isPlainObject(value)) for (const key of Object.keys(value)) next.push({ at: [...here.at, key], display: `${here.display}/*`, value: value[key] });
        else next.push({ ...here, display: `${here.display}/*`, notContainer: true });
        continue;
      }
      const display = `${here.display}/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (Array.isArray(value)) {
        if (/^(?:0|[1-9][0-9]*)$/.test(segment) && Number(segment) < value.length)
          next.push({ at: [...here.at, Number(segment)], display, value: value[Number(segment)] });
      } else if (isPlainObject(value) && Object.hasOwn(value, segment) && value[segment] !== undefined) {
        next.push({ at: [...here.at, segment], display, value: value[segment] });
      }
    }
    frontier = next;
    if (frontier.length === 0) break;
  }
  return frontier.filter((found) => found.notContainer === true || found.value !== undefined);
}

/**
 * `root` with `value` at `at`, `root` itself untouched: containers along the way are copied,
 * the rest shared. A container in `owned` is a copy an earlier call made (with the same set)
 * and is written in place, so that n substitutions into one array copy it once, not n times.
 */
export function replaceAt(
  root: Record<string, unknown>,
  at: readonly (string | number)[],
  value: unknown,
  owned: WeakSet<object> = new WeakSet(),
): Record<string, unknown> {
  const writable = (node: object): Record<string | number, unknown> => {
    if (owned.has(node)) return node as Record<string | number, unknown>;
    const copy = Array.isArray(node) ? [...(node as unknown[])] : { ...(node as Record<string, unknown>) };
    owned.add(copy);
    return copy as Record<string | number, unknown>;
  };
  const top = writable(root);
  let node = top;
  at.forEach((key, depth) => {
    const next = depth === at.length - 1 ? value : writable(node[key] as object);
    // defineProperty, not assignment: a key "__proto__" stays an ordinary key.
    Object.defineProperty(node, key, { value: next, enumerable: true, writable: true, configurable: true });
    node = next as Record<string | number, unknown>;
  });
  return top as Record<string, unknown>;
}

/** Equality of JSON values: object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}
