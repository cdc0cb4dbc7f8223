// Running instances of servers with `isolation: "agent"` or `"session"`: one
// DownstreamConnection (one process) per (server, scope), where the scope is an agent id or
// a session id. The pool keeps the one shared connection of every server; this registry
// keeps the rest.
//
// Lifecycle. The first call of a scope creates its instance; concurrent first calls share
// the one start. Every call slides the idle timeout (the call's own, else the default); a
// sweep every cleanup interval closes instances idle past it (never one with a call
// running) and instances whose process died. An instance holds state that a restart would
// lose, so a dead one is never restarted or silently replaced: the next call of its scope
// gets SERVER_UNAVAILABLE saying the state was lost, and the call after that starts fresh.
// Limits (per owner, per server, in total) are checked before anything is spawned; a failed
// start leaves no process and no slot. No lock: starting an instance holds up no other call.

import type { LoggingMessageNotification } from '@modelcontextprotocol/client';
import { defaultPerIdentityCap } from '../config/sessionSettings.js';
import { mergedJsonBytes, mergeRecord } from '../mergeRecord.js';
import type { ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { realClock, type Clock, type ClockTimer } from './clock.js';
import { DownstreamConnection, type ConnectionOptions, type ServerRequest } from './connection.js';
import { refuseOverLimit, type InstanceLimits } from './instanceLimits.js';
import { errorMessage } from '../values.js';

export type { InstanceLimits } from './instanceLimits.js';
/** As REST's bound on a session's metadata: what one instance keeps of its callers' metadata. */
const MAX_INSTANCE_METADATA_BYTES = 16 * 1024;

export interface AcquireRequest {
  readonly spec: ServerSpec;
  /** Opaque scope key: instances of one server with the same scope are the same instance. */
  readonly scope: string;
  /** How messages name the scope, e.g. `session "abc"` or `agent "backend"`. */
  readonly label: string;
  /** The agent the instance was created for (shown by listings). */
  readonly agentId: string;
  /** Idle timeout this call sets, in seconds; undefined keeps the instance's. */
  readonly timeoutS?: number;
  /** Caller's metadata; merged into the instance's. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /**
   * Who is charged for a new instance (an HTTP caller's identity), so that one caller cannot
   * take every slot; undefined: nobody (stdio's one client, agent instances: one per agent).
   */
  readonly owner?: string;
}

/** One acquired instance: its connection, and release() when the call is over. */
export interface InstanceLease {
  readonly connection: DownstreamConnection;
  /** Key under which the instance's requests to a client (elicitation, sampling) are routed: unique per instance. */
  readonly routeKey: string;
  release(): void;
  /**
   * What the caller should get for a failed call: when the instance died under it, the
   * instance is dropped (the next call starts fresh) and the error says its state was lost.
   */
  explain(err: unknown): unknown;
}

export interface InstanceInfo {
  readonly server: string;
  readonly scope: string;
  readonly agentId: string;
  readonly createdAt: number;
  readonly lastAccessed: number;
  /** Since the last call, by the registry's clock (lastAccessed is in that clock's time). */
  readonly idleMs: number;
  readonly timeoutS: number;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly pid: number | undefined;
  readonly state: string;
}

interface Instance {
  readonly key: string;
  readonly server: string;
  readonly scope: string;
  readonly label: string;
  readonly agentId: string;
  readonly owner: string | undefined;
  readonly connection: DownstreamConnection;
  readonly routeKey: string;
  readonly createdAt: number;
  lastAccessed: number;
  timeoutS: number;
  metadata: Record<string, unknown>;
  /** Calls holding a lease now. */
  active: number;
  /** The first start, shared by concurrent first calls. */
  readonly started: Promise<void>;
  wasReady: boolean;
}

/** A dead instance found by the sweep, waiting for its scope's next call to hear of it. */
interface Tombstone {
  readonly message: string;
  readonly server: string;
  readonly until: number;
}

export class InstanceRegistry {
  readonly #opts: ConnectionOptions;
  readonly #limits: InstanceLimits;
  readonly #clock: Clock;
  readonly #instances = new Map<string, Instance>();
  readonly #perServer = new Map<string, number>();
  readonly #perOwner = new Map<string, number>();
  readonly #maxPerOwner: number;
  readonly #lost = new Map<string, Tombstone>();
  /** Instances being closed; close() and killAllSync() include them. */
  readonly #closingSet = new Set<DownstreamConnection>();
  #sweeper: ClockTimer;
  #closing: Promise<void> | undefined;

  constructor(opts: ConnectionOptions, limits: InstanceLimits) {
    this.#opts = { ...opts, singleLife: true };
    this.#limits = limits;
    this.#maxPerOwner = limits.maxPerOwner ?? defaultPerIdentityCap(limits.maxTotal);
    this.#clock = opts.clock ?? realClock;
    this.#sweeper = this.#scheduleSweep();
  }

  /** The next sweep, one cleanup interval from now; each sweep schedules the one after it. */
  #scheduleSweep(): ClockTimer {
    return this.#clock.setTimeout(
      () => {
        if (!this.#closing) this.#sweeper = this.#scheduleSweep();
        this.#sweep();
      },
      Math.max(1, Math.round(this.#limits.cleanupIntervalS * 1000)),
    );
  }

  get size(): number {
    return this.#instances.size;
  }

  /**
   * The instance of (spec.name, scope), created and started if there is none. Throws
   * GatewayError: SERVER_UNAVAILABLE (start failed; the scope's instance died: its state was
   * lost; shutting down), TOO_MANY_SESSIONS (a gateway limit) or TOO_MANY_SESSIONS_FOR_IDENTITY
   * (the owner's limit).
   */
  async acquire(req: AcquireRequest): Promise<InstanceLease> {
    const server = req.spec.name;
    if (this.#closing) throw new GatewayError('SERVER_UNAVAILABLE', 'The gateway is shutting down', { server });
    const key = instanceKey(server, req.scope);
    const tombstone = this.#lost.get(key);
    if (tombstone) {
      this.#lost.delete(key);
      throw new GatewayError('SERVER_UNAVAILABLE', tombstone.message, { server });
    }
    let instance = this.#instances.get(key);
    if (instance && this.#isDead(instance)) {
      const message = this.#lostMessage(instance);
      void this.#remove(instance, 'died');
      throw new GatewayError('SERVER_UNAVAILABLE', message, { server });
    }
    if (!instance) instance = this.#create(req, key);
    const lease = this.#lease(instance, req);
    try {
      await instance.started;
    } catch (err) {
      lease.release();
      throw err;
    }
    return lease;
  }

  /** acquire's lease at once when the instance is up and well; undefined: acquire decides (create, wait, refuse). */
  acquireReady(req: AcquireRequest): InstanceLease | undefined {
    const key = instanceKey(req.spec.name, req.scope);
    const instance = this.#instances.get(key);
    if (this.#closing || instance === undefined || !instance.wasReady || this.#isDead(instance) || this.#lost.has(key)) return undefined;
    return this.#lease(instance, req);
  }

  #lease(instance: Instance, req: AcquireRequest): InstanceLease {
    this.#touch(instance, req);
    instance.active++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      instance.active--;
      instance.lastAccessed = this.#clock.now();
    };
    return { connection: instance.connection, routeKey: instance.routeKey, release, explain: (err) => this.#explain(instance, err) };
  }

  /** Every instance of `scope` (all servers): closed, process groups killed. Resolves with how many there were. */
  async closeScope(scope: string): Promise<number> {
    const found = [...this.#instances.values()].filter((i) => i.scope === scope);
    for (const key of [...this.#lost.keys()]) if (key.endsWith(`\0${scope}`)) this.#lost.delete(key);
    await Promise.all(found.map((i) => this.#remove(i, 'closed')));
    return found.length;
  }

  /** The servers' specs changed or they were removed: their instances close once their calls finish (up to drainMs). */
  async retireServers(names: readonly string[], drainMs: number): Promise<void> {
    if (names.length === 0) return;
    const wanted = new Set(names);
    const found = [...this.#instances.values()].filter((i) => wanted.has(i.server));
    for (const [key, t] of this.#lost) if (wanted.has(t.server)) this.#lost.delete(key);
    await Promise.all(
      found.map(async (i) => {
        this.#detach(i);
        await i.connection.drain(drainMs);
        await this.#closeConnection(i.connection);
      }),
    );
  }

  /** A reload changed only what is read per call (description, timeout). */
  updateSpec(spec: ServerSpec): void {
    for (const i of this.#instances.values()) if (i.server === spec.name) i.connection.updateSpec(spec);
  }

  /** The connections of every running instance (e.g. to tell them a new log level). */
  connections(): DownstreamConnection[] {
    return [...this.#instances.values()].map((i) => i.connection);
  }

  find(server: string, scope: string): InstanceInfo | undefined {
    const i = this.#instances.get(instanceKey(server, scope));
    return i ? info(i, this.#clock.now()) : undefined;
  }

  list(): InstanceInfo[] {
    const now = this.#clock.now();
    return [...this.#instances.values()].map((i) => info(i, now));
  }

  /** Closes expired and dead instances; runs every cleanup interval. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, t] of this.#lost) if (now > t.until) this.#lost.delete(key);
    for (const i of [...this.#instances.values()]) {
      if (this.#isDead(i)) {
        this.#lost.set(i.key, { message: this.#lostMessage(i), server: i.server, until: now + i.timeoutS * 1000 });
        void this.#remove(i, 'died');
      } else if (i.active === 0 && i.wasReady && now > i.lastAccessed + i.timeoutS * 1000) {
        void this.#remove(i, 'idle');
      }
    }
  }

  /** Idempotent. Closes every instance; resolves when all process groups are gone. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#clock.clearTimeout(this.#sweeper);
      this.#lost.clear();
      const all = [...this.#instances.values()];
      for (const i of all) this.#detach(i);
      await Promise.allSettled([...all.map((i) => this.#closeConnection(i.connection)), ...[...this.#closingSet].map((c) => c.close())]);
    })();
    return this.#closing;
  }

  /** Last resort on exit: SIGKILL every instance's process group now. */
  killAllSync(): void {
    for (const connection of [...[...this.#instances.values()].map((i) => i.connection), ...this.#closingSet]) {
      try {
        connection.killSync();
      } catch (err) {
        this.#opts.logger.warn({ server: connection.name, err: errorMessage(err) }, 'could not kill instance process group');
      }
    }
  }

  #create(req: AcquireRequest, key: string): Instance {
    const server = req.spec.name;
    const perServer = this.#perServer.get(server) ?? 0;
    const owned = req.owner === undefined ? 0 : (this.#perOwner.get(req.owner) ?? 0);
    refuseOverLimit({ server, owner: req.owner, owned, perServer, total: this.#instances.size }, this.#limits, this.#maxPerOwner);
    const routeKey = `${server}#${req.scope}`;
    const route = this.#opts.onServerRequest;
    const onLog = this.#opts.onLog;
    // The instance's requests and logs go to the caller of this instance, not to whoever calls the server elsewhere.
    const connection = new DownstreamConnection(req.spec, {
      ...this.#opts,
      ...(route ? { onServerRequest: (_server: string, request: ServerRequest, extra: { signal: AbortSignal }) => route(routeKey, request, extra) } : {}),
      ...(onLog ? { onLog: (name: string, params: LoggingMessageNotification['params']) => onLog(name, params, routeKey) } : {}),
    });
    const now = this.#clock.now();
    const instance: Instance = {
      key,
      server,
      scope: req.scope,
      label: req.label,
      agentId: req.agentId,
      owner: req.owner,
      connection,
      routeKey,
      createdAt: now,
      lastAccessed: now,
      timeoutS: this.#limits.defaultTimeoutS,
      metadata: {},
      active: 0,
      wasReady: false,
      // Registered before the first await, so a concurrent first call finds this one.
      started: connection.connect().then(
        () => {
          instance.wasReady = true;
        },
        async (err: unknown) => {
          // Nothing of a failed start is kept: no process, no slot; the next call tries anew.
          await this.#remove(instance, 'failed to start');
          throw err;
        },
      ),
    };
    this.#instances.set(key, instance);
    this.#perServer.set(server, perServer + 1);
    if (req.owner !== undefined) this.#perOwner.set(req.owner, owned + 1);
    this.#opts.logger.info({ server, scope: req.label, agent: req.agentId }, 'isolated instance starting');
    return instance;
  }

  #touch(i: Instance, req: AcquireRequest): void {
    i.lastAccessed = this.#clock.now();
    if (req.timeoutS !== undefined) i.timeoutS = req.timeoutS;
    // The REST layer bounds a session's metadata; an instance that outlived its session record
    // (evicted, expired) still keeps the same bound instead of growing.
    if (req.metadata !== undefined && mergedJsonBytes(i.metadata, req.metadata) <= MAX_INSTANCE_METADATA_BYTES) {
      mergeRecord(i.metadata, req.metadata);
    }
  }

  #isDead(i: Instance): boolean {
    return i.wasReady && i.connection.state === 'failed';
  }

  #explain(i: Instance, err: unknown): unknown {
    if (!(err instanceof GatewayError) || err.code !== 'SERVER_UNAVAILABLE' || !i.wasReady) return err;
    // The process may have exited a moment before the connection noticed (pid is gone first).
    if (i.connection.state !== 'failed' && i.connection.pid !== undefined) return err;
    if (this.#instances.get(i.key) !== i) return err;
    const message = this.#lostMessage(i, err.message);
    void this.#remove(i, 'died');
    return new GatewayError('SERVER_UNAVAILABLE', message, err.details, { cause: err });
  }

  #lostMessage(i: Instance, fallback?: string): string {
    const why = i.connection.lastError ?? fallback ?? `Server '${i.server}' stopped`;
    return `${why}. The instance of server '${i.server}' for ${i.label} is gone and its state was lost; the next call starts a fresh one`;
  }

  #detach(i: Instance): void {
    if (this.#instances.get(i.key) !== i) return;
    this.#instances.delete(i.key);
    const n = (this.#perServer.get(i.server) ?? 1) - 1;
    if (n <= 0) this.#perServer.delete(i.server);
    else this.#perServer.set(i.server, n);
    if (i.owner !== undefined) {
      const o = (this.#perOwner.get(i.owner) ?? 1) - 1;
      if (o <= 0) this.#perOwner.delete(i.owner);
      else this.#perOwner.set(i.owner, o);
    }
  }

  async #remove(i: Instance, why: string): Promise<void> {
    if (this.#instances.get(i.key) === i) {
      this.#opts.logger.info({ server: i.server, scope: i.label, pid: i.connection.pid ?? null, why }, 'isolated instance closed');
    }
    this.#detach(i);
    await this.#closeConnection(i.connection);
  }

  async #closeConnection(connection: DownstreamConnection): Promise<void> {
    this.#closingSet.add(connection);
    try {
      await connection.close();
    } finally {
      this.#closingSet.delete(connection);
    }
  }
}

function instanceKey(server: string, scope: string): string {
  return `${server}\0${scope}`;
}

function info(i: Instance, now: number): InstanceInfo {
  return {
    server: i.server,
    scope: i.scope,
    agentId: i.agentId,
    createdAt: i.createdAt,
    lastAccessed: i.lastAccessed,
    idleMs: now - i.lastAccessed,
    timeoutS: i.timeoutS,
    metadata: i.metadata,
    pid: i.connection.pid,
    state: i.connection.state,
  };
}
