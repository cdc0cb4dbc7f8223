// The pins in force in a running gateway: the lockfile as last read, what each server's lists
// were found to hold against it, and the audit lines of every change in that. Connections
// (tools) and the catalog (prompts) pass every list they fetch through vet(), so each consumer
// of a list sees only what is trusted.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditSink } from '../../audit/auditLog.js';
import { isoTimestamp, type AuditRecord } from '../../audit/record.js';
import {
  definitionOf,
  digestOf,
  EMPTY_LOCK_FILE,
  MAX_PINNED_NAME_CHARS,
  pinsOf,
  readLockFile,
  serializeLockFile,
  withPins,
  type LockFile,
  type PinKind,
} from '../../config/lockFile.js';
import { updateLockFile } from './lockFileUpdate.js';
import { checkPins, sameCheck, type PinCheck, type QuarantineReason } from '../../policy/pins.js';
import { errorMessage } from '../../values.js';

/** enforce: untrusted items are withheld and refused; warn: they are logged, audited and shown, nothing more. */
export type PinningMode = 'enforce' | 'warn';

export interface Vetted<T> {
  readonly items: readonly T[];
  /** Names withheld from `items`, with the reason (always empty in warn mode). */
  readonly withheld: ReadonlyMap<string, QuarantineReason>;
}

export interface PinStoreOptions {
  /** Absolute path of the lockfile; created on first use. */
  readonly path: string;
  readonly mode: PinningMode;
  readonly logger: Logger;
  readonly audit: AuditSink;
}

/** A server whose whole list changed writes this many audit lines per list at most; the log says how many more. */
const MAX_AUDIT_LINES_PER_CHECK = 100;
/** get_gateway_status lists this many untrusted items per server at most. */
const MAX_STATUS_ITEMS = 100;
const NOTHING_WITHHELD: ReadonlyMap<string, QuarantineReason> = new Map();
const KIND_LABEL = { tools: 'tool', prompts: 'prompt' } as const;

export class PinStore {
  readonly path: string;
  readonly mode: PinningMode;
  readonly #logger: Logger;
  readonly #audit: AuditSink;
  #lock: LockFile;
  /** The text of the lockfile as last read: a watcher event that leaves it as it was changes nothing. */
  #text: string | undefined;
  /** The last check of each server's list, by `kind\0server`. */
  readonly #checks = new Map<string, PinCheck>();
  /** Digest per listed item object (lists are replaced whole, so an object's definition never changes); null: too deep to digest. */
  readonly #digests = new WeakMap<object, string | null>();
  readonly #listeners = new Set<() => void>();

  /** Reads the lockfile (none yet is fine); throws LockFileError when it cannot be used, so a gateway does not start on broken pins. */
  constructor(options: PinStoreOptions) {
    this.path = options.path;
    this.mode = options.mode;
    this.#logger = options.logger.child({ lockfile: options.path });
    this.#audit = options.audit;
    const lock = readLockFile(options.path);
    this.#lock = lock ?? EMPTY_LOCK_FILE;
    this.#text = lock === undefined ? undefined : serializeLockFile(lock);
  }

  /** Called after every change of the pins in force (the lockfile was edited): lists must be vetted again. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * What of `server`'s list of `kind` may be shown and used. A server with no pins of this kind
   * yet has them recorded now (trust on first use); then every item whose name is not pinned,
   * or whose digest differs, is untrusted.
   */
  vet<T extends { readonly name: string }>(kind: PinKind, server: string, items: readonly T[]): Vetted<T> {
    const current = items.map((item) => ({ name: item.name, sha256: this.#digest(kind, item) }));
    const pinned = this.#lock.servers[server]?.[kind] ?? this.#trustOnFirstUse(kind, server, items);
    const check = checkPins(pinned, current);
    this.#record(kind, server, check, current);
    if (this.mode === 'warn' || check.quarantined.size === 0) return { items, withheld: NOTHING_WITHHELD };
    return { items: Object.freeze(items.filter((item) => !check.quarantined.has(item.name))), withheld: check.quarantined };
  }

  /** Reads the lockfile again (its watcher saw an edit). A file that cannot be used keeps the pins in force. */
  reload(): void {
    let lock: LockFile;
    try {
      lock = readLockFile(this.path) ?? EMPTY_LOCK_FILE;
    } catch (err) {
      this.#logger.error({ err: errorMessage(err) }, 'lockfile not reloaded; the pins in force stay');
      return;
    }
    const text = serializeLockFile(lock);
    if (text === this.#text) return;
    this.#lock = lock;
    this.#text = text;
    this.#logger.info('lockfile reloaded; vetting the lists again');
    for (const listener of this.#listeners) listener();
  }

  /** Untrusted and removed items of the servers in `shown`, for get_gateway_status. */
  status(shown: ReadonlySet<string>): Record<string, unknown> {
    const quarantined: Record<string, { kind: string; name: string; reason: string }[]> = {};
    for (const [key, check] of this.#checks) {
      const [kind, server] = key.split('\u0000') as [PinKind, string];
      if (!shown.has(server)) continue;
      const items = (quarantined[server] ??= []);
      for (const [name, reason] of check.quarantined) items.push({ kind: KIND_LABEL[kind], name: clippedName(name), reason });
      for (const name of check.removed) items.push({ kind: KIND_LABEL[kind], name: clippedName(name), reason: 'removed' });
    }
    for (const [server, items] of Object.entries(quarantined)) {
      if (items.length === 0) delete quarantined[server];
      else if (items.length > MAX_STATUS_ITEMS) quarantined[server] = items.slice(0, MAX_STATUS_ITEMS);
    }
    return { mode: this.mode, lockfile: this.path, quarantined };
  }

  #digest(kind: PinKind, item: object): string | undefined {
    let digest = this.#digests.get(item);
    if (digest === undefined) {
      digest = digestOf(definitionOf(kind, item as Record<string, unknown>)) ?? null;
      this.#digests.set(item, digest);
    }
    return digest ?? undefined;
  }

  /**
   * Records `items` as the pins of a server that has none of this kind, re-reading the file
   * first so that pins another writer made meanwhile win. A lockfile that cannot be written
   * leaves the pins in memory (logged): the gateway still protects this run.
   */
  #trustOnFirstUse(kind: PinKind, server: string, items: readonly { readonly name: string }[]) {
    const pins = pinsOf(kind, items as readonly Record<string, unknown>[]);
    try {
      // The watcher re-reads what was written and notifies the listeners if anything else changed.
      this.#lock = updateLockFile(this.path, (onDisk) => (onDisk.servers[server]?.[kind] !== undefined ? onDisk : withPins(onDisk, server, kind, pins)));
      this.#logger.info({ server, kind, items: items.length }, 'pinned on first use');
    } catch (err) {
      this.#lock = withPins(this.#lock, server, kind, pins);
      this.#logger.error({ server, kind, err: errorMessage(err) }, 'pinned on first use, in memory only: the lockfile could not be written');
    }
    return this.#lock.servers[server]?.[kind] ?? pins;
  }

  /** Keeps the check, and logs and audits what changed since the last one of this list. */
  #record(kind: PinKind, server: string, check: PinCheck, current: readonly { readonly name: string }[]): void {
    const key = `${kind}\u0000${server}`;
    const previous = this.#checks.get(key);
    if (previous !== undefined && sameCheck(previous, check)) return;
    this.#checks.set(key, check);
    const events: [string, QuarantineReason | 'removed' | 'trusted'][] = [];
    for (const [name, reason] of check.quarantined) if (previous?.quarantined.get(name) !== reason) events.push([name, reason]);
    for (const name of check.removed) if (!previous?.removed.includes(name)) events.push([name, 'removed']);
    // Trusted now: quarantined before, listed now, and not quarantined any more (accepted).
    const listed = previous?.quarantined.size ? new Set(current.map((item) => item.name)) : undefined;
    for (const name of previous?.quarantined.keys() ?? []) if (!check.quarantined.has(name) && listed?.has(name) === true) events.push([name, 'trusted']);
    if (events.length === 0) return;
    const untrusted = events.filter(([, event]) => event !== 'removed' && event !== 'trusted').map(([name]) => name);
    const log = { server, kind, untrusted: untrusted.slice(0, 20), removed: check.removed.slice(0, 20), mode: this.mode };
    if (untrusted.length > 0 || check.removed.length > 0) {
      this.#logger.warn(log, this.mode === 'enforce' ? 'definitions differ from the lockfile: quarantined' : 'definitions differ from the lockfile (warn only)');
    }
    for (const [name, event] of events.slice(0, MAX_AUDIT_LINES_PER_CHECK)) this.#event(kind, server, name, event);
    if (events.length > MAX_AUDIT_LINES_PER_CHECK) {
      this.#logger.warn({ server, kind, unaudited: events.length - MAX_AUDIT_LINES_PER_CHECK }, 'more pinning events than audit lines per list');
    }
  }

  #event(kind: PinKind, server: string, name: string, event: QuarantineReason | 'removed' | 'trusted'): void {
    if (!this.#audit.enabled) return;
    const withheld = this.mode === 'enforce' && event !== 'removed' && event !== 'trusted';
    const record: AuditRecord = {
      ts: isoTimestamp(),
      id: randomUUID(),
      agent: null,
      identity_source: null,
      operation: 'pin',
      server,
      tool: clippedName(name),
      decision: withheld ? 'DENY' : 'ALLOW',
      code: withheld ? 'TOOL_QUARANTINED' : null,
      rule: null,
      latency_ms: 0,
      arg_keys: [],
      args_sha256: null,
      isError: false,
      pin: { kind: KIND_LABEL[kind], event },
    };
    void this.#audit.write(record);
  }
}

/** A name as status and audit show it: one too long to pin is clipped, so it cannot swell either. */
function clippedName(name: string): string {
  return name.length > MAX_PINNED_NAME_CHARS ? `${name.slice(0, MAX_PINNED_NAME_CHARS)}…` : name;
}
