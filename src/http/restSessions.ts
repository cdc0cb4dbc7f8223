// The session ids REST callers send (SignalWire's `session_id`: one per phone call). A
// session is a record (service, agent, times, timeout, metadata) shown by GET /sessions and
// written into the audit; a server with `isolation: "session"` also runs one instance per
// session (downstream/instances.ts), which follows the same timeout.
//
// Sessions belong to the identity that created them: a caller lists, uses and deletes only
// its own (SignalWire lets any client see and delete every call's session). Expiry slides
// with use, as SignalWire's does; a call's `timeout` replaces the session's and its
// `metadata` is merged in (SignalWire fixes both at creation). Expired entries are swept
// lazily and the registry is bounded, oldest use evicted first.

import { mergeRecord } from '../mergeRecord.js';

export interface RestSession {
  readonly id: string;
  readonly serviceName: string;
  /** The agent of the call that created it. */
  readonly agent: string | null;
  readonly createdAt: number;
  lastAccessed: number;
  /** Idle timeout in seconds: the last call's `timeout`, else the default. */
  timeout: number;
  readonly metadata: Record<string, unknown>;
}

const MAX_REST_SESSIONS = 10_000;

/**
 * Whether merging `added` into `kept` would leave `kept` as it is: every key of `added` is in
 * `kept` with the same primitive value. Callers send the same metadata on every call of a
 * session, so most merges (and their size checks) have nothing to do.
 */
export function addsNothing(kept: Readonly<Record<string, unknown>>, added: Readonly<Record<string, unknown>>): boolean {
  for (const key in added) {
    if (!Object.hasOwn(added, key)) continue;
    const value = added[key];
    if ((typeof value === 'object' && value !== null) || !Object.hasOwn(kept, key) || !Object.is(kept[key], value)) return false;
  }
  return true;
}

export class RestSessionRegistry {
  /** owner key -> session id -> session; Map order is last-access order. */
  readonly #byOwner = new Map<string, Map<string, RestSession>>();
  #count = 0;
  readonly #now: () => number;
  readonly #max: number;
  readonly #defaultTimeoutS: number;

  constructor(options: { now?: () => number; max?: number; defaultTimeoutS: number }) {
    this.#now = options.now ?? Date.now;
    this.#max = options.max ?? MAX_REST_SESSIONS;
    this.#defaultTimeoutS = options.defaultTimeoutS;
  }

  get size(): number {
    return this.#count;
  }

  #expired(s: RestSession, now: number): boolean {
    return now > s.lastAccessed + s.timeout * 1000;
  }

  /** The live session, or undefined (an expired one is forgotten on the way). */
  get(owner: string, id: string): RestSession | undefined {
    const sessions = this.#byOwner.get(owner);
    const s = sessions?.get(id);
    if (!s || !sessions) return undefined;
    if (this.#expired(s, this.#now())) {
      this.#remove(owner, id);
      return undefined;
    }
    return s;
  }

  /** Creates the session, or touches it (a given timeout replaces the session's; metadata is merged in). */
  touch(owner: string, id: string, serviceName: string, timeout: number | undefined, metadata: Record<string, unknown>, agent: string | null = null): RestSession {
    const now = this.#now();
    const existing = this.get(owner, id);
    let sessions = this.#byOwner.get(owner);
    if (existing && sessions) {
      existing.lastAccessed = now;
      if (timeout !== undefined) existing.timeout = timeout;
      if (!addsNothing(existing.metadata, metadata)) mergeRecord(existing.metadata, metadata);
      sessions.delete(id);
      sessions.set(id, existing);
      return existing;
    }
    this.#sweep(now);
    while (this.#count >= this.#max) this.#evictOldest();
    const created: RestSession = {
      id,
      serviceName,
      agent,
      createdAt: now,
      lastAccessed: now,
      timeout: timeout ?? this.#defaultTimeoutS,
      metadata: structuredClone(metadata),
    };
    if (!sessions) {
      sessions = new Map();
      this.#byOwner.set(owner, sessions);
    }
    sessions.set(id, created);
    this.#count++;
    return created;
  }

  delete(owner: string, id: string): boolean {
    if (!this.get(owner, id)) return false;
    this.#remove(owner, id);
    return true;
  }

  /** SignalWire's GET /sessions shape, for one owner, plus `service`, `agent` and the instance's `pid` (null: none running). */
  list(owner: string, pidOf: (s: RestSession) => number | undefined): Record<string, unknown> {
    const now = this.#now();
    this.#sweep(now);
    const out: Record<string, unknown> = {};
    for (const s of this.#byOwner.get(owner)?.values() ?? []) {
      out[s.id] = {
        service_name: s.serviceName,
        service: s.serviceName,
        agent: s.agent,
        pid: pidOf(s) ?? null,
        created_at: new Date(s.createdAt).toISOString(),
        last_accessed: new Date(s.lastAccessed).toISOString(),
        timeout: s.timeout,
        metadata: s.metadata,
        time_remaining: Math.max(0, (s.lastAccessed + s.timeout * 1000 - now) / 1000),
      };
    }
    return out;
  }

  clear(): void {
    this.#byOwner.clear();
    this.#count = 0;
  }

  #remove(owner: string, id: string): void {
    const sessions = this.#byOwner.get(owner);
    if (!sessions?.delete(id)) return;
    this.#count--;
    if (sessions.size === 0) this.#byOwner.delete(owner);
  }

  #sweep(now: number): void {
    for (const [owner, sessions] of this.#byOwner) {
      for (const s of sessions.values()) if (this.#expired(s, now)) this.#remove(owner, s.id);
    }
  }

  #evictOldest(): void {
    let oldest: { owner: string; s: RestSession } | undefined;
    for (const [owner, sessions] of this.#byOwner) {
      const first = sessions.values().next().value;
      if (first && (!oldest || first.lastAccessed < oldest.s.lastAccessed)) oldest = { owner, s: first };
    }
    if (oldest) this.#remove(oldest.owner, oldest.s.id);
    else this.#count = 0;
  }
}
