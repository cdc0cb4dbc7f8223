// Every configured downstream server, one DownstreamConnection each, in config order.
//
// Connections are lazy: nothing starts until a call needs it, unless connectAll() (the eager
// strategy) is used. apply() takes a new server list and changes only what differs, so a
// config reload keeps unchanged servers (same process, same PID).

import type { ServerSpec } from '../config/types.js';
import { DownstreamConnection, type ConnectionOptions } from './connection.js';

export interface ApplyResult {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Replaced by a new connection: something that affects how it is started changed. */
  readonly changed: readonly string[];
  /** Same connection kept; only description or timeout may have changed. */
  readonly unchanged: readonly string[];
  /** Settles when every replaced or removed connection has finished closing. */
  readonly retired: Promise<void>;
}

export interface ApplyOptions {
  /** Start added and changed servers right away (the eager strategy). Default false. */
  readonly connect?: boolean;
  /**
   * How long calls running on a replaced or removed connection may take to finish before
   * it is closed under them. Default 0: close at once.
   */
  readonly drainMs?: number;
}

/**
 * Everything that decides how a server is started or reached. Two specs with the same key
 * can share a connection; description and timeoutMs are read per call and do not count.
 */
export function connectionKey(spec: ServerSpec): string {
  const sorted = (record: Readonly<Record<string, string>>): [string, string][] => Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    spec.transport,
    spec.command ?? null,
    spec.args,
    sorted(spec.env),
    spec.cwd ?? null,
    spec.url ?? null,
    sorted(spec.headers),
    spec.isolation,
    spec.sandbox,
    spec.configError ?? null,
  ]);
}

export class DownstreamPool {
  readonly #opts: ConnectionOptions;
  /** Map insertion order is config order; apply() rebuilds it in the new order. */
  #connections = new Map<string, DownstreamConnection>();
  /** Replaced or removed connections still closing; close() and killAllSync() include them. */
  readonly #retiring = new Set<DownstreamConnection>();
  #closing: Promise<void> | undefined;

  constructor(specs: readonly ServerSpec[], opts: ConnectionOptions) {
    this.#opts = opts;
    for (const spec of specs) {
      if (this.#connections.has(spec.name)) {
        opts.logger.warn({ server: spec.name }, 'duplicate server name; the first entry is used');
        continue;
      }
      this.#connections.set(spec.name, new DownstreamConnection(spec, opts));
    }
  }

  get(name: string): DownstreamConnection | undefined {
    return this.#connections.get(name);
  }

  /** Server names in config order. */
  names(): string[] {
    return [...this.#connections.keys()];
  }

  connections(): DownstreamConnection[] {
    return [...this.#connections.values()];
  }

  /**
   * The eager strategy: start every server now, in parallel. Never throws and never waits;
   * a failure is recorded on its connection (state 'failed', lastError) and retried on use.
   */
  connectAll(): void {
    if (this.#closing) return;
    for (const connection of this.#connections.values()) this.#connectInBackground(connection);
  }

  /**
   * Moves the pool to `specs`: unchanged servers keep their connection, changed ones get a
   * new connection (the old one closes after its calls finish, up to drainMs), removed ones
   * are closed with their process group, added ones start per `opts.connect`.
   */
  apply(specs: readonly ServerSpec[], opts: ApplyOptions = {}): ApplyResult {
    if (this.#closing) {
      return { added: [], removed: [], changed: [], unchanged: [], retired: Promise.resolve() };
    }
    const next = new Map<string, DownstreamConnection>();
    const added: string[] = [];
    const changed: string[] = [];
    const unchanged: string[] = [];
    const retire: DownstreamConnection[] = [];
    for (const spec of specs) {
      if (next.has(spec.name)) continue;
      const current = this.#connections.get(spec.name);
      if (current && connectionKey(current.spec) === connectionKey(spec)) {
        current.updateSpec(spec);
        next.set(spec.name, current);
        unchanged.push(spec.name);
        continue;
      }
      const fresh = new DownstreamConnection(spec, this.#opts);
      next.set(spec.name, fresh);
      if (current) {
        retire.push(current);
        changed.push(spec.name);
      } else {
        added.push(spec.name);
      }
      if (opts.connect) this.#connectInBackground(fresh);
    }
    const removed: string[] = [];
    for (const [name, connection] of this.#connections) {
      if (!next.has(name)) {
        retire.push(connection);
        removed.push(name);
      }
    }
    this.#connections = next;
    const retired = Promise.allSettled(retire.map((c) => this.#retire(c, opts.drainMs ?? 0))).then(() => undefined);
    return { added, removed, changed, unchanged, retired };
  }

  /** Idempotent. Closes every connection in parallel; resolves when all process groups are gone. */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#connections.values(), ...this.#retiring].map((c) => c.close())).then(() => undefined);
    return this.#closing;
  }

  /** Last resort on exit: SIGKILL every process group now, without waiting for anything. */
  killAllSync(): void {
    for (const connection of [...this.#connections.values(), ...this.#retiring]) {
      try {
        connection.killSync();
      } catch (err) {
        this.#opts.logger.warn({ server: connection.name, err: (err as Error).message }, 'could not kill downstream process group');
      }
    }
  }

  #connectInBackground(connection: DownstreamConnection): void {
    // A real failure is logged by the connection; one cut short by close() is no failure.
    connection.connect().catch(() => undefined);
  }

  async #retire(connection: DownstreamConnection, drainMs: number): Promise<void> {
    this.#retiring.add(connection);
    try {
      await connection.drain(drainMs);
      await connection.close();
    } finally {
      this.#retiring.delete(connection);
    }
  }
}
