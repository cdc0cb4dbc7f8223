import type { Logger } from 'pino';
import type { DownstreamPool } from '../../downstream/pool.js';
import { canonicalResourceUri } from '../../config/resourceUri.js';
import type { UpstreamSession } from '../serverRequests.js';
import { toGatewayUri } from './resourceUris.js';
import { errorMessage } from '../../values.js';

// Resource subscriptions of every client, per downstream (server, URI). The downstream is
// subscribed once, by the first client, and unsubscribed when the last one leaves; its
// notifications/resources/updated go to exactly the clients subscribed, under the gateway URI.
// URIs here are canonical (config/resourceUri.ts): the form the policy decided on.
// A restarted server has forgotten its subscriptions, so they are made again.

function keyOf(server: string, uri: string): string {
  return `${server.length}:${server}${uri}`;
}

interface Entry {
  readonly server: string;
  readonly uri: string;
  readonly sessions: Set<UpstreamSession>;
}

export class Subscriptions {
  readonly #entries = new Map<string, Entry>();
  readonly #pool: () => DownstreamPool;
  readonly #logger: Logger;

  constructor(pool: () => DownstreamPool, logger: Logger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  async subscribe(session: UpstreamSession, server: string, uri: string, signal?: AbortSignal): Promise<void> {
    const key = keyOf(server, uri);
    const entry = this.#entries.get(key);
    if (entry) {
      entry.sessions.add(session);
      return;
    }
    await this.#send(server, 'resources/subscribe', uri, signal);
    // Another client may have subscribed meanwhile: join its entry.
    const now = this.#entries.get(key);
    if (now) now.sessions.add(session);
    else this.#entries.set(key, { server, uri, sessions: new Set([session]) });
  }

  async unsubscribe(session: UpstreamSession, server: string, uri: string): Promise<void> {
    const key = keyOf(server, uri);
    const entry = this.#entries.get(key);
    if (!entry || !entry.sessions.delete(session) || entry.sessions.size > 0) return;
    this.#entries.delete(key);
    await this.#send(server, 'resources/unsubscribe', uri).catch((err: unknown) => {
      this.#logger.debug({ server, err: errorMessage(err) }, 'downstream unsubscribe failed');
    });
  }

  /** A client went away: its subscriptions end. */
  forget(session: UpstreamSession): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.sessions.has(session)) void this.unsubscribe(session, entry.server, entry.uri);
    }
  }

  /** The downstream (re)started: make its subscriptions again. */
  resubscribe(server: string): void {
    // A 2026 server's subscriptions ride its listen stream, which the connection reopens with them.
    if (this.#pool().get(server)?.era === 'modern') return;
    for (const entry of this.#entries.values()) {
      if (entry.server !== server) continue;
      this.#send(server, 'resources/subscribe', entry.uri).catch((err: unknown) => {
        this.#logger.warn({ server, err: errorMessage(err) }, 'could not renew a resource subscription after a restart');
      });
    }
  }

  /** The downstream says `uri` changed; it may spell it otherwise than the canonical form subscribed. */
  updated(server: string, uri: string): void {
    const canonical = canonicalResourceUri(uri);
    if (!canonical.ok) return;
    const entry = this.#entries.get(keyOf(server, canonical.uri));
    if (!entry) return;
    const gatewayUri = toGatewayUri(server, entry.uri);
    for (const session of entry.sessions) {
      session.notifyResourceUpdated?.(gatewayUri).catch((err: unknown) => {
        this.#logger.debug({ err, session: session.id }, 'could not send notifications/resources/updated');
      });
    }
  }

  async #send(server: string, method: 'resources/subscribe' | 'resources/unsubscribe', uri: string, signal?: AbortSignal): Promise<void> {
    const connection = this.#pool().get(server);
    if (!connection) throw new Error(`server '${server}' is not configured`);
    const opts = signal !== undefined ? { signal } : {};
    // Era-aware: a 2026 server has no resources/subscribe; the connection's listen stream carries the URIs.
    if (method === 'resources/subscribe') await connection.subscribeResource(uri, opts);
    else await connection.unsubscribeResource(uri, opts);
  }
}
