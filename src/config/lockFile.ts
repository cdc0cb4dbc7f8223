// The pins lockfile (.mcp-gateway-lock.json): per server, each tool's and prompt's name, the
// SHA-256 of its canonical definition, and the definition itself (capped) so that a later
// change can be shown as a diff. Meant to be committed next to the rules file.
//
// Canonical JSON is RFC 8785-like: object keys sorted by UTF-16 code units, no whitespace,
// numbers and strings as ECMAScript's JSON.stringify writes them (which is what RFC 8785
// prescribes for finite numbers), undefined members left out. Key order never changes a digest.

import { hash, randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nestsDeeperThan } from '../jsonDepth.js';
import { isPlainObject } from '../values.js';

export const LOCK_FILE_NAME = '.mcp-gateway-lock.json';
export const LOCK_FILE_VERSION = 1;

/** The fields of a tool and of a prompt that a pin covers: what a model reads or relies on. */
export const TOOL_FIELDS = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
export const PROMPT_FIELDS = ['title', 'description', 'arguments'] as const;

export type PinKind = 'tools' | 'prompts';

/** A stored definition longer than this (canonical JSON) keeps only its clipped description. */
export const MAX_STORED_DEFINITION_CHARS = 16 * 1024;
/** Past this much stored definition text in one file, items keep their digest only. */
export const MAX_STORED_TOTAL_CHARS = 16 * 1024 * 1024;
/** A lockfile larger than this is refused rather than parsed. */
export const MAX_LOCK_FILE_BYTES = 64 * 1024 * 1024;
/** Definitions nest no deeper than this; a deeper one has no digest and is never pinned (so always quarantined). */
export const MAX_DEFINITION_DEPTH = 64;
/** At most this many tools, and as many prompts, are pinned per server; the rest stay quarantined. */
export const MAX_PINNED_ITEMS = 2_000;
/** A name longer than this is never pinned (its item stays quarantined), so names cannot swell the file. */
export const MAX_PINNED_NAME_CHARS = 256;

export interface PinnedItem {
  /** Hex SHA-256 of the canonical JSON of the definition. */
  readonly sha256: string;
  /** The definition as pinned, or what the caps left of it (see `clipped`). */
  readonly definition?: Readonly<Record<string, unknown>>;
  /** True when `definition` is not the whole definition (or is left out): only the digest is exact. */
  readonly clipped?: true;
}

export type PinnedItems = Readonly<Record<string, PinnedItem>>;

export interface ServerPins {
  readonly tools?: PinnedItems;
  readonly prompts?: PinnedItems;
}

export interface LockFile {
  readonly version: typeof LOCK_FILE_VERSION;
  readonly servers: Readonly<Record<string, ServerPins>>;
}

export const EMPTY_LOCK_FILE: LockFile = Object.freeze({ version: LOCK_FILE_VERSION, servers: Object.freeze({}) });

export class LockFileError extends Error {
  override name = 'LockFileError';
}

/** Canonical JSON of a JSON value (see the file comment). Throws on values nested deeper than MAX_DEFINITION_DEPTH. */
export function canonicalJson(value: unknown): string {
  if (nestsDeeperThan(value, MAX_DEFINITION_DEPTH)) throw new LockFileError(`a definition nests deeper than ${MAX_DEFINITION_DEPTH} levels`);
  return write(value);
}

function write(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : write(v))).join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) parts.push(`${JSON.stringify(key)}:${write(member)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The pinned part of a tool or prompt: the fields of its kind that it has. */
export function definitionOf(kind: PinKind, item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of kind === 'tools' ? TOOL_FIELDS : PROMPT_FIELDS) {
    if (item[field] !== undefined) out[field] = item[field];
  }
  return out;
}

/**
 * Hex SHA-256 of the canonical definition; undefined for one nested too deep to walk. Such a
 * definition can never be pinned: any stand-in digest (its length, a clipped text) would let a
 * change that keeps the stand-in equal pass unseen.
 */
export function digestOf(definition: Readonly<Record<string, unknown>>): string | undefined {
  const text = canonicalOrUndefined(definition);
  return text === undefined ? undefined : hash('sha256', text, 'hex');
}

function canonicalOrUndefined(definition: Readonly<Record<string, unknown>>): string | undefined {
  try {
    return canonicalJson(definition);
  } catch {
    return undefined;
  }
}

/** The pin of one definition: its digest and as much of it as MAX_STORED_DEFINITION_CHARS allows; undefined when it cannot be pinned (too deep). */
export function pinOf(definition: Readonly<Record<string, unknown>>): PinnedItem | undefined {
  const text = canonicalOrUndefined(definition);
  if (text === undefined) return undefined;
  const sha256 = hash('sha256', text, 'hex');
  if (text.length <= MAX_STORED_DEFINITION_CHARS) return { sha256, definition };
  const description = typeof definition['description'] === 'string' ? definition['description'].slice(0, MAX_STORED_DEFINITION_CHARS / 2) : undefined;
  return { sha256, ...(description !== undefined ? { definition: { description } } : {}), clipped: true };
}

/** True when an item of this name may be pinned at all (see MAX_PINNED_NAME_CHARS). */
export function pinnableName(name: string): boolean {
  return name.length <= MAX_PINNED_NAME_CHARS;
}

/**
 * Pins of a list of tools or prompts, by name; of items sharing a name the last one wins (a
 * duplicate never matches anyway). Items that cannot be pinned (too deep, name too long) and
 * those past the first MAX_PINNED_ITEMS names are left out, so they stay quarantined.
 */
export function pinsOf(kind: PinKind, items: readonly Readonly<Record<string, unknown>>[]): Record<string, PinnedItem> {
  const out: Record<string, PinnedItem> = Object.create(null) as Record<string, PinnedItem>;
  let count = 0;
  for (const item of items) {
    const name = item['name'];
    if (typeof name !== 'string' || !pinnableName(name)) continue;
    const pin = pinOf(definitionOf(kind, item));
    if (pin === undefined) continue;
    if (!Object.hasOwn(out, name)) {
      if (count === MAX_PINNED_ITEMS) continue;
      count++;
    }
    out[name] = pin;
  }
  return out;
}

/** `lock` with `server`'s pins of `kind` replaced by `items` (undefined removes them). */
export function withPins(lock: LockFile, server: string, kind: PinKind, items: PinnedItems | undefined): LockFile {
  const current = lock.servers[server] ?? {};
  const next: ServerPins = { ...current };
  if (items === undefined) delete (next as { [K in PinKind]?: PinnedItems })[kind];
  else (next as { [K in PinKind]?: PinnedItems })[kind] = items;
  return { version: LOCK_FILE_VERSION, servers: { ...lock.servers, [server]: next } };
}

/** `lock` with one item of `server` pinned as `pin`, or unpinned when `pin` is undefined. */
export function withPin(lock: LockFile, server: string, kind: PinKind, name: string, pin: PinnedItem | undefined): LockFile {
  const items: Record<string, PinnedItem> = { ...(lock.servers[server]?.[kind] ?? {}) };
  if (pin === undefined) delete items[name];
  else items[name] = pin;
  return withPins(lock, server, kind, items);
}

/** Parses a lockfile's text; throws LockFileError naming what is wrong. */
export function parseLockFile(text: string): LockFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LockFileError(`not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(raw)) throw new LockFileError('must be a JSON object');
  if (raw['version'] !== LOCK_FILE_VERSION) throw new LockFileError(`version: must be ${LOCK_FILE_VERSION}`);
  const servers = raw['servers'];
  if (!isPlainObject(servers)) throw new LockFileError('servers: must be an object');
  const out: Record<string, ServerPins> = Object.create(null) as Record<string, ServerPins>;
  for (const [server, pins] of Object.entries(servers)) {
    if (!isPlainObject(pins)) throw new LockFileError(`servers.${server}: must be an object`);
    const entry: { tools?: PinnedItems; prompts?: PinnedItems } = {};
    for (const kind of ['tools', 'prompts'] as const) {
      if (pins[kind] !== undefined) entry[kind] = parseItems(pins[kind], `servers.${server}.${kind}`);
    }
    out[server] = entry;
  }
  return { version: LOCK_FILE_VERSION, servers: out };
}

function parseItems(value: unknown, path: string): PinnedItems {
  if (!isPlainObject(value)) throw new LockFileError(`${path}: must be an object`);
  const out: Record<string, PinnedItem> = Object.create(null) as Record<string, PinnedItem>;
  for (const [name, item] of Object.entries(value)) {
    if (!isPlainObject(item) || typeof item['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(item['sha256'])) {
      throw new LockFileError(`${path}.${name}: must be an object with sha256 (64 lowercase hex digits)`);
    }
    const definition = item['definition'];
    if (definition !== undefined && !isPlainObject(definition)) throw new LockFileError(`${path}.${name}.definition: must be an object`);
    out[name] = { sha256: item['sha256'], ...(definition !== undefined ? { definition } : {}), ...(item['clipped'] === true ? { clipped: true } : {}) };
  }
  return out;
}

/**
 * The text of a lockfile: servers and items sorted by name, so the file diffs well in review.
 * Stored definitions past MAX_STORED_TOTAL_CHARS are left out (the digest stays).
 */
export function serializeLockFile(lock: LockFile): string {
  let budget = MAX_STORED_TOTAL_CHARS;
  const servers: Record<string, Record<string, Record<string, PinnedItem>>> = {};
  for (const server of Object.keys(lock.servers).sort()) {
    const pins = lock.servers[server]!;
    const entry: Record<string, Record<string, PinnedItem>> = {};
    for (const kind of ['tools', 'prompts'] as const) {
      const items = pins[kind];
      if (items === undefined) continue;
      const sorted: Record<string, PinnedItem> = {};
      for (const name of Object.keys(items).sort()) {
        const item = items[name]!;
        const size = item.definition === undefined ? 0 : JSON.stringify(item.definition).length;
        if (size > budget) sorted[name] = { sha256: item.sha256, clipped: true };
        else {
          budget -= size;
          sorted[name] = item;
        }
      }
      entry[kind] = sorted;
    }
    servers[server] = entry;
  }
  return `${JSON.stringify({ version: LOCK_FILE_VERSION, servers }, null, 2)}\n`;
}

/** The lockfile at `path`, or undefined when there is none. Throws LockFileError when it cannot be used. */
export function readLockFile(path: string): LockFile | undefined {
  let text: string;
  try {
    const buffer = readFileSync(path);
    if (buffer.length > MAX_LOCK_FILE_BYTES) throw new LockFileError(`larger than ${MAX_LOCK_FILE_BYTES} bytes`);
    text = buffer.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof LockFileError) throw new LockFileError(`${path}: ${err.message}`);
    throw new LockFileError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseLockFile(text);
  } catch (err) {
    throw new LockFileError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * Writes the lockfile atomically: a temporary file in the same folder, flushed, then renamed
 * over `path`, so a reader (the gateway's watcher, another writer) sees the old file or the
 * new one, never half of one. Returns the text written.
 */
export function writeLockFile(path: string, lock: LockFile): string {
  const text = serializeLockFile(lock);
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new LockFileError(`${path}: cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return text;
}
