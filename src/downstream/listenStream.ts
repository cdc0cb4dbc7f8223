// The subscriptions/listen stream of a downstream reached in the 2026 era. Such a server
// sends list changes and resource updates only on a stream the client opened, for what the
// client asked: so every modern client gets one, for every change the server says it
// announces plus the resources subscribed on this connection. The notifications then reach
// the client's ordinary handlers, as a 2025 server's unsolicited ones do.
//
// Resource subscriptions are the stream's filter: changing them opens a new stream with the
// new list, and the old one closes only once the new one is acknowledged, so no update
// falls between the two. A stream the server ends is opened again (with a backoff when it
// keeps ending) for as long as its client is the connection's current one.

import type { Logger } from 'pino';
import type { Client, McpSubscription, ServerCapabilities, SubscriptionFilter } from '@modelcontextprotocol/client';
import { clampTimer } from './abort.js';
import type { Clock, ClockTimer } from './clock.js';
import { errorMessage } from '../values.js';

/** A stream that lived shorter than this before the server ended it counts towards the backoff. */
const STABLE_STREAM_MS = 10_000;
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 30_000;

/** What a server reached in `caps` can tell, and the subscribed `uris` (when it takes subscriptions). */
function filterFor(caps: ServerCapabilities | undefined, uris: ReadonlySet<string>): SubscriptionFilter {
  const filter: SubscriptionFilter = {};
  if (caps?.tools?.listChanged) filter.toolsListChanged = true;
  if (caps?.prompts?.listChanged) filter.promptsListChanged = true;
  if (caps?.resources?.listChanged) filter.resourcesListChanged = true;
  if (caps?.resources?.subscribe && uris.size > 0) filter.resourceSubscriptions = [...uris].sort();
  return filter;
}

export class ListenStream {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timeoutMs: () => number;
  /** Resources subscribed on this connection; kept across restarts. */
  readonly #uris = new Set<string>();
  /** The modern client the stream belongs to; undefined while there is none. */
  #client: Client | undefined;
  #subscription: McpSubscription | undefined;
  /** The filter #subscription was opened with (JSON). */
  #openedFor: string | undefined;
  #openedAt = 0;
  /** Streams in a row that ended early or could not be opened. */
  #failures = 0;
  #retry: ClockTimer | undefined;
  /** Changes are applied one after the other. */
  #queue: Promise<void> = Promise.resolve();

  constructor(log: Logger, clock: Clock, timeoutMs: () => number) {
    this.#log = log;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * A client became current. A modern one gets its stream; resolves once the server
   * acknowledged it (or opening it failed, which is logged and retried).
   */
  async attach(client: Client): Promise<void> {
    this.detach();
    if (client.getProtocolEra() !== 'modern') return;
    this.#client = client;
    this.#failures = 0;
    await this.#update().catch((err: unknown) => this.#openFailed(client, err));
  }

  /** The client is no longer used (broken, replaced, closed): its stream goes with it. */
  detach(): void {
    const subscription = this.#subscription;
    this.#client = undefined;
    this.#subscription = undefined;
    this.#openedFor = undefined;
    if (this.#retry !== undefined) this.#clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    if (subscription) void subscription.close().catch(() => {});
  }

  /**
   * Adds `uri` to the subscribed resources; with a modern client, resolves once a stream
   * covering it is open. The list is kept either way, for the next modern client.
   */
  async subscribe(uri: string): Promise<void> {
    const added = !this.#uris.has(uri);
    this.#uris.add(uri);
    if (this.#client === undefined) return;
    try {
      await this.#update();
    } catch (err) {
      if (added) this.#uris.delete(uri);
      throw err;
    }
  }

  /** Removes `uri`; with a modern client, the stream is opened again without it. */
  async unsubscribe(uri: string): Promise<void> {
    if (!this.#uris.delete(uri) || this.#client === undefined) return;
    await this.#update();
  }

  /** Makes the open stream match what is wanted now. */
  #update(): Promise<void> {
    const run = this.#queue.then(() => this.#apply());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    const filter = filterFor(client.getServerCapabilities(), this.#uris);
    const key = JSON.stringify(filter);
    if (this.#subscription !== undefined && this.#openedFor === key) return;
    const previous = this.#subscription;
    if (Object.keys(filter).length === 0) {
      this.#subscription = undefined;
      this.#openedFor = undefined;
      if (previous) await previous.close();
      return;
    }
    const subscription = await client.listen(filter, { timeout: clampTimer(this.#timeoutMs()) });
    if (this.#client !== client) {
      void subscription.close().catch(() => {});
      return;
    }
    this.#subscription = subscription;
    this.#openedFor = key;
    this.#openedAt = this.#clock.now();
    void subscription.closed.then((how) => this.#ended(client, subscription, how));
    if (previous) void previous.close().catch(() => {});
  }

  #ended(client: Client, subscription: McpSubscription, how: 'local' | 'graceful' | 'remote'): void {
    if (how === 'local' || this.#client !== client || this.#subscription !== subscription) return;
    this.#subscription = undefined;
    this.#openedFor = undefined;
    if (this.#clock.now() - this.#openedAt < STABLE_STREAM_MS) this.#failures++;
    else this.#failures = 0;
    this.#log.debug({ how, failures: this.#failures }, 'downstream subscriptions/listen stream ended, opening it again');
    this.#again(client);
  }

  #openFailed(client: Client, err: unknown): void {
    if (this.#client !== client) return;
    this.#failures++;
    // Once per streak: a server that never takes the stream is retried every 30 s.
    const level = this.#failures === 1 ? 'warn' : 'debug';
    this.#log[level]({ err: errorMessage(err), failures: this.#failures }, 'could not open the downstream subscriptions/listen stream');
    this.#again(client);
  }

  #again(client: Client): void {
    if (this.#retry !== undefined) return;
    const delay = this.#failures <= 1 ? 0 : Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(this.#failures - 2, 16));
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = undefined;
      if (this.#client !== client) return;
      this.#update().catch((err: unknown) => this.#openFailed(client, err));
    }, delay);
  }
}
