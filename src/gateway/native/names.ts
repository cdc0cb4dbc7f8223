import { createHash } from 'node:crypto';

// Native names: a downstream tool (or prompt) `tool` of server `server` is offered as
// `<server><separator><tool>`, e.g. `memory__read_graph`. Claude Code accepts a tool name only
// if `mcp__<entry>__<name>` has at most 64 characters of [A-Za-z0-9_-], so a name is kept as it
// is only when it already is such a name, fits the budget, and cannot be mistaken for another;
// otherwise it is shortened and its characters mapped, and it ends in `-` and 8 hex digits of
// a SHA-256 of the original pair. Pure: a name depends on its own server and tool name only,
// so restarts and other servers never change it (assignNames below is the one exception, for
// a hash collision).

export const DEFAULT_SEPARATOR = '__';
/** Claude Code's limit on `mcp__<entry>__<tool>`. */
const CLIENT_NAME_LIMIT = 64;
/** `mcp__gateway__`: what Claude Code puts before a tool of an entry named `gateway`. */
export const DEFAULT_CLIENT_PREFIX_LENGTH = 'mcp__gateway__'.length;
const SEPARATOR_RULE = '1 to 4 characters of A-Z, a-z, 0-9, "_" and "-"';
const SEPARATOR = /^[A-Za-z0-9_-]{1,4}$/;
const VALID = /^[A-Za-z0-9_-]+$/;
const HASH_LENGTH = 8;
/** What every shortened or mapped name ends with, and no name kept as it is may end with. */
const HASHED_SUFFIX = /-[0-9a-f]{8}$/;
/** The shortest budget that still leaves a character of server and of tool beside separator and hash. */
const MIN_ROOM = 2;

export interface NamingOptions {
  readonly separator: string;
  /** Longest name: CLIENT_NAME_LIMIT minus the client's prefix length. */
  readonly maxLength: number;
}

export function namingOptions(separator: string, clientPrefixLength: number): NamingOptions {
  return { separator, maxLength: CLIENT_NAME_LIMIT - clientPrefixLength };
}

/** Why these options cannot name tools, or undefined. */
export function namingProblem(opts: NamingOptions): string | undefined {
  if (!SEPARATOR.test(opts.separator)) return `the name separator must be ${SEPARATOR_RULE}, got ${JSON.stringify(opts.separator)}`;
  const least = opts.separator.length + 1 + HASH_LENGTH + MIN_ROOM;
  if (opts.maxLength < least) {
    return `a name budget of ${opts.maxLength} characters is too small (at least ${least} with this separator)`;
  }
  return undefined;
}

/** Characters outside [A-Za-z0-9_-] become "_". */
export function mapChars(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

function shortHash(server: string, item: string, salt: number): string {
  // Length-prefixed, so ("ab", "c") and ("a", "bc") hash differently.
  const input = `${server.length}:${server}${item}${salt === 0 ? '' : `#${salt}`}`;
  return createHash('sha256').update(input).digest('hex').slice(0, HASH_LENGTH);
}

/**
 * The name kept as it is when it can be: both parts valid, within the budget, not ending in a
 * hash suffix, and the separator's first occurrence right after the server name (so the
 * server is read back unambiguously: "a_" + "__" + "b" would read as server "a").
 */
function isPlain(server: string, item: string, opts: NamingOptions): boolean {
  const sep = opts.separator;
  const name = server + sep + item;
  return name.length <= opts.maxLength && VALID.test(server) && VALID.test(item) && (server + sep).indexOf(sep) === server.length && !HASHED_SUFFIX.test(name);
}

/**
 * The native name of `item` on `server`. `salt` > 0 only for assignNames' collision handling.
 * Names kept as they are never collide (the server ends at the first separator); hashed ones
 * end in `-xxxxxxxx`, which a kept name never does.
 */
export function nativeName(server: string, item: string, opts: NamingOptions, salt = 0): string {
  if (salt === 0 && isPlain(server, item, opts)) return server + opts.separator + item;
  const room = opts.maxLength - opts.separator.length - 1 - HASH_LENGTH;
  const s = mapChars(server);
  const t = mapChars(item);
  // The tool part says most about the tool: the server part gets what the tool leaves, but
  // always at least a third of the room (when it is that long).
  const serverLength = Math.min(s.length, Math.max(room - t.length, Math.ceil(room / 3)));
  const itemLength = Math.min(t.length, room - serverLength);
  return `${s.slice(0, serverLength)}${opts.separator}${t.slice(0, itemLength)}-${shortHash(server, item, salt)}`;
}

export interface NamedItem {
  readonly server: string;
  readonly item: string;
}

/**
 * Native names for a whole list, one per entry, all distinct and none in `reserved` (the
 * gateway's own tool names). Two different hashed names can only meet by a 32-bit hash
 * collision; then the entry that sorts first by (server, item) keeps the name and the others
 * are hashed again with a salt. Deterministic: the same set always gets the same names,
 * whatever its order.
 */
export function assignNames(items: readonly NamedItem[], opts: NamingOptions, reserved: ReadonlySet<string> = new Set()): string[] {
  const names = items.map((e) => {
    let name = nativeName(e.server, e.item, opts);
    for (let salt = 1; reserved.has(name); salt++) name = nativeName(e.server, e.item, opts, salt);
    return name;
  });
  const byName = new Map<string, number[]>();
  names.forEach((name, i) => {
    const list = byName.get(name);
    if (list) list.push(i);
    else byName.set(name, [i]);
  });
  const taken = new Set([...names, ...reserved]);
  for (const indices of byName.values()) {
    if (indices.length < 2) continue;
    indices.sort((a, b) => compareItems(items[a]!, items[b]!));
    for (const i of indices.slice(1)) {
      const e = items[i]!;
      let salt = 1;
      let name = nativeName(e.server, e.item, opts, salt);
      while (taken.has(name)) name = nativeName(e.server, e.item, opts, ++salt);
      taken.add(name);
      names[i] = name;
    }
  }
  return names;
}

function compareItems(a: NamedItem, b: NamedItem): number {
  if (a.server !== b.server) return a.server < b.server ? -1 : 1;
  return a.item < b.item ? -1 : a.item > b.item ? 1 : 0;
}
