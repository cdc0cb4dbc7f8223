import type { Tool } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { DownstreamConnection } from '../../downstream/connection.js';
import type { DownstreamPool } from '../../downstream/pool.js';
import type { Policy } from '../../policy/types.js';
import { toolListed } from '../../policy/annotationsVisible.js';
import type { Snapshot } from '../context.js';
import { ToolIndex } from './toolIndex.js';
import { errorMessage } from '../../values.js';

// The gateway's one tool index, kept in step with the tool lists the connections cache. A
// cached list is frozen and replaced as a whole when it changes (list_changed, restart), so
// an entry is current exactly while its list object is the connection's: each search
// compares, and re-indexes what changed. Nothing here starts a server: a server is indexed
// once its list has been fetched (by any call, the eager strategy, or --search-index-at-start),
// or fetched here when it is running and has dropped its list after a change.

/**
 * How long a search waits for a running server to list its tools again, or for a starting one
 * to be ready; the start or the listing goes on, and a later search finds it.
 */
const RELIST_WAIT_MS = 3_000;

/** Resolves when `work` settles or `signal` aborts, whichever is first; never rejects. */
function untilSettled(work: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    work.then(done, done);
  });
}

interface Source {
  readonly connection: DownstreamConnection;
  readonly list: readonly Tool[];
  readonly description: string | undefined;
}

export class IndexedTools {
  readonly index = new ToolIndex();
  readonly #sources = new Map<string, Source>();
  readonly #logger: Logger;
  /** Per policy (a reload compiles a new one): agent and server -> how many tools of which list it may call. */
  readonly #allowedCounts = new WeakMap<Policy, Map<string, { readonly list: readonly Tool[]; readonly count: number }>>();

  /** Per indexed list: its tools by name. */
  readonly #byName = new WeakMap<readonly Tool[], ReadonlyMap<string, Tool>>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * --search-index-at-start: lists the tools of every configured server (starting it) and
   * indexes them. In the background; a server that fails is left out and named by
   * search_tools in servers_not_indexed, as one not started. `current` is the gateway's
   * snapshot at the time a list arrives: a list from before a reload is dropped.
   */
  indexAll(snapshot: Snapshot, pool: DownstreamPool, current: () => Snapshot): void {
    for (const server of snapshot.serverNames) {
      const connection = pool.get(server);
      if (!connection || this.index.has(server)) continue;
      connection.listTools().then(
        (list) => {
          if (current() === snapshot) this.indexList(snapshot, pool, server, list);
        },
        (err: unknown) => this.#logger.debug({ server, err: errorMessage(err) }, 'could not index the tools of a server at start'),
      );
    }
  }

  /**
   * Brings `servers` up to date and forgets servers no longer configured (or replaced by a
   * reload, whose tools may differ). Returns those of `servers` with nothing indexed: not
   * running, and never listed since they started.
   */
  async refresh(snapshot: Snapshot, pool: DownstreamPool, servers: readonly string[], signal: AbortSignal): Promise<string[]> {
    this.prune(snapshot, pool);
    let wait: AbortSignal | undefined;
    const bounded = () => (wait ??= AbortSignal.any([signal, AbortSignal.timeout(RELIST_WAIT_MS)]));
    await Promise.all(servers.map((server) => this.#refreshOne(snapshot, pool, server, bounded)));
    return servers.filter((server) => !this.index.has(server));
  }

  /** Drops the servers a reload removed or replaced. */
  prune(snapshot: Snapshot, pool: DownstreamPool): void {
    for (const [server, source] of this.#sources) {
      if (snapshot.servers.has(server) && pool.get(server) === source.connection) continue;
      this.index.remove(server);
      this.#sources.delete(server);
    }
  }

  async #refreshOne(snapshot: Snapshot, pool: DownstreamPool, server: string, signal: () => AbortSignal): Promise<void> {
    const connection = pool.get(server);
    if (!connection) return;
    let list = connection.cachedTools;
    // Starting (--search-index-at-start, the eager strategy, another call): worth the wait,
    // within the same bound, so the first search after a start sees what is coming up.
    if (list === undefined && connection.state === 'connecting') await untilSettled(connection.connect(), signal());
    if (list === undefined && connection.state === 'ready') {
      try {
        await connection.listTools({ signal: signal() });
        // The connection's own list: a listing that raced a change is not the one it kept.
        list = connection.cachedTools;
      } catch (err) {
        this.#logger.debug({ server, err: errorMessage(err) }, 'search could not list the tools of a running server');
      }
    }
    if (list !== undefined) this.#index(connection, server, snapshot.servers.get(server)?.description, list);
  }

  /** Indexes a list just fetched (the start-up indexing), unless it is what is indexed already. */
  indexList(snapshot: Snapshot, pool: DownstreamPool, server: string, list: readonly Tool[]): void {
    const connection = pool.get(server);
    if (connection) this.#index(connection, server, snapshot.servers.get(server)?.description, list);
  }

  #index(connection: DownstreamConnection, server: string, description: string | undefined, list: readonly Tool[]): void {
    const source = this.#sources.get(server);
    if (source?.connection === connection && source.list === list && source.description === description) return;
    this.index.update(server, description, list);
    this.#sources.set(server, { connection, list, description });
  }

  /** The indexed definition of a tool, for the rules on its annotations. */
  definition(server: string, name: string): Tool | undefined {
    const list = this.#sources.get(server)?.list;
    if (!list) return undefined;
    let names = this.#byName.get(list);
    if (!names) {
      names = new Map(list.map((tool) => [tool.name, tool]));
      this.#byName.set(list, names);
    }
    return names.get(name);
  }

  /** How many indexed tools of `servers` `agentId` may call. */
  allowedCount(policy: Policy, agentId: string, servers: readonly string[]): number {
    let byKey = this.#allowedCounts.get(policy);
    if (!byKey) {
      byKey = new Map();
      this.#allowedCounts.set(policy, byKey);
    }
    let total = 0;
    for (const server of servers) {
      const list = this.#sources.get(server)?.list;
      if (!list) continue;
      // Agents are the policy's own (identity checked them) and servers configured ones: bounded by the files.
      const key = `${agentId.length}:${agentId}${server}`;
      let entry = byKey.get(key);
      if (entry?.list !== list) {
        let count = 0;
        for (const tool of list) if (toolListed(policy, agentId, server, tool)) count++;
        entry = { list, count };
        byKey.set(key, entry);
      }
      total += entry.count;
    }
    return total;
  }
}
