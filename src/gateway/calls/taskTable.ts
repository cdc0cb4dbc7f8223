// The tasks the gateway handed out (tasks extension, 2026-07-28). Downstream servers number
// their tasks on their own (two servers, or one server after a restart, both say `task-1`), so
// the caller gets `<server>/<epoch>.<downstream id>`: server names hold no `/`, and the epoch
// is one connection generation, gateway-wide unique, so an id from a process that has since
// restarted names nothing instead of the new process's task of the same number. The table, not
// the id, decides where a request goes: the exact connection (for an isolated server, the
// caller's own instance), and who may use the id at all.

import type { DownstreamConnection } from '../../downstream/connection.js';

/** Live entries per owner; over it the entry seen longest ago goes. */
const MAX_PER_OWNER = 1_000;
/** The longest an entry lives without being seen, whatever ttlMs the server gave. */
const MAX_IDLE_MS = 60 * 60 * 1_000;
/** Longer ids were never handed out (a bounded server name, epoch and downstream id). */
const MAX_ID_LENGTH = 400;

export interface TaskEntry {
  /** The credential the creating session was bound to ('' for none): only it may use the id. */
  readonly owner: string;
  /** The agent the creating call acted as; tasks/* act as it again, through the policy of the day. */
  readonly agent: string;
  readonly server: string;
  readonly tool: string;
  readonly connection: DownstreamConnection;
  readonly generation: number;
  readonly downstreamId: string;
}

interface Row extends TaskEntry {
  seenAt: number;
  expiresAt: number;
}

export class TaskTable {
  readonly #rows = new Map<string, Row>();
  readonly #perOwner = new Map<string, number>();
  readonly #epochs = new WeakMap<DownstreamConnection, { generation: number; epoch: number }>();
  #nextEpoch = 1;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records a task the downstream created and returns the id the caller gets. */
  add(entry: TaskEntry, ttlMs: unknown): string {
    this.#sweep();
    const id = `${entry.server}/${this.#epoch(entry.connection, entry.generation)}.${entry.downstreamId}`;
    this.#delete(id);
    if ((this.#perOwner.get(entry.owner) ?? 0) >= MAX_PER_OWNER) this.#evictOldest(entry.owner);
    this.#perOwner.set(entry.owner, (this.#perOwner.get(entry.owner) ?? 0) + 1);
    const now = this.#now();
    this.#rows.set(id, { ...entry, seenAt: now, expiresAt: now + lifetime(ttlMs) });
    return id;
  }

  /** The entry of `id` when `owner` may use it; undefined for an unknown, foreign, expired or malformed id alike. */
  find(id: unknown, owner: string): TaskEntry | undefined {
    if (typeof id !== 'string' || id.length > MAX_ID_LENGTH) return undefined;
    const row = this.#rows.get(id);
    if (row === undefined || row.owner !== owner) return undefined;
    if (row.expiresAt <= this.#now()) {
      this.#delete(id);
      return undefined;
    }
    return row;
  }

  /** The downstream answered about the task: it lives on, for `ttlMs` (capped) from now. */
  seen(id: string, ttlMs: unknown): void {
    const row = this.#rows.get(id);
    if (row === undefined) return;
    // Moved to the end, so the map stays in the order entries were last seen (see #sweep).
    this.#rows.delete(id);
    const now = this.#now();
    row.seenAt = now;
    row.expiresAt = now + lifetime(ttlMs);
    this.#rows.set(id, row);
  }

  /** The downstream no longer knows the task. */
  forget(id: string): void {
    this.#delete(id);
  }

  get size(): number {
    return this.#rows.size;
  }

  #epoch(connection: DownstreamConnection, generation: number): number {
    const known = this.#epochs.get(connection);
    if (known !== undefined && known.generation === generation) return known.epoch;
    const epoch = this.#nextEpoch++;
    this.#epochs.set(connection, { generation, epoch });
    return epoch;
  }

  /** Drops, oldest first, the entries not seen for MAX_IDLE_MS (past every expiry). */
  #sweep(): void {
    const limit = this.#now() - MAX_IDLE_MS;
    for (const [id, row] of this.#rows) {
      if (row.seenAt > limit) return;
      this.#delete(id);
    }
  }

  #evictOldest(owner: string): void {
    for (const [id, row] of this.#rows) {
      if (row.owner === owner) {
        this.#delete(id);
        return;
      }
    }
  }

  #delete(id: string): void {
    const row = this.#rows.get(id);
    if (row === undefined) return;
    this.#rows.delete(id);
    const left = (this.#perOwner.get(row.owner) ?? 1) - 1;
    if (left > 0) this.#perOwner.set(row.owner, left);
    else this.#perOwner.delete(row.owner);
  }
}

function lifetime(ttlMs: unknown): number {
  return typeof ttlMs === 'number' && Number.isSafeInteger(ttlMs) && ttlMs > 0 ? Math.min(ttlMs, MAX_IDLE_MS) : MAX_IDLE_MS;
}
